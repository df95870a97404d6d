"""The planted-edge signal source for ``huracan demo --planted-edge``, on the real FTX bars."""

from __future__ import annotations

import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.learning.dataset import labelled_signals
from huracan.local.planted_signals import PLANTED_STRATEGY, PlantedSignals
from huracan.local.replay import build_records

ENGINE = load_config("demo")
DAY = 1440


@pytest.fixture(scope="module")
def bars(ftx_month: BarArrays) -> BarArrays:
    return ftx_month.slice(0, 6 * DAY)


@pytest.fixture(scope="module")
def source(bars: BarArrays) -> PlantedSignals:
    return PlantedSignals(strength=1.0, config=ENGINE).fit(bars)


def test_the_chosen_side_wins_exactly_when_the_draw_says_so(bars: BarArrays, source: PlantedSignals) -> None:
    sig, truth = source(bars), source.truth(bars)
    # When the emitted signals are resolved with the engine's barriers and costs (the resolver's arithmetic)
    m = ENGINE.mode("scalp")
    ds = labelled_signals(
        bars,
        sig.bar_idx,
        [1 if s == "long" else -1 for s in sig.side],
        sig.confidence,
        np.zeros(len(sig)),
        tp_bps=m.tp_bps,
        sl_bps=m.sl_bps,
        timeout_sec=m.timeout_sec,
        fee_bps_per_side=ENGINE.costs.fee_bps_per_side,
        breakeven_band_bps=ENGINE.costs.breakeven_band_bps,
        default_spread_bps=ENGINE.costs.default_spread_bps,
        row_id=[str(k) for k in sig.bar_idx.tolist()],
    )
    # Then every signal resolves, and it is a WIN exactly when the planted draw chose the winning side
    assert len(ds) == len(sig) > 1000
    won = dict(zip(ds.row_id.tolist(), ds.y.tolist(), strict=True))
    assert [won[str(k)] == 1.0 for k in truth.bar_idx.tolist()] == truth.won.tolist()
    assert set(sig.strategy) == {PLANTED_STRATEGY} and set(sig.mode) == {"scalp"}


def test_strength_sets_the_attainable_auc(bars: BarArrays, source: PlantedSignals) -> None:
    strong = source.truth(bars)
    flat = PlantedSignals(strength=0.0, config=ENGINE).fit(bars).truth(bars)
    # Then a planted dependence is recoverable in principle and none is not
    assert 0.68 < strong.attainable_auc < 0.82
    assert abs(flat.attainable_auc - 0.5) < 1e-9  # constant p: no model can rank
    assert 0.4 < flat.win_rate < 0.6
    assert "attainable AUC" in strong.describe()


def test_any_window_of_the_same_bars_emits_the_same_signals(bars: BarArrays, source: PlantedSignals) -> None:
    full = source(bars)
    part = source(bars.slice(2 * DAY, 4 * DAY))
    whole = {(int(bars.ts[k]), s) for k, s in zip(full.bar_idx.tolist(), full.side, strict=True)}
    sub_bars = bars.slice(2 * DAY, 4 * DAY)
    sub = {(int(sub_bars.ts[k]), s) for k, s in zip(part.bar_idx.tolist(), part.side, strict=True)}
    # Then the window's signals are the full run's (the window only loses its first feature window and last timeout)
    assert sub <= whole and len(sub) > 0.9 * sum(1 for t, _ in whole if sub_bars.ts[0] <= t <= sub_bars.ts[-1])


def test_records_have_the_replay_shape(bars: BarArrays, source: PlantedSignals) -> None:
    day = bars.slice(0, DAY)
    records = source.records(day, "BTC-PERP")
    real = build_records(day, "BTC-PERP")
    signal = next(r for r in records if r.payload["type"] == "signal")
    assert set(signal.payload) == {p for r in real if r.payload["type"] == "signal" for p in r.payload}
    assert signal.payload["strategy"] == PLANTED_STRATEGY
    assert [r.publish_at for r in records] == sorted(r.publish_at for r in records)
    assert sum(r.payload["type"] == "bar" for r in records) == len(day)
