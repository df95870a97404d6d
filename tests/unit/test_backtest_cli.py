"""``huracan backtest`` end to end on real bars, with sockets disabled: no AWS and no HTTP anywhere in the loop.

The run must leave the same workspace layout as a replay, and its folder registry must be usable after the command
has returned (``huracan models --base-path W/models list|verify``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from huracan.cli import main
from huracan.core.bars import BarArrays
from huracan.core.timeutil import from_epoch_s
from huracan.data import DEFAULT_MONTH, find_data_file


def _signals_file(bars: BarArrays, path: Path) -> Path:
    """A user's momentum signals on the first two days, 17 s after a bar's close, half of them in epoch ms."""
    rows = ["ts,symbol,side,mode,confidence,strategy"]
    for k in range(20, 2 * 1440 - 40, 11):
        move = float(np.log(bars.close[k] / bars.close[k - 15]))
        t = int(bars.ts[k]) + 60 + 17
        ts = str(t * 1000) if k % 2 else from_epoch_s(t)
        side = "long" if move > 0 else "short"
        rows.append(
            f"{ts},BTC-PERP,{side},{'runner' if k % 3 == 0 else 'scalp'},{min(0.99, 0.5 + abs(move) * 200):.4f},mine"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_backtest_writes_a_replays_workspace_and_its_registry_outlives_it(
    ftx_month: BarArrays, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a user's signals file and the FTX month's first two days
    signals = _signals_file(ftx_month, tmp_path / "signals.csv")
    n_signals = len(signals.read_text(encoding="utf-8").splitlines()) - 1
    ws = tmp_path / "run"
    # When the backtest runs (sockets are off in this suite: any AWS or HTTP call would fail it)
    code = main(
        [
            "backtest",
            "--data",
            f"BTC-PERP={find_data_file(DEFAULT_MONTH)}",
            "--days",
            "2",
            "--signals",
            str(signals),
            "--workspace",
            str(ws),
            "--no-reports",
        ]
    )
    assert code == 0
    # Then the workspace has a replay's layout, every signal a decision, every pass a trade
    for name in ("summary.json", "decisions.parquet", "trades.csv", "sessions.json", "models", "reports/run.html"):
        assert (ws / name).exists(), name
    summary = json.loads((ws / "summary.json").read_text(encoding="utf-8"))
    for key in (
        "signals", "decisions", "passed", "shadow_trades", "closed", "wins", "losses", "net_pnl_bps",
        "models_published", "models_candidates", "champion_model_id", "symbols", "days", "config_hash",
    ):  # fmt: skip
        assert key in summary, key
    decisions = pq.read_table(ws / "decisions.parquet").to_pylist()
    with open(ws / "trades.csv", newline="", encoding="utf-8") as fh:
        trades = list(csv.DictReader(fh))
    assert summary["signals"] == n_signals == len(decisions)
    assert summary["passed"] == len(trades) == sum(d["passed"] for d in decisions) > 0
    assert {d["strategy"] for d in decisions} == {"mine"}
    assert sum(d["cf_outcome"] is not None for d in decisions) > 0.9 * len(decisions)
    assert summary["models_candidates"] >= 1 and summary["symbols"] == ["BTC-PERP"]
    # And after the command has returned, the folder registry lists and verifies what the nights registered
    capsys.readouterr()
    assert main(["models", "--base-path", str(ws / "models"), "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    meta = [m for m in listed if m.get("name") == "meta_label"]
    assert len(meta) == summary["models_candidates"] + summary["models_published"]
    assert main(["models", "--base-path", str(ws / "models"), "verify", meta[0]["model_id"]]) == 0


def test_bad_inputs_are_one_sentence_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = f"BTC-PERP={find_data_file(DEFAULT_MONTH)}"
    # --days 0 is refused before anything is read
    with pytest.raises(SystemExit) as exc:  # argparse refuses it: usage line, one sentence, exit 2
        main(["backtest", "--data", data, "--days", "0", "--workspace", str(tmp_path / "a")])
    assert exc.value.code == 2
    assert "--days" in capsys.readouterr().err
    # a signals file naming a symbol without bars is refused by name
    bad = tmp_path / "s.csv"
    bad.write_text("ts,symbol,side,mode,confidence\n2022-01-01T00:05:00Z,ETH-PERP,long,scalp,0.7\n", "utf-8")
    assert (
        main(["backtest", "--data", data, "--days", "1", "--signals", str(bad), "--workspace", str(tmp_path / "b")])
        == 2
    )
    assert "ETH-PERP" in capsys.readouterr().err
    # a workspace that already holds a run is never overwritten
    held = tmp_path / "held"
    (held / "models" / "meta_label").mkdir(parents=True)
    assert main(["backtest", "--data", data, "--days", "1", "--workspace", str(held)]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_extra_features_without_a_signals_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The built-in strategies carry no features: declaring one and running them would park every signal."""
    data = f"BTC-PERP={find_data_file(DEFAULT_MONTH)}"
    config = tmp_path / "mine.toml"
    config.write_text('extra_features = ["my_edge"]\n', encoding="utf-8")
    for command in ("backtest", "replay"):
        argv = [command, "--data", data, "--days", "1", "--config", str(config), "--workspace", str(tmp_path / command)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "my_edge" in err and "--signals" in err and "Traceback" not in err
        assert not (tmp_path / command / "summary.json").exists()
