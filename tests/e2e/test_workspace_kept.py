"""A run is kept: what the local stack learned outlives it, in the run's workspace.

One real day through the whole local stack; a model is registered in the stack's S3 registry (KMS-signed, as the
nightly task does); the run is kept (:func:`huracan.local.keep.keep_run`) and the stack stops. Then a *separate
process* lists and verifies the models from the workspace's folder registry, and every file reconciles with what
the tables held. A second test runs ``huracan replay --workspace`` as a user would and reads what it left.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.bars import BarArrays
from huracan.core.strategies import signals_history
from huracan.data import find_data_file
from huracan.local.keep import finish_workspace, keep_run
from huracan.local.replay import build_records
from huracan.local.runtime import LocalRuntime
from huracan.registry import MetaLabelModel, ModelRegistry
from huracan.workspace import TRADE_COLUMNS, RunWorkspace
from tests.unit.test_registry_model import make_dataset, train_booster

REPO = Path(__file__).resolve().parents[2]
HURACAN = [sys.executable, "-m", "huracan.cli"]


def _huracan(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "MODEL_BUCKET"}
    return subprocess.run([*HURACAN, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=600)


def test_a_kept_run_outlives_the_stack(ftx_month: BarArrays, tmp_path: Path) -> None:
    # Given one real day replayed through the local stack, and a champion and a candidate in its S3 registry
    bars = ftx_month.slice(0, 1440)
    records = build_records(bars, "BTC-PERP", signals_history(bars))
    X, y = make_dataset(ftx_month.slice(0, 10_000))
    ws = RunWorkspace.prepare(tmp_path / "w", "kept")
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(
            parameters={"HuracanProfile": "demo"},
            skip_schedules={"IngestMarketFunctionEveryMinute", "NightlyTrainingRule"},
        ) as rt,
    ):
        rt.replay(records)
        rt.finish(records[-1].publish_at)
        registry = ModelRegistry(f"s3://{rt.physical('ModelBucket')}/models")
        champion = registry.register_model(
            MetaLabelModel.from_lightgbm(train_booster(X, y, seed=1)), "abc", "snap-1", {"auc": 0.6}
        )
        candidate = registry.register_model(
            MetaLabelModel.from_lightgbm(train_booster(X, y, seed=2)), "abc", "snap-2", {"auc": 0.5}, stage="candidate"
        )
        tables = bind_tables(TableSettings.from_env())
        n_decisions = sum(1 for _ in tables.decisions.scan())
        shadow = {i.shadow_id: i for i in tables.shadow_trades.scan()}
        # When the run is kept and the stack stops
        summary = keep_run(ws, bars={"BTC-PERP": bars}, sessions=[])
    page = finish_workspace(ws)

    # Then another process lists and verifies both models from the folder, with no AWS at all
    listed = _huracan("models", "--base-path", str(ws.models), "list")
    assert listed.returncode == 0, listed.stderr
    assert champion in listed.stdout and candidate in listed.stdout and "candidate" in listed.stdout
    for model_id in (champion, candidate):
        verified = _huracan("models", "--base-path", str(ws.models), "verify", model_id)
        assert verified.returncode == 0 and f"OK {model_id}" in verified.stdout, verified.stderr
    # and every file reconciles with the tables: every signal a decision, every pass a trade, same outcomes
    signals = sum(1 for r in records if r.payload["type"] == "signal")
    assert summary["signals"] == summary["decisions"] == n_decisions == signals > 0
    assert summary["passed"] == summary["shadow_trades"] == len(shadow) > 0
    assert (summary["models_published"], summary["models_candidates"]) == (1, 1)
    assert summary["champion_model_id"] == champion and summary["symbols"] == ["BTC-PERP"]
    assert summary["days"] == 1.0
    trades = ws.read_trades()
    assert len(trades) == len(shadow) and list(trades[0]) == list(TRADE_COLUMNS)
    for t in trades:
        item = shadow[t["shadow_id"]]
        assert t["status"] == item.status and t["actual_outcome"] == item.actual_outcome
        net = t["shadow_pnl_net_bps"]
        assert (net is None and item.shadow_pnl_net_bps is None) or np.isclose(net, float(item.shadow_pnl_net_bps))
    closed_net = sum(
        t["shadow_pnl_net_bps"] or 0.0 for t in trades if t["actual_outcome"] in ("WIN", "LOSS", "BREAKEVEN")
    )
    assert np.isclose(summary["net_pnl_bps"], closed_net)
    decisions = ws.read_decisions()
    assert len(decisions) == n_decisions
    assert {d["signal_id"] for d in decisions if d["passed"]} == {t["signal_id"] for t in trades}
    assert all(any(k.startswith("gate_") and k.endswith("_passed") for k in d) for d in decisions)
    assert page == ws.reports / "run.html" and page.stat().st_size > 10_000
    assert 'href="run.html"' in (ws.reports / "index.html").read_text()


def test_huracan_replay_writes_its_workspace(tmp_path: Path) -> None:
    # Given a real 1-minute file, replayed for one day as a user would, in its own process
    data = find_data_file("coinbase_ETHUSD_1m_4days_2017-2018.csv.gz")
    ws = tmp_path / "run"
    proc = _huracan("replay", "--data", str(data), "--days", "1", "--workspace", str(ws), "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Then the workspace holds every file, the console names it and the run report, and the figures add up
    assert f"run kept in {ws}" in proc.stdout and f"whole-run report: {ws / 'reports' / 'run.html'}" in proc.stdout
    for name in ("summary.json", "trades.csv", "decisions.parquet", "bars.parquet", "sessions.json"):
        assert (ws / name).is_file(), name
    assert (ws / "models").is_dir() and (ws / "reports" / "run.html").is_file()
    summary = json.loads((ws / "summary.json").read_text())
    required = {
        "signals", "decisions", "passed", "shadow_trades", "closed", "wins", "losses", "net_pnl_bps",
        "models_published", "models_candidates", "champion_model_id", "symbols", "days", "config_hash",
    }  # fmt: skip
    assert required <= set(summary)
    assert summary["symbols"] == ["ETHUSD"] and summary["days"] == 1.0 and summary["config_hash"]
    assert summary["decisions"] == len(RunWorkspace(ws).read_decisions())
    assert summary["shadow_trades"] == len(RunWorkspace(ws).read_trades()) == summary["passed"]
    assert summary["by_symbol"]["ETHUSD"]["shadow_trades"] == summary["shadow_trades"]
    assert "1.0 days of data" in proc.stdout
    # and what the night's training registered is listed and verifies from the folder after the process exited
    listed = _huracan("models", "--base-path", str(ws / "models"), "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    meta = [r for r in rows if r["name"] == "meta_label"]
    assert sum(r["stage"] == "candidate" for r in meta) == summary["models_candidates"]
    assert sum(r["stage"] == "champion" for r in meta) == summary["models_published"]
    for r in rows:
        verified = _huracan("models", "--base-path", str(ws / "models"), "verify", r["model_id"])
        assert verified.returncode == 0, verified.stderr
