"""Your edge in a column of your own: ``extra_features`` make it a model input, and the engine finds it there.

On a real 1-minute file (FTX BTC-PERP, its first three days) a signals file is built whose ``confidence`` says
nothing (uniform, independent of the outcome) while a declared extra column ``my_edge`` carries a real edge:
on every minute of 2022-01-01 and 01-02 whose next 15 minutes move at least ``MIN_MOVE_BPS``, the signal's side
agrees with that move with a probability ``q`` and ``my_edge`` is ``q`` plus noise. A few rows leave ``my_edge``
empty. The settings file declares ``extra_features = ["my_edge"]``.

The whole local stack runs as ``huracan replay --data … --signals … --config …`` sets it up (template.yaml on the
emulator with ``HuracanConfig`` and ``StrategiesEnabled=false``, the user's history in the signal archive, the
Kinesis poller into the real evaluate_signals handler, the nightly task at virtual midnight). Then:

- every signal carrying ``my_edge`` is a decision whose stored features hold it; each one without it is parked on
  the dead-letter queue with a reason naming ``my_edge``;
- the nightly's model lists ``my_edge`` among its features (the manifest Hamilton reads) and it is the feature
  the model leans on most (largest gain), and the model passes the offline checks (served as a challenger);
- ``huracan backtest`` on the same inputs serves the same rows, parks the same signals and trains the same models.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from huracan.adapters.repository import decision_from_item
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.backtest import BacktestResult, run_backtest
from huracan.core.features import model_features
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.data import DEFAULT_MONTH, find_data_file, load_minute_bars
from huracan.learning.nightly import NightlyResult, container_task
from huracan.local.demo import _load_signal_history
from huracan.local.reconcile import stream_dead_letters
from huracan.local.replay import build_records, merge_records
from huracan.local.runtime import LocalRuntime
from huracan.registry import ModelRegistry
from huracan.signals.inputs import resolve_inputs

DAYS = 3
SIGNAL_DAYS = ("2022-01-01T00:00:00Z", "2022-01-02T23:30:00Z")
HORIZON = 15
MIN_MOVE_BPS = 5.0
MISSING = 5  # rows whose my_edge is left empty
# as tests/e2e/test_own_signals_edge.py: barriers where a 15-minute agreement wins net of costs; the confidence
# gate blocks every signal (fast: no paper trades), blocked signals are labelled counterfactually and train too
CONFIG = """
extra_features = ["my_edge"]

[profiles.demo.costs]
fee_bps_per_side = 1.0

