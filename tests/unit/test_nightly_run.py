"""``run_nightly`` / ``huracan train --data`` with a folder registry and a bars file: no AWS at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huracan.cli import main
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.timeutil import from_epoch_s
from huracan.data import DEFAULT_MONTH, find_data_file
from huracan.learning.nightly import NightlyPorts, _FileBars, _run_time, run_nightly, train_main
from huracan.learning.pipeline import TrainingConfig
from huracan.learning.train import MetaLabelLearner
from huracan.local.planted_signals import PlantedSignals
from huracan.registry.errors import ModelNotFoundError
from huracan.registry.registry import ModelRegistry

ENGINE = load_config("demo")
FAST = TrainingConfig(n_boot=200, permutation_repeats=1, n_folds=3, learner=MetaLabelLearner(num_boost_round=60))


def _ports(tmp_path: Path, bars: BarArrays) -> NightlyPorts:
    return NightlyPorts(
        registry=ModelRegistry(tmp_path / "models"), bars=[_FileBars("BTC-PERP", bars)], symbols=["BTC-PERP"]
    )


def test_a_ready_model_is_a_challenger_in_shadow_not_promoted_before_forward_decisions(
    tmp_path: Path, ftx_month: BarArrays
) -> None:
    # Given a planted edge strong enough to pass every offline check
    ports = _ports(tmp_path, ftx_month)
    planted = PlantedSignals(strength=1.5, stride=2, config=ENGINE).fit(ftx_month)
    first = run_nightly(
        "2022-01-08T00:00:00Z", ports=ports, engine=ENGINE, training=FAST, signal_source=planted, lookback_days=5
    )
    # Then it is stored as a challenger and listed live from its training night; nothing is published
    assert first.status == "challenger" and not first.published and first.model_id is None
    live = ports.registry.challengers()["live"]
    assert [e["model_id"] for e in live] == [first.candidate_id]
    assert live[0]["trained_until"] == "2022-01-08T00:00:00Z"
    with pytest.raises(ModelNotFoundError):  # Hamilton and the Lambda only ever load a champion
        ports.registry.load_latest_model()
    # When the next night has no forward decisions to judge it on (a bars file: no decisions table)
    second = run_nightly(
        "2022-01-09T00:00:00Z", ports=ports, engine=ENGINE, training=FAST, signal_source=planted, lookback_days=5
    )
    # Then it is not promoted: kept, with the reason, one night older
    [look] = second.session["steps"]["challengers"]
    assert look["action"] == "keep" and "no forward evidence yet" in look["reasons"][0] and look["nights"] == 1
    assert not second.promoted and ports.registry.challengers()["live"][0]["nights"] == 1
    with pytest.raises(ModelNotFoundError):
        ports.registry.load_latest_model()


def test_planted_edge_publishes_then_a_night_without_edge_keeps_the_champion(
    tmp_path: Path, ftx_month: BarArrays
) -> None:
    # forward=None: publishing on the offline checks alone, the path a promotion then shares
    ports = _ports(tmp_path, ftx_month)
    planted = PlantedSignals(strength=1.5, stride=2, config=ENGINE).fit(ftx_month)
    first = run_nightly(
        "2022-01-08T00:00:00Z",
        ports=ports,
        engine=ENGINE,
        training=FAST,
        signal_source=planted,
        lookback_days=5,
        forward=None,
    )
    assert first.status == "published" and first.provenance["historical"] == first.n_samples > 1000
    assert ports.registry.load_latest_model()[0] == first.model_id
    # When the next night only has the real strategies' signals (no edge)
    second = run_nightly(
        "2022-01-09T00:00:00Z", ports=ports, engine=ENGINE, training=FAST, lookback_days=5, forward=None
    )
    # Then it is kept as a candidate, judged against the champion, and the champion stays
    assert second.status == "candidate" and second.reasons
    assert second.report is not None and second.report.champion_model_id == first.model_id
    assert "vs_champion" in {c.name for c in second.report.verdict.checks}
    assert ports.registry.load_latest_model()[0] == first.model_id
    stages = {m.model_id: m.stage for m in ports.registry.list_models("meta_label")}
    assert stages == {first.model_id: "champion", second.candidate_id: "candidate"}


def test_too_little_data_is_skipped_and_says_why(tmp_path: Path, ftx_month: BarArrays) -> None:
    ports = _ports(tmp_path, ftx_month.slice(0, 600))
    result = run_nightly("2022-01-01T12:00:00Z", ports=ports, engine=ENGINE, training=FAST, lookback_days=1)
    assert result.status == "skipped" and "too few to train" in result.reasons[0]
    assert result.session["verdict"]["ready"] is False
    with pytest.raises(ModelNotFoundError):
        ports.registry.load_latest_model()


def test_train_cli_on_a_bars_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = find_data_file(DEFAULT_MONTH)
    argv = ["--date", "2022-01-10", "--data", str(data), "--base-path", str(tmp_path), "--profile", "demo"]
    assert train_main([*argv, "--lookback-days", "5", "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event_time"] == "2022-01-11T00:00:00Z" and line["day"] == "2022-01-10"
    assert line["status"] in ("candidate", "challenger") and line["candidate_id"].startswith("sha256:")
    assert line["provenance"]["historical"] == line["n_samples"]


def test_run_time_comes_from_the_schedule() -> None:
    assert _run_time(None, "2022-01-06T00:00:00+00:00") == "2022-01-06T00:00:00Z"
    assert _run_time("2022-01-07T00:00:00Z", "2022-01-06T00:00:00Z") == "2022-01-07T00:00:00Z"


def test_train_cli_refuses_a_file_that_is_not_one_minute_bars(
    tmp_path: Path, ftx_month: BarArrays, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given real bars kept one an hour (an hourly file's spacing)
    hourly = tmp_path / "hourly.csv"
    rows = [
        f"{from_epoch_s(int(ftx_month.ts[i]))},{ftx_month.open[i]},{ftx_month.high[i]},{ftx_month.low[i]},"
        f"{ftx_month.close[i]},{ftx_month.volume[i]}"
        for i in range(0, 48 * 60, 60)
    ]
    hourly.write_text("ts,open,high,low,close,volume\n" + "\n".join(rows) + "\n", encoding="utf-8")
    # When `huracan train` is given it, Then it exits 2 naming the spacing, as every command does for a bad file
    argv = ["train", "--date", "2022-01-01", "--data", str(hourly), "--base-path", str(tmp_path / "models")]
    assert main(argv) == 2
    assert "3600 s apart" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()
