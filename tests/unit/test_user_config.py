"""A user's settings file: merged over the package's, refused naming key and file, hashed as the version."""

from __future__ import annotations

from pathlib import Path

import pytest

from huracan.core.config import ConfigError, config_hash, engine_config, load_config, load_user_config


def _file(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_two_changed_values_keep_every_other_default(tmp_path: Path) -> None:
    # Given a file that changes only the scalp take-profit and the fee
    path = _file(
        tmp_path, "[profiles.demo.modes.scalp]\ntp_bps = 30.0\n[profiles.demo.costs]\nfee_bps_per_side = 1.0\n"
    )
    # When it is loaded
    cfg = load_user_config(path, "demo")
    base = load_config("demo")
    # Then those two change, the rest are the package's demo profile
    assert cfg.mode("scalp").tp_bps == 30.0 and cfg.costs.fee_bps_per_side == 1.0
    assert cfg.mode("scalp").sl_bps == base.mode("scalp").sl_bps
    assert cfg.mode("runner") == base.mode("runner")
    # and the version is the hash of the effective settings, not the package's version string
    assert cfg.version == config_hash(cfg) and cfg.version.startswith("sha256:") and cfg.version != base.version


def test_same_settings_same_version_different_settings_different_version(tmp_path: Path) -> None:
    a = load_user_config(_file(tmp_path, "[profiles.demo.costs]\nfee_bps_per_side = 2.0\n", "a.toml"))
    b = load_user_config(_file(tmp_path, "# same numbers\n[profiles.demo.costs]\nfee_bps_per_side = 2.0\n", "b.toml"))
    c = load_user_config(_file(tmp_path, "[profiles.demo.costs]\nfee_bps_per_side = 3.0\n", "c.toml"))
    assert a.version == b.version != c.version


def test_a_new_profile_is_merged_over_demo_and_chosen_when_it_is_the_only_one(tmp_path: Path) -> None:
    path = _file(tmp_path, "[profiles.mine.modes.runner]\nmin_confidence = 0.7\n")
    cfg = load_user_config(path)
    assert cfg.profile == "mine" and cfg.mode("runner").min_confidence == 0.7
    assert cfg.mode("scalp") == load_config("demo").mode("scalp")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[profiles.demo.modes.scalp]\ntp_bp = 30.0\n", "profiles.demo.modes.scalp.tp_bp"),
        ("[profiles.demo.modes.scalp]\ntp_bps = -3.0\n", "profiles.demo.modes.scalp.tp_bps"),
        (
            "[profiles.demo.modes.runner]\nmeta_label_threshold = 1.5\n",
            "profiles.demo.modes.runner.meta_label_threshold",
        ),
        ("[profiles.demo.costs]\nfee_bps = 1.0\n", "profiles.demo.costs.fee_bps"),
        ("extra_feature = ['x']\n", "extra_feature"),
        ("extra_features = ['Bad Name']\n", "extra_features"),
    ],
)
def test_unknown_keys_and_out_of_range_values_name_the_key_and_the_file(tmp_path: Path, text: str, key: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_user_config(path, "demo")
    assert key in str(info.value) and str(path) in str(info.value)


def test_extra_features_are_declared_at_the_top(tmp_path: Path) -> None:
    cfg = load_user_config(_file(tmp_path, "extra_features = ['order_imbalance', 'funding_bps']\n"), "demo")
    assert cfg.extra_features == ("order_imbalance", "funding_bps")
    assert load_config("demo").extra_features == ()


def test_deployed_functions_read_the_file_huracan_config_names(tmp_path: Path) -> None:
    # Given HURACAN_CONFIG as a function's settings see it: a path, or nothing
    path = _file(tmp_path, "[profiles.demo.modes.scalp]\nbuffer_bps = 4.0\n")
    assert engine_config("demo", str(path)).mode("scalp").buffer_bps == 4.0
    assert engine_config("demo", None) == load_config("demo")
    assert engine_config("demo", "") == load_config("demo")
    with pytest.raises(ConfigError, match="cannot read"):
        engine_config("demo", "absent.toml")
