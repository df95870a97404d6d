"""The primary strategies give the same signals over a history (replay) and on the latest bar (Lambda)."""

from __future__ import annotations

import numpy as np

from huracan.core.bars import BarArrays
from huracan.core.strategies import LOOKBACK, signal_id_for, signals_history, signals_latest


def test_history_and_latest_agree_on_real_data(ftx_month: BarArrays) -> None:
    # Given the first four real days
    bars = ftx_month.slice(0, 4 * 1440)
    hist = signals_history(bars)
    expected: dict[int, set[tuple[str, str, str, float]]] = {}
    for i, s, sd, m, c in zip(hist.bar_idx, hist.strategy, hist.side, hist.mode, hist.confidence, strict=True):
        expected.setdefault(int(i), set()).add((s, sd, m, float(c)))
    # When the Lambda's view (the latest bar only) is computed bar by bar
    for k in range(LOOKBACK, len(bars)):
        latest = signals_latest(bars.slice(0, k + 1))
        got = {
            (s, sd, m, float(c))
            for s, sd, m, c in zip(latest.strategy, latest.side, latest.mode, latest.confidence, strict=True)
        }
        # Then it emits exactly the history's signals for that bar
        assert got == expected.get(k, set()), k
        assert set(latest.bar_idx.tolist()) <= {k}


def test_signals_cover_both_sides_modes_and_strategies(ftx_month: BarArrays) -> None:
    sig = signals_history(ftx_month)
    assert {"long", "short"} <= set(sig.side)
    assert {"scalp", "runner"} <= set(sig.mode)
    assert {"momentum_breakout", "mean_reversion"} <= set(sig.strategy)
    assert np.all((sig.confidence >= 0.5) & (sig.confidence <= 0.95))
    assert np.all(np.diff(sig.bar_idx) >= 0)


def test_signal_ids_are_deterministic_and_valid() -> None:
    a = signal_id_for("mean_reversion", "BTC/USD", 1640995200)
    assert a == signal_id_for("mean_reversion", "BTC/USD", 1640995200)
    assert a == "mean_reversion.BTC_USD.20220101T000000Z"
