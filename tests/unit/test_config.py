"""Settings: both profiles load, and a bad value fails loudly naming its key."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from huracan.core.config import ConfigError, load_config

TEXT = resources.files("huracan.config").joinpath("engine.toml").read_text("utf-8")


@pytest.mark.parametrize("profile", ["seed", "demo"])
def test_both_profiles_load(profile: str) -> None:
    cfg = load_config(profile)
    assert cfg.profile == profile and cfg.version
    assert set(cfg.modes) == {"scalp", "runner"}
    for name in ("scalp", "runner"):
        mode = cfg.mode(name)
        assert mode.tp_bps > 0 and mode.sl_bps > 0 and mode.timeout_sec > 0
        assert set(mode.allowed_regimes) <= {"TREND", "RANGE", "PANIC"}
    with pytest.raises(ConfigError, match="mode 'swing'"):
        cfg.mode("swing")


def test_seed_profile_is_the_seed() -> None:
    scalp = load_config("seed").mode("scalp")
    assert (scalp.tp_bps, scalp.sl_bps, scalp.timeout_sec) == (13.0, 35.0, 900)
    assert load_config("seed").costs.size_gbp == 100.0


def _write(tmp_path: Path, old: str, new: str) -> Path:
    assert old in TEXT, old
    path = tmp_path / "engine.toml"
    path.write_text(TEXT.replace(old, new, 1), "utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("tp_bps = 13.0", "tp_bps = -13.0", "profiles.seed.modes.scalp.tp_bps"),
        (
            "meta_label_threshold = 0.45",
            "meta_label_threshold = 1.45",
            "profiles.seed.modes.scalp.meta_label_threshold",
        ),
        (
            'allowed_regimes = ["TREND", "RANGE"]',
            'allowed_regimes = ["TREND", "CALM"]',
            "profiles.seed.modes.scalp.allowed_regimes",
        ),
        ("size_gbp = 100.0 ", "size_gbp = 0.0 ", "profiles.seed.costs.size_gbp"),
        ("timeout_sec = 900", 'timeout_sec = "15m"', "profiles.seed.modes.scalp.timeout_sec"),
        ("min_confidence = 0.55", "min_confidenc = 0.55", "profiles.seed.modes.scalp.min_confidenc"),
    ],
)
def test_bad_value_names_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config("seed", _write(tmp_path, old, new))


def test_missing_profile_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'prod' not found"):
        load_config("prod")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config("seed", tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("version = \n", "utf-8")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config("seed", broken)
