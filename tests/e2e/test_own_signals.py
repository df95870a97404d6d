"""A user's own signals through the whole local stack: two real symbols replayed together, and published.

The stack is created from template.yaml with ``StrategiesEnabled=false``; the bars of two real 1-minute
files (Bybit BTCUSDT and Binance BTCBUSD, 2022-12-13) and a signals file go through the Kinesis poller into
the real evaluate_signals handler, the timers through the real state machine and resolver.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.data import find_data_file
from huracan.local.replay import StreamRecord, build_records, merge_records
from huracan.local.runtime import LocalRuntime
from huracan.service.evaluate import shadow_id_for
from huracan.signals.inputs import RunInputs, resolve_inputs

FILES = {"BTCUSDT": "bybit_BTCUSDT_1m_20221213.csv.gz", "BTCBUSD": "binance_BTCBUSD_1m_20221213.csv.gz"}
SKIP = {"IngestMarketFunctionEveryMinute", "NightlyTrainingRule", "DailySummaryFunctionNightly"}


def _signals_file(path: Path, every_min: int, *, seed: int, last_minute: int = 1380) -> Path:
    """Signals for both symbols at odd seconds (not on bar boundaries), sides and confidences at random."""
    rng = np.random.default_rng(seed)
    t0 = int(epoch_s("2022-12-13T00:00:00Z"))
    rows = []
    for sym in FILES:
        for m in range(90, last_minute, every_min):
            rows.append(
                {
                    "ts": from_epoch_s(t0 + 60 * m + int(rng.integers(0, 60))),
                    "symbol": sym,
                    "side": str(rng.choice(["long", "short"])),
                    "mode": str(rng.choice(["scalp", "scalp", "runner"])),
                    "confidence": round(float(rng.uniform(0.55, 1.0)), 3),
                    "strategy": "my_strategy",
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _inputs(tmp: Path) -> RunInputs:
    ns = argparse.Namespace(
        data=[f"{s}={find_data_file(f)}" for s, f in FILES.items()],
        symbol=None,
        quotes=None,
        signals=_signals_file(tmp / "signals.csv", 20, seed=3),
        config=None,
        days=None,
        profile="demo",
    )
    return resolve_inputs(ns)


@dataclass
class Replayed:
    records: list[StreamRecord]
    decisions: list[Any]
    trades: list[Any]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    inputs = _inputs(tmp_path_factory.mktemp("own"))
    assert inputs.signals is not None
    source = inputs.signals
    # the same records `huracan replay --data A --data B --signals S` sends: both symbols interleaved in time
    records = merge_records([build_records(b, sym, source(b, sym)) for sym, b in sorted(inputs.bars.items())])
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(parameters={"HuracanProfile": "demo", "StrategiesEnabled": "false"}, skip_schedules=SKIP) as rt,
    ):
        rt.replay(records)
        rt.finish(records[-1].publish_at)
        tables = bind_tables(TableSettings.from_env())
        yield Replayed(records, list(tables.decisions.scan()), list(tables.shadow_trades.scan()))


def test_records_of_both_symbols_are_interleaved_in_time_with_the_symbol_as_partition_key(replayed: Replayed) -> None:
    times = [r.publish_at for r in replayed.records]
    assert times == sorted(times)
    assert {r.partition_key for r in replayed.records} == set(FILES)
    assert all(r.partition_key == r.payload["symbol"] for r in replayed.records)
    # interleaved, not one file after the other
    first_half = {r.partition_key for r in replayed.records[: len(replayed.records) // 2]}
    assert first_half == set(FILES)


def test_two_symbols_reconcile_per_symbol(replayed: Replayed) -> None:
    sent = [r.payload for r in replayed.records if r.payload["type"] == "signal"]
    end_of_data = replayed.records[-1].publish_at
    for sym in FILES:
        # every signal of the symbol is a decision
        signals = {p["signal_id"] for p in sent if p["symbol"] == sym}
        decisions = [d for d in replayed.decisions if d.symbol == sym]
        assert signals and {d.signal_id for d in decisions} == signals, sym
        assert all(d.strategy == "my_strategy" for d in decisions)
        # every pass is exactly one shadow trade
        passed = {shadow_id_for(d.signal_id) for d in decisions if d.passed}
        trades = [t for t in replayed.trades if t.symbol == sym]
        assert passed and {t.shadow_id for t in trades} == passed, sym
        # every trade is resolved (the file's signals stop well before the data, so every window is inside it)
        assert all(epoch_s(t.timeout_at) + 60 <= end_of_data for t in trades)
        assert Counter(t.status for t in trades) == {"CLOSED": len(trades)}, sym
        assert all(t.actual_outcome in ("WIN", "LOSS", "BREAKEVEN") for t in trades), [
            (t.ts, t.mode, t.actual_outcome, t.exit_reason, t.timeout_at)
            for t in trades
            if t.actual_outcome not in ("WIN", "LOSS", "BREAKEVEN")
        ]
        # and the shadow trade enters at the first price after the signal's ts, not before it
        for t in trades[:20]:
            assert t.ts == next(p["ts"] for p in sent if shadow_id_for(p["signal_id"]) == t.shadow_id)


def test_no_built_in_signal_was_generated(replayed: Replayed) -> None:
    assert Counter(d.strategy for d in replayed.decisions) == {"my_strategy": len(replayed.decisions)}
