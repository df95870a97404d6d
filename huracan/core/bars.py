"""Bars as columns of numpy arrays: the shape every vectorized computation in the core works on.

Conventions used everywhere (features, labels, resolver, replay):
- ``ts[i]`` is bar i's OPEN time in epoch seconds (int64); the bar covers ``[ts[i], ts[i] + bar_sec)``.
- A signal emitted when bar k closes carries ``ts = ts[k] + bar_sec`` and ``price = close[k]``.
- Its features use bars with ``ts < signal.ts`` only (bars 0..k); its outcome path is the bars with
  ``signal.ts <= ts < signal.ts + timeout`` (bars k+1..). So no feature can see the outcome window.
- ``bid``/``ask`` are NaN where the source has no quotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from huracan.core.timeutil import epoch_s

__all__ = ["BarArrays", "BarLike", "FloatArray", "IntArray", "entry_time"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def entry_time(signal_ts: float, bar_sec: int = 60) -> int:
    """When a signal stamped ``signal_ts`` enters: the first bar boundary at or after it (the next bar's open).

    A built-in signal is stamped at a bar's close, so it enters at once; a user's signal known at 12:00:30
    enters at 12:01:00, the first price after it that a bar records. Shadow trades, counterfactual labels
    and historical labels all enter here, so the same signal gets the same outcome on every path.
    """
    return -(-int(np.ceil(signal_ts)) // bar_sec) * bar_sec


class BarLike(Protocol):
    """Anything shaped like a bar record: a stream ``Bar``, a prices-table item."""

    @property
    def ts(self) -> str: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...
    @property
    def bid(self) -> float | None: ...
    @property
    def ask(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class BarArrays:
    """Columns of a bar history for one symbol, sorted by ``ts`` with no duplicates."""

    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    bid: FloatArray
    ask: FloatArray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("open", "high", "low", "close", "volume", "bid", "ask"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} rows, ts has {n}")
        if n > 1 and not bool(np.all(np.diff(self.ts) > 0)):
            raise ValueError("bars must be sorted by ts with no duplicate timestamps")

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def has_quotes(self) -> bool:
        return bool(np.isfinite(self.bid).any())

    def slice(self, start: int, stop: int) -> BarArrays:
        """Rows ``start:stop`` (views, no copy)."""
        return BarArrays(
            ts=self.ts[start:stop],
            open=self.open[start:stop],
            high=self.high[start:stop],
            low=self.low[start:stop],
            close=self.close[start:stop],
            volume=self.volume[start:stop],
            bid=self.bid[start:stop],
            ask=self.ask[start:stop],
        )

    @staticmethod
    def from_records(rows: Sequence[BarLike]) -> BarArrays:
        """Columns from bar records (ISO ``ts``; a missing quote becomes NaN); rows must already be in order."""
        nan = float("nan")
        return BarArrays.from_columns(
            ts=[int(epoch_s(r.ts)) for r in rows],
            open=[r.open for r in rows],
            high=[r.high for r in rows],
            low=[r.low for r in rows],
            close=[r.close for r in rows],
            volume=[r.volume for r in rows],
            bid=[nan if r.bid is None else r.bid for r in rows],
            ask=[nan if r.ask is None else r.ask for r in rows],
        )

    @staticmethod
    def from_columns(
        ts: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
        bid: npt.ArrayLike | None = None,
        ask: npt.ArrayLike | None = None,
    ) -> BarArrays:
        """Build from any array-likes; missing quotes become NaN columns."""
        ts_a = np.asarray(ts, dtype=np.int64)
        nan = np.full(len(ts_a), np.nan)
        return BarArrays(
            ts=ts_a,
            open=np.asarray(open, dtype=np.float64),
            high=np.asarray(high, dtype=np.float64),
            low=np.asarray(low, dtype=np.float64),
            close=np.asarray(close, dtype=np.float64),
            volume=np.asarray(volume, dtype=np.float64),
            bid=nan.copy() if bid is None else np.asarray(bid, dtype=np.float64),
            ask=nan.copy() if ask is None else np.asarray(ask, dtype=np.float64),
        )
