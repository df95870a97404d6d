"""Market ingest: the last closed 1-minute bar per symbol onto the stream, plus the signals it triggers.

Runs every minute from EventBridge; the event's ``time`` says which minute just closed (no wall clock).
It fetches a short window of closed bars so the primary strategies (the same code the replay uses) can
decide whether the last bar triggers a signal. Only the last closed bar and its signals are published:
every record has a deterministic identity (``symbol``+``ts`` for a bar, ``signal_id`` for a signal), so a
retried invocation re-publishes the same records, which the evaluator deduplicates; nothing is doubled.
A bar the exchange does not return is reported as a gap, never invented.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from huracan.core.bars import BarArrays
from huracan.core.strategies import LOOKBACK, signal_id_for, signals_latest
from huracan.core.timeutil import epoch_s, from_epoch_s

__all__ = ["IngestResult", "ingest_minute"]

log = logging.getLogger(__name__)
BAR_SEC = 60


class KlineSource(Protocol):
    def fetch(self, symbol: str, end_time_s: int, limit: int) -> Sequence[Any]: ...


class Publisher(Protocol):
    def put(self, records: Sequence[dict[str, Any]]) -> int: ...


@dataclass
class IngestResult:
    """What one invocation did, per symbol; gaps name the missing bar times."""

    published: int = 0
    bars: int = 0
    signals: int = 0
    gaps: dict[str, list[str]] = field(default_factory=dict)


def ingest_minute(
    event_time: str,
    symbols: Sequence[str],
    source: KlineSource,
    publisher: Publisher,
    strategies_enabled: bool = True,
) -> IngestResult:
    """Publish the bar that closed at ``event_time`` (floored to the minute) for every symbol."""
    now = int(epoch_s(event_time)) // BAR_SEC * BAR_SEC
    last_open = now - BAR_SEC
    result = IngestResult()
    records: list[dict[str, Any]] = []
    for symbol in symbols:
        klines = list(source.fetch(symbol, now, LOOKBACK + 2))
        expected = [last_open - BAR_SEC * k for k in range(LOOKBACK + 1, -1, -1)]
        have = {k.open_time for k in klines}
        missing = [from_epoch_s(t) for t in expected if t not in have]
        if missing:
            result.gaps[symbol] = missing
            log.warning("gap in %s klines: %d missing bars, last %s", symbol, len(missing), missing[-1])
        if last_open not in have:
            continue  # the bar that just closed is not there: report, publish nothing for this symbol
        k_last = next(k for k in klines if k.open_time == last_open)
        records.append(
            {
                "type": "bar",
                "symbol": symbol,
                "ts": from_epoch_s(last_open),
                "open": k_last.open,
                "high": k_last.high,
                "low": k_last.low,
                "close": k_last.close,
                "volume": k_last.volume,
            }
        )
        result.bars += 1
        contiguous = [k for k in klines if k.open_time in set(expected)]
        if not strategies_enabled or missing or len(contiguous) < LOOKBACK + 2:
            continue  # strategies need an unbroken window; a gap would fake a breakout
        bars = BarArrays.from_columns(
            np.array([k.open_time for k in contiguous]),
            [k.open for k in contiguous],
            [k.high for k in contiguous],
            [k.low for k in contiguous],
            [k.close for k in contiguous],
            [k.volume for k in contiguous],
        )
        sig = signals_latest(bars)
        for j in range(len(sig)):
            records.append(
                {
                    "type": "signal",
                    "signal_id": signal_id_for(sig.strategy[j], symbol, now),
                    "symbol": symbol,
                    "ts": from_epoch_s(now),
                    "side": sig.side[j],
                    "mode": sig.mode[j],
                    "confidence": float(sig.confidence[j]),
                    "price": k_last.close,
                    "strategy": sig.strategy[j],
                }
            )
            result.signals += 1
    if records:
        result.published = publisher.put(records)
    return result
