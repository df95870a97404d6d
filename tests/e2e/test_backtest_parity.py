"""The backtest and the stack replay on the same two real days, compared record by record.

The stack side is the whole local stack (template.yaml on the emulator, the Kinesis poller into the real
evaluate_signals handler, the state machine's timers into the resolver, the 23:00 summary and the 00:00 nightly
training on the virtual clock). The backtest side is ``huracan.backtest`` in-process. Both are given the same
records; every decision (gates with values and thresholds, probability and its source, regime and its source,
model id, features), every counterfactual outcome, every shadow trade and its close, every nightly verdict and
every model id must be equal.

Differences that are inherent, and therefore not compared:

- ``expires_at_epoch`` (the TTL): it counts from when the row is written (the stream's arrival time of the
  batch, issue 17), a delivery time the in-process backtest does not have; the backtest counts from the signal's
  own time. Bookkeeping for DynamoDB's expiry, read by nothing that decides;
- the night's wall-clock timings and its ``steps`` (the stack compacts bars into the S3 archive and reads settled
  days from their S3 copies; the backtest has neither store): bookkeeping, not a decision;
- Hamilton's live outcomes: the stack's simulator is not started here either (it trades only a published model).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

from huracan.adapters.repository import decision_from_item
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.backtest import run_backtest
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.timeutil import from_epoch_s
from huracan.data import DEFAULT_MONTH, find_data_file
from huracan.learning.nightly import container_task
from huracan.local.demo import _load_signal_history
from huracan.local.replay import StreamRecord, build_records, merge_records
from huracan.local.runtime import LocalRuntime
from huracan.signals.inputs import RunInputs, resolve_inputs
from huracan.signals.source import SignalSource, builtin

SYMBOL = "BTC-PERP"
PROFILE = "demo"

#: decision fields compared as numbers (equal to 1e-12 relative; DynamoDB's Number keeps 38 digits)
_CLOSE_COLUMNS = (
    "exit_price",
    "exit_reason",
    "exit_ts",
    "shadow_pnl_bps",
    "shadow_pnl_net_bps",
    "duration_sec",
    "actual_outcome",
    "prediction_correct",
    "outcome_reason",
)


@dataclass
class Run:
    decisions: dict[str, dict[str, Any]]
    outcomes: dict[str, dict[str, Any] | None]
    trades: dict[str, dict[str, Any]]
    nights: list[dict[str, Any]]


def _night(n: Any) -> dict[str, Any]:
    return {
        "event_time": n.event_time,
        "status": n.status,
        "model_id": n.model_id,
        "candidate_id": n.candidate_id,
        "snapshot_id": n.snapshot_id,
        "n_samples": n.n_samples,
        "provenance": n.provenance,
        "reasons": list(n.reasons),
        "regime_detector": {
            k: v for k, v in (n.session.get("steps", {}).get("regime_detector") or {}).items() if k != "detail"
        },
        "counterfactuals": n.session.get("steps", {}).get("counterfactuals"),
        "collect_counts": (n.session.get("steps", {}).get("collect") or {}).get("counts"),
        "marked": n.marked,
    }


def _stack_run(records: list[StreamRecord], inputs: RunInputs | None) -> Run:
    """The whole local stack; with ``inputs`` (a signals file) as ``huracan replay --signals`` sets it up."""
    nights: list[Any] = []
    params = {"HuracanProfile": PROFILE, "SchedulesEnabled": "true"}
    if inputs is not None:
        params["StrategiesEnabled"] = "false"  # the user's signals only, in the nightly's history too
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(parameters=params, skip_schedules={"IngestMarketFunctionEveryMinute"}) as rt,
    ):
        if inputs is not None:
            _load_signal_history(inputs, io.StringIO())
        # None: the nightly's own default (built-in strategies, or the archived user history when disabled)
        rt.container_tasks["TrainingCluster"] = container_task(rt, signal_source=None, on_result=nights.append)
        rt.replay(records)
        rt.finish(records[-1].publish_at)
        assert not rt.scheduler.failed, rt.scheduler.failed
        tables = bind_tables(TableSettings.from_env())
        decisions: dict[str, dict[str, Any]] = {}
        outcomes: dict[str, dict[str, Any] | None] = {}
        for item in tables.decisions.scan():
            rec, out = decision_from_item(item)
            decisions[rec.signal_id] = asdict(rec)
            outcomes[rec.signal_id] = None if out is None else asdict(out)
        trades: dict[str, dict[str, Any]] = {}
        for t_item in tables.shadow_trades.scan():
            trades[t_item.shadow_id] = {
                "status": t_item.status,
                "open": {
                    k: getattr(t_item, k)
                    for k in ("signal_id", "ts", "symbol", "mode", "side", "entry_price", "tp_price", "sl_price")
                }
                | {
                    "timeout_at": t_item.timeout_at,
                    "predicted_win_prob": t_item.predicted_win_prob,
                    "model_id": t_item.model_id,
                    "regime": t_item.regime,
                    "fill_assumptions": json.loads(t_item.fill_assumptions or "{}"),
                    "features_json": t_item.features_json,
                },
                "close": {k: getattr(t_item, k) for k in _CLOSE_COLUMNS if getattr(t_item, k) is not None},
            }
        # the nightly marks rows with a raw UpdateItem (the items do not declare the attribute)
        settings = TableSettings.from_env()
        for table, key, target in (
            (settings.decisions_table, "signal_id", decisions),
            (settings.shadow_trades_table, "shadow_id", trades),
        ):
            for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table):
                for it in page["Items"]:
                    if "used_in_snapshot" in it:
                        target[it[key]["S"]]["used_in_snapshot"] = it["used_in_snapshot"]["S"]
    return Run(decisions, outcomes, trades, [_night(n) for n in nights])


def _backtest_run(
    bars: dict[str, BarArrays], records: list[StreamRecord], source: SignalSource, workspace: Path
) -> Run:
    signals = [r for r in records if r.payload["type"] == "signal"]
    result = run_backtest(bars, signals, config=load_config(PROFILE), workspace=workspace, signal_source=source)
    assert not result.invalid, result.invalid[:3]
    book = result.book
    decisions = {sid: asdict(rec) for sid, rec in book.by_signal.items()}
    for sid, snap in book.decision_marks.items():
        decisions[sid]["used_in_snapshot"] = snap
    outcomes = {sid: (asdict(book.outcomes[sid]) if sid in book.outcomes else None) for sid in book.by_signal}
    trades: dict[str, dict[str, Any]] = {}
    for sid, st in book.trade_states.items():
        r = st.record
        trades[sid] = {
            "status": st.status,
            "open": {
                k: getattr(r, k)
                for k in ("signal_id", "ts", "symbol", "mode", "side", "entry_price", "tp_price", "sl_price")
            }
            | {
                "timeout_at": r.timeout_at,
                "predicted_win_prob": r.predicted_win_prob,
                "model_id": r.model_id,
                "regime": r.regime,
                "fill_assumptions": r.fill_assumptions,
                "features_json": r.features_json,
            },
            "close": dict(st.close),
        }
        if st.used_in_snapshot:
            trades[sid]["used_in_snapshot"] = st.used_in_snapshot
    return Run(decisions, outcomes, trades, [_night(n) for n in result.nights])


INHERENT = {"expires_at_epoch"}  # see the module docstring


def _same(a: Any, b: Any, path: str, diffs: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted((set(a) | set(b)) - INHERENT):
            _same(a.get(k), b.get(k), f"{path}.{k}", diffs)
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            diffs.append(f"{path}: {len(a)} vs {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _same(x, y, f"{path}[{i}]", diffs)
    elif isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        fa, fb = float(a), float(b)
        if not (fa == fb or (math.isnan(fa) and math.isnan(fb))):
            diffs.append(f"{path}: {a!r} vs {b!r}")
    elif a != b:
        diffs.append(f"{path}: {a!r} vs {b!r}")


def _compare(stack: Run, bt: Run) -> list[str]:
    diffs: list[str] = []
    assert set(stack.decisions) == set(bt.decisions), "the two paths decided different signals"
    assert set(stack.trades) == set(bt.trades), "the two paths opened different shadow trades"
    for sid in sorted(stack.decisions):
        _same(stack.decisions[sid], bt.decisions[sid], f"decision {sid}", diffs)
        _same(stack.outcomes[sid], bt.outcomes[sid], f"outcome {sid}", diffs)
    for sid in sorted(stack.trades):
        _same(stack.trades[sid], bt.trades[sid], f"trade {sid}", diffs)
    _same(stack.nights, bt.nights, "nights", diffs)
    return diffs


@dataclass
class Pair:
    stack: Run
    backtest: Run


def _pair(bars: dict[str, BarArrays], source: SignalSource, inputs: RunInputs | None, tmp: Path) -> Pair:
    records = merge_records([build_records(b, sym, source(b, sym)) for sym, b in sorted(bars.items())])
    return Pair(_stack_run(records, inputs), _backtest_run(bars, records, source, tmp))


@pytest.fixture(scope="module")
def two_days(ftx_month: BarArrays) -> BarArrays:
    return ftx_month.slice(0, 2 * 1440)


@pytest.fixture(scope="module")
def builtin_pair(two_days: BarArrays, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    yield _pair({SYMBOL: two_days}, builtin, None, tmp_path_factory.mktemp("bt-builtin"))


def _write_signals_file(bars: BarArrays, path: Path) -> Path:
    """A user's signals on the two days: off the minute (ts 17 s after a close), some in epoch ms, no prices.

    Side follows the last 15 minutes' move, confidence its size; every 9th minute, alternating modes.
    """
    rows = ["ts,symbol,side,mode,confidence,strategy"]
    close = bars.close
    for k in range(20, len(bars), 9):
        move = float(np.log(close[k] / close[k - 15]))
        side = "long" if move > 0 else "short"
        conf = min(0.99, 0.5 + abs(move) * 200)
        t = int(bars.ts[k]) + 60 + 17  # bar k closed 17 s before the signal
        ts = str(t * 1000) if k % 2 else from_epoch_s(t)
        rows.append(f"{ts},{SYMBOL},{side},{'runner' if k % 3 == 0 else 'scalp'},{conf:.4f},my_momentum")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def signals_file(two_days: BarArrays, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("bt-signals")
    sig_path = _write_signals_file(two_days, tmp / "signals.csv")
    args = argparse.Namespace(
        data=[f"{SYMBOL}={find_data_file(DEFAULT_MONTH)}"],
        symbol=None,
        quotes=None,
        signals=sig_path,
        config=None,
        days=2,
        profile=PROFILE,
    )
    inputs = resolve_inputs(args)  # the replay's and the backtest's own input parsing
    assert inputs.signals is not None
    yield _pair(inputs.bars, inputs.signals, inputs, tmp / "ws")


def test_a_signals_file_decides_trades_and_trains_identically(signals_file: Pair) -> None:
    stack, bt = signals_file.stack, signals_file.backtest
    # Given a user's signals file (times off the minute, some in epoch ms, no prices) on the same two days
    # Then every signal was decided (none parked), some passed and closed, blocked ones labelled, nights trained
    assert len(stack.decisions) > 200
    assert all(d["strategy"] == "my_momentum" for d in stack.decisions.values())
    assert sum(t["status"] == "CLOSED" for t in stack.trades.values()) > 10
    assert sum(o is not None for o in stack.outcomes.values()) > 200
    assert any(n["candidate_id"] for n in stack.nights), "no night trained a model"
    # And the training sets held only the user's signals (no built-in historical rows) on both paths
    for n in stack.nights + bt.nights:
        assert not any(k.startswith("historical_from_builtin") for k in (n["collect_counts"] or {}))
    # And every record is the same on both paths
    diffs = _compare(stack, bt)
    assert not diffs, f"{len(diffs)} differences, first: {diffs[:10]}"


def test_builtin_strategies_decide_trade_and_train_identically(builtin_pair: Pair) -> None:
    stack, bt = builtin_pair.stack, builtin_pair.backtest
    # Given two real days of the FTX month with the built-in strategies' signals on both paths
    # Then the runs are not trivial: signals passed and blocked, trades closed, blocked signals labelled, nights ran
    assert len(stack.decisions) > 100
    assert any(d["passed"] for d in stack.decisions.values()) and not all(d["passed"] for d in stack.decisions.values())
    assert sum(t["status"] == "CLOSED" for t in stack.trades.values()) > 10
    assert sum(o is not None for o in stack.outcomes.values()) > 100
    assert [n["status"] for n in stack.nights] == [n["status"] for n in bt.nights]
    assert any(n["candidate_id"] for n in stack.nights), "no night trained a model"
    # And every record is the same on both paths
    diffs = _compare(stack, bt)
    assert not diffs, f"{len(diffs)} differences, first: {diffs[:10]}"