[profiles.demo.modes.scalp]
tp_bps = 15.0
sl_bps = 15.0
timeout_sec = 900
min_confidence = 0.95
"""


def _signals(path: Path) -> pd.DataFrame:
    bars = load_minute_bars(find_data_file(DEFAULT_MONTH), float(DAYS))
    rng = np.random.default_rng(11)
    rows = []
    first, last = np.searchsorted(bars.ts, [epoch_s(SIGNAL_DAYS[0]), epoch_s(SIGNAL_DAYS[1])])
    for k in range(int(first), int(last)):
        move_bps = (bars.close[k + HORIZON] / bars.close[k] - 1.0) * 1e4
        if abs(move_bps) < MIN_MOVE_BPS:
            continue
        q = float(rng.uniform(0.05, 0.95))
        agree = rng.random() < q
        rows.append(
            {
                "ts": from_epoch_s(int(bars.ts[k]) + 60),
                "symbol": "BTC-PERP",
                "side": "long" if (move_bps > 0) == agree else "short",
                "mode": "scalp",
                "confidence": round(float(rng.uniform(0.05, 0.95)), 4),  # says nothing
                "strategy": "my_edge",
                "my_edge": round(q + float(rng.normal(0.0, 0.1)), 4),  # the edge, with noise
                "_agree": agree,
            }
        )
    frame = pd.DataFrame(rows)
    frame["my_edge"] = frame["my_edge"].astype(object)
    frame.loc[frame.index[100 : 100 + 200 * MISSING : 200], "my_edge"] = ""
    frame.drop(columns="_agree").to_csv(path, index=False)
    return frame


@dataclass
class Run:
    frame: pd.DataFrame
    sent: dict[str, dict[str, Any]]  # signal_id -> stream payload
    decisions: dict[str, Any]
    parked: dict[str, str]  # signal_id -> reason
    nights: list[NightlyResult]
    manifests: dict[str, dict[str, Any]]  # model_id -> signed manifest
    backtest: BacktestResult  # the same inputs through ``huracan backtest``'s loop


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("extra")
    (tmp / "mine.toml").write_text(CONFIG, "utf-8")
    frame = _signals(tmp / "signals.csv")
    inputs = resolve_inputs(  # the replay's own input parsing: the file checked against the declared features
        argparse.Namespace(
            data=[f"BTC-PERP={find_data_file(DEFAULT_MONTH)}"],
            symbol=None,
            quotes=None,
            signals=tmp / "signals.csv",
            config=tmp / "mine.toml",
            days=DAYS,
            profile="demo",
        )
    )
    assert inputs.signals is not None and inputs.config.extra_features == ("my_edge",)
    source = inputs.signals
    records = merge_records([build_records(b, sym, source(b, sym)) for sym, b in sorted(inputs.bars.items())])
    nights: list[NightlyResult] = []
    params = {
        "HuracanProfile": "demo",
        "SchedulesEnabled": "true",
        "StrategiesEnabled": "false",
        "HuracanConfig": str((tmp / "mine.toml").resolve()),
    }
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(parameters=params, skip_schedules={"IngestMarketFunctionEveryMinute"}) as rt,
    ):
        _load_signal_history(inputs, io.StringIO())
        rt.container_tasks["TrainingCluster"] = container_task(rt, signal_source=None, on_result=nights.append)
        rt.replay(records)
        rt.finish(records[-1].publish_at)
        assert not rt.scheduler.failed, rt.scheduler.failed
        decisions = {
            rec.signal_id: rec
            for rec, _ in (decision_from_item(it) for it in bind_tables(TableSettings.from_env()).decisions.scan())
        }
        parked = {ident[1]: reason for ident, reason in stream_dead_letters(rt) if ident[0] == "signal"}
        registry = ModelRegistry(base_path=f"s3://{os.environ['MODEL_BUCKET']}/models")
        manifests = {n.candidate_id: registry.show(n.candidate_id) for n in nights if n.candidate_id}
    sent = {r.payload["signal_id"]: r.payload for r in records if r.payload["type"] == "signal"}
    signals = [r for r in records if r.payload["type"] == "signal"]
    bt = run_backtest(
        inputs.bars, signals, config=inputs.config, workspace=tmp / "bt", reports=False, signal_source=source
    )
    yield Run(frame, sent, decisions, parked, nights, manifests, bt)


def test_my_edge_carries_the_edge_and_the_confidence_does_not(run: Run) -> None:
    f = run.frame[run.frame.my_edge != ""]
    edge = f.my_edge.astype(float)
    gap_edge = f[edge > 0.7]._agree.mean() - f[edge < 0.3]._agree.mean()
    gap_conf = f[f.confidence > 0.7]._agree.mean() - f[f.confidence < 0.3]._agree.mean()
    assert len(f) >= 1000 and gap_edge > 0.3 and abs(gap_conf) < 0.08


def test_signals_with_my_edge_are_decided_with_it_and_those_without_are_parked_naming_it(run: Run) -> None:
    missing = {sid for sid, p in run.sent.items() if "my_edge" not in (p.get("features") or {})}
    assert len(missing) == MISSING
    # every signal carrying it is a decision, its stored feature row holding the value sent
    carried = set(run.sent) - missing
    assert carried <= set(run.decisions)
    for sid in list(carried)[:200]:
        assert json.loads(run.decisions[sid].features_json)["my_edge"] == run.sent[sid]["features"]["my_edge"]
    # every one without it is parked, with a reason naming the feature, and is not a decision
    assert set(run.parked) == missing and not missing & set(run.decisions)
    assert all("my_edge" in reason and "missing" in reason for reason in run.parked.values()), run.parked


def test_the_nightly_model_takes_my_edge_as_an_input_and_leans_on_it(run: Run) -> None:
    trained = [n for n in run.nights if n.report is not None and n.candidate_id]
    assert trained, [(n.day, n.status, n.reasons) for n in run.nights]
    for n in trained:
        assert n.session["steps"]["collect"]["historical_source"] == "user_signals"
        # the signed manifest lists the columns Hamilton must send: the fixed ones, then my_edge
        assert n.candidate_id is not None
        assert tuple(run.manifests[n.candidate_id]["features"]) == model_features(("my_edge",))
        assert n.report is not None
        gain = n.report.importance.gain
        assert gain["my_edge"] > 0 and max(gain, key=lambda k: gain[k]) == "my_edge", gain
    # and the night after both signal days found the edge: a model that passed every offline check
    last = trained[-1]
    assert last.status in ("published", "challenger"), (last.day, last.status, last.reasons)


def test_the_backtest_decides_parks_and_trains_as_the_stack_does(run: Run) -> None:
    """``huracan backtest`` reads the same settings: the same rows served (extras included), the same signals
    refused for the missing column, the same model every night."""
    book = run.backtest.book
    assert set(book.by_signal) == set(run.decisions)
    for sid, d in run.decisions.items():
        b = book.by_signal[sid]
        assert (b.features_json, b.prob, b.prob_source, b.model_id) == (
            d.features_json,
            d.prob,
            d.prob_source,
            d.model_id,
        )
    assert dict(run.backtest.invalid) == run.parked
    assert [(n.status, n.candidate_id, n.snapshot_id) for n in run.backtest.nights] == [
        (n.status, n.candidate_id, n.snapshot_id) for n in run.nights
    ]
