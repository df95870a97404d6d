"""Collecting the nightly training set from three sources, on real FTX bars with in-memory sources."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.strategies import signal_id_for, signals_history
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.learning.collect import collect_dataset
from huracan.observability.records import LiveTrade
from huracan.service.entities import DecisionOutcome, DecisionRecord

ENGINE = load_config("demo")
SYMBOL = "BTC-PERP"
EVENT = "2022-01-05T00:00:00Z"


@dataclass
class Bars:
    bars: BarArrays

    def bars_between(self, symbol: str, start_ts: str, end_ts: str) -> BarArrays:
        lo, hi = np.searchsorted(self.bars.ts, [epoch_s(start_ts), epoch_s(end_ts)])
        return self.bars.slice(int(lo), int(hi)) if symbol == SYMBOL else self.bars.slice(0, 0)


@dataclass
class Decisions:
    rows: list[tuple[DecisionRecord, DecisionOutcome | None]]

    def decisions_with_outcomes_on_day(
        self, day: str, *, only_unresolved: bool = False
    ) -> Iterator[tuple[DecisionRecord, DecisionOutcome | None]]:
        return iter([r for r in self.rows if r[0].day == day])


@dataclass
class Live:
    trades: list[LiveTrade]

    def live_trades(self, days: Sequence[str]) -> list[LiveTrade]:
        return [t for t in self.trades if (t.ts_open or "")[:10] in days]


def _decision(n: int, bars: BarArrays, k: int, side: str, confidence: float, mode: str) -> DecisionRecord:
    t0 = int(bars.ts[k]) + 60
    return DecisionRecord(
        signal_id=signal_id_for("momentum_breakout", SYMBOL, t0) if n >= 0 else f"other-{k}",
        day=from_epoch_s(t0)[:10],
        ts=from_epoch_s(t0),
        symbol=SYMBOL,
        side=side,
        mode=mode,
        strategy="momentum_breakout",
        confidence=confidence,
        price=float(bars.close[k]),
        features_json="{}",
        gates={},
        passed=n % 2 == 0,
        blocked_by=(),
        prob=None,
        prob_source="prior",
        regime="RANGE",
        regime_source="rule",
        model_id=None,
        config_version=ENGINE.version,
        expected_return_bps=None,
        cost_bps=None,
        shadow_id=f"shadow-{n}" if n % 2 == 0 else None,
        expires_at_epoch=None,
    )


@pytest.fixture(scope="module")
def bars(ftx_month: BarArrays) -> BarArrays:
    return ftx_month.slice(0, int(np.searchsorted(ftx_month.ts, epoch_s(EVENT))))


@pytest.fixture(scope="module")
def world(bars: BarArrays):
    sig = signals_history(bars)
    on_day = [
        j
        for j, k in enumerate(sig.bar_idx.tolist())
        if from_epoch_s(int(bars.ts[k]) + 60)[:10] == "2022-01-04" and sig.strategy[j] == "momentum_breakout"
    ][:20]
    rows: list[tuple[DecisionRecord, DecisionOutcome | None]] = []
    for n, j in enumerate(on_day):
        k = int(sig.bar_idx[j])
        rec = _decision(n, bars, k, sig.side[j], float(sig.confidence[j]), sig.mode[j])
        # the labeller's outcome, deliberately the opposite of the barrier's, so the source is visible in y
        out = (
            None if n == 19 else DecisionOutcome(rec.signal_id, "TP", "WIN" if n % 3 else "LOSS", None, None, 7.0, None)
        )
        rows.append((rec, out))
    live = [
        LiveTrade(
            "ham-1", ts_open=rows[0][0].ts, pnl_bps=-30.0, outcome="LOSS", engine_shadow_id="shadow-0", status="closed"
        ),
        LiveTrade("ham-2", ts_open=rows[2][0].ts, pnl_bps=None, engine_shadow_id="shadow-2", status="open"),
    ]
    collected = collect_dataset(
        EVENT,
        symbols=[SYMBOL],
        bars=Bars(bars),
        engine=ENGINE,
        decisions=Decisions(rows),
        live=Live(live),
        days=3,
    )
    return rows, collected


def test_one_row_per_signal_with_the_most_direct_source(world) -> None:
    rows, collected = world
    ds = collected.dataset
    assert len(set(ds.row_id.tolist())) == len(ds)
    by_id = {r: i for i, r in enumerate(ds.row_id.tolist())}
    # Then the live trade replaced its decision, labelled decisions replaced their historical twins
    first = by_id[rows[0][0].signal_id]
    assert ds.provenance[first] == "live" and ds.y[first] == 0.0 and ds.pnl_bps[first] == -30.0
    for rec, out in rows[1:19]:
        i = by_id[rec.signal_id]
        assert ds.provenance[i] == "shadow"
        assert ds.y[i] == (1.0 if out is not None and out.cf_outcome == "WIN" else 0.0)
    # an unlabelled decision keeps its historical twin
    assert ds.provenance[by_id[rows[19][0].signal_id]] == "historical"
    # the live trade's signal had three rows (historical, decision, trade), 18 more had two
    assert collected.counts["duplicates_dropped"] == 2 + 18
    assert collected.counts["live_incomplete"] == 1


def test_features_are_recomputed_from_bars_like_the_historical_twin(world, bars: BarArrays) -> None:
    rows, collected = world
    ds = collected.dataset
    hist_only = collect_dataset(EVENT, symbols=[SYMBOL], bars=Bars(bars), engine=ENGINE, days=3).dataset
    twin = {r: i for i, r in enumerate(hist_only.row_id.tolist())}
    for rec, _ in rows[1:19]:
        i = int(np.flatnonzero(ds.row_id == rec.signal_id)[0])
        np.testing.assert_array_equal(ds.X[i], hist_only.X[twin[rec.signal_id]])
        assert ds.t_entry[i] == hist_only.t_entry[twin[rec.signal_id]]


def test_window_and_outcomes_end_before_the_run(world) -> None:
    _, collected = world
    ds = collected.dataset
    assert ds.t_exit.max() <= epoch_s(EVENT)
    assert ds.t_entry.min() >= epoch_s("2022-01-02T00:00:00Z")
    assert ds.max_timeout_sec >= ENGINE.mode("runner").timeout_sec
    assert set(collected.shadow_ids.values()) <= {f"shadow-{n}" for n in range(20)}
    assert "shadow-0" in collected.shadow_ids.values()  # the live row's decision still names its shadow trade
