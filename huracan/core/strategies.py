"""Primary strategies: they propose side, mode and confidence; the meta-label model decides which to take.

They are deliberately simple, documented rules — the engine's job is to learn *which* of their signals to
trust, not to be clever here. Both run vectorized over a history (replay, backfill) and on the latest bar
(``functions/ingest_market``) with the same result, because they are *edge-triggered*: a strategy fires on
the bar where its condition becomes true, not on every bar while it stays true. That needs no state between
invocations, so the Lambda and the replay agree without a shared cooldown table.

- ``momentum_breakout``: bar k's close breaks above the highest high (below the lowest low) of the previous
  ``LOOKBACK`` bars → long (short). Confidence grows with the breakout size relative to the recent range;
  strong breakouts are ``runner`` trades, the rest ``scalp``.
- ``mean_reversion``: close is more than ``Z_ENTRY`` standard deviations from its ``LOOKBACK``-bar mean →
  fade it (short above, long below), always ``scalp``; confidence grows with |z|.

A signal emitted when bar k closes has ``ts = ts[k] + bar_sec`` and ``price = close[k]`` (see bars.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from huracan.core.bars import BarArrays, FloatArray, IntArray
from huracan.core.timeutil import from_epoch_s

__all__ = ["LOOKBACK", "STRATEGIES", "StrategySignals", "signal_id_for", "signals_history", "signals_latest"]

LOOKBACK = 30
Z_ENTRY = 2.5
RUNNER_STRENGTH = 0.15
STRATEGIES = ("momentum_breakout", "mean_reversion")


@dataclass(frozen=True, slots=True)
class StrategySignals:
    """Signals as columns: ``bar_idx`` is the bar whose close triggered each signal."""

    bar_idx: IntArray
    strategy: tuple[str, ...]
    side: tuple[str, ...]
    mode: tuple[str, ...]
    confidence: FloatArray
    #: a user's signals carry their own identity, time and price (``huracan.signals``); None: derived from
    #: the bar, as the built-in strategies do (``ts[k] + bar_sec``, ``close[k]``, :func:`signal_id_for`)
    signal_id: tuple[str, ...] | None = None
    ts: tuple[str, ...] | None = None
    price: FloatArray | None = None
    features: tuple[dict[str, float] | None, ...] | None = None

    def __len__(self) -> int:
        return len(self.bar_idx)


def signal_id_for(strategy: str, symbol: str, signal_ts: int) -> str:
    """A deterministic id, so a replayed or re-fetched bar never yields a second, different signal."""
    stamp = from_epoch_s(signal_ts).replace("-", "").replace(":", "")
    safe_symbol = "".join(c if c.isalnum() or c in "._-" else "_" for c in symbol)
    return f"{strategy}.{safe_symbol}.{stamp}"


def _conditions(bars: BarArrays) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per bar k (k >= LOOKBACK): breakout strength (signed), z-score, and range in bps; NaN before."""
    n = len(bars)
    up = np.full(n, np.nan)
    z = np.full(n, np.nan)
    rng = np.full(n, np.nan)
    if n <= LOOKBACK:
        return up, z, rng
    hi = sliding_window_view(bars.high, LOOKBACK)[:-1].max(axis=1)
    lo = sliding_window_view(bars.low, LOOKBACK)[:-1].min(axis=1)
    closes = sliding_window_view(bars.close, LOOKBACK)[:-1]
    mean = closes.mean(axis=1)
    std = closes.std(axis=1)
    c = bars.close[LOOKBACK:]
    width = np.maximum(hi - lo, 1e-12)
    strength = np.where(c > hi, (c - hi) / width, np.where(c < lo, (c - lo) / width, 0.0))
    up[LOOKBACK:] = strength
    with np.errstate(divide="ignore", invalid="ignore"):
        z[LOOKBACK:] = np.where(std > 0, (c - mean) / std, 0.0)
    rng[LOOKBACK:] = width / c * 1e4
    return up, z, rng


def _fire(cond: np.ndarray) -> np.ndarray:
    """Edge trigger: true where the condition holds now and did not hold on the previous bar."""
    prev = np.concatenate(([False], cond[:-1]))
    return cond & ~prev


def _signals_from(up: FloatArray, z: FloatArray, first: int) -> StrategySignals:
    valid = np.isfinite(up)
    long_b = valid & (up > 0)
    short_b = valid & (up < 0)
    long_r = valid & (z < -Z_ENTRY)
    short_r = valid & (z > Z_ENTRY)
    rows: list[tuple[int, str, str, str, float]] = []
    for idx in np.flatnonzero(_fire(long_b) | _fire(short_b)):
        if idx < first:
            continue
        s = float(up[idx])
        conf = float(np.clip(0.55 + 0.4 * np.tanh(abs(s) * 4.0), 0.5, 0.95))
        mode = "runner" if abs(s) >= RUNNER_STRENGTH else "scalp"
        rows.append((int(idx), "momentum_breakout", "long" if s > 0 else "short", mode, round(conf, 4)))
    for idx in np.flatnonzero(_fire(long_r) | _fire(short_r)):
        if idx < first:
            continue
        zz = float(z[idx])
        conf = float(np.clip(0.5 + 0.15 * (abs(zz) - Z_ENTRY + 0.5), 0.5, 0.95))
        rows.append((int(idx), "mean_reversion", "short" if zz > 0 else "long", "scalp", round(conf, 4)))
    rows.sort(key=lambda r: (r[0], r[1]))
    return StrategySignals(
        bar_idx=np.array([r[0] for r in rows], dtype=np.int64),
        strategy=tuple(r[1] for r in rows),
        side=tuple(r[2] for r in rows),
        mode=tuple(r[3] for r in rows),
        confidence=np.array([r[4] for r in rows], dtype=np.float64),
    )


def signals_history(bars: BarArrays) -> StrategySignals:
    """Every signal the strategies emit over a history, in time order."""
    up, z, _ = _conditions(bars)
    return _signals_from(up, z, first=0)


def signals_latest(bars: BarArrays) -> StrategySignals:
    """Signals triggered by the LAST bar only, from the last ``LOOKBACK + 2`` bars (the Lambda's view)."""
    window = bars.slice(max(0, len(bars) - (LOOKBACK + 2)), len(bars))
    up, z, _ = _conditions(window)
    out = _signals_from(up, z, first=len(window) - 1)
    offset = len(bars) - len(window)
    return StrategySignals(out.bar_idx + offset, out.strategy, out.side, out.mode, out.confidence)
