"""The replay driver: bars from a file → primary-strategy signals → ``PutRecords`` in time order.

A bar is published when it closes (``ts + bar_sec``), followed by the signals its close triggered, so the
stream carries what a live feed would have carried at that moment and nothing from the future.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from huracan.core.bars import BarArrays
from huracan.core.strategies import StrategySignals, signal_id_for, signals_history
from huracan.core.timeutil import epoch_s, from_epoch_s

__all__ = [
    "BAR_SEC",
    "StreamRecord",
    "build_records",
    "chunk_by_time",
    "merge_records",
    "put_records",
    "signal_payload",
]

BAR_SEC = 60
_PUT_LIMIT = 500  # Kinesis PutRecords accepts at most 500 records per call


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record with the virtual time at which it is published."""

    publish_at: int
    partition_key: str
    payload: dict[str, Any]

    def data(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()


def _bar_payload(bars: BarArrays, i: int, symbol: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "bar",
        "symbol": symbol,
        "ts": from_epoch_s(int(bars.ts[i])),
        "open": float(bars.open[i]),
        "high": float(bars.high[i]),
        "low": float(bars.low[i]),
        "close": float(bars.close[i]),
        "volume": float(bars.volume[i]),
    }
    if math.isfinite(bars.bid[i]) and math.isfinite(bars.ask[i]):
        payload["bid"] = float(bars.bid[i])
        payload["ask"] = float(bars.ask[i])
    return payload


def signal_payload(
    sig: StrategySignals, j: int, bars: BarArrays, symbol: str, bar_sec: int = BAR_SEC
) -> dict[str, Any]:
    """Signal ``j`` as a stream record: its own id, time, price and features when it has them (a user's)."""
    k = int(sig.bar_idx[j])
    at = int(bars.ts[k]) + bar_sec
    payload: dict[str, Any] = {
        "type": "signal",
        "signal_id": sig.signal_id[j] if sig.signal_id is not None else signal_id_for(sig.strategy[j], symbol, at),
        "symbol": symbol,
        "ts": sig.ts[j] if sig.ts is not None else from_epoch_s(at),
        "side": sig.side[j],
        "mode": sig.mode[j],
        "confidence": float(sig.confidence[j]),
        "price": float(sig.price[j]) if sig.price is not None else float(bars.close[k]),
        "strategy": sig.strategy[j],
    }
    if sig.features is not None and sig.features[j]:
        payload["features"] = sig.features[j]
    return payload


def build_records(
    bars: BarArrays, symbol: str, signals: StrategySignals | None = None, bar_sec: int = BAR_SEC
) -> list[StreamRecord]:
    """Every bar and signal of a history as stream records, in publish order.

    A bar is published at its close; a signal at its ``ts`` (rounded up to the second), after the bars
    that closed by then, so nothing on the stream is from the future.
    """
    sig = signals_history(bars) if signals is None else signals
    out: list[StreamRecord] = [
        StreamRecord(int(bars.ts[i]) + bar_sec, symbol, _bar_payload(bars, i, symbol)) for i in range(len(bars))
    ]
    if len(sig) == 0:
        return out
    sigs = [
        StreamRecord(
            math.ceil(epoch_s(p["ts"])) if sig.ts is not None else int(bars.ts[int(sig.bar_idx[j])]) + bar_sec,
            symbol,
            p,
        )
        for j in range(len(sig))
        for p in (signal_payload(sig, j, bars, symbol, bar_sec),)
    ]
    return merge_records([out, sigs])


def merge_records(streams: Sequence[Sequence[StreamRecord]]) -> list[StreamRecord]:
    """Records of several symbols (or bars and signals) interleaved in publish order; bars first on a tie.

    Stable, so each input's own order is kept: a symbol's records stay in order on its partition key.
    """
    tagged = [
        (r.publish_at, 0 if r.payload.get("type") == "bar" else 1, n, i, r)
        for n, stream in enumerate(streams)
        for i, r in enumerate(stream)
    ]
    tagged.sort(key=lambda t: t[:4])
    return [t[4] for t in tagged]


def chunk_by_time(records: Sequence[StreamRecord], seconds: int) -> Iterator[tuple[int, list[StreamRecord]]]:
    """Group records into windows of virtual time; yields (window end, records) in order."""
    if not records:
        return
    start = records[0].publish_at
    end = start - start % seconds + seconds
    chunk: list[StreamRecord] = []
    for r in records:
        while r.publish_at > end:
            if chunk:
                yield end, chunk
                chunk = []
            end += seconds
        chunk.append(r)
    if chunk:
        yield end, chunk


def put_records(kinesis: Any, stream_name: str, records: Sequence[StreamRecord]) -> int:
    """``PutRecords`` in calls of up to 500, re-sending only the entries Kinesis reports as failed."""
    sent = 0
    for i in range(0, len(records), _PUT_LIMIT):
        batch = [{"Data": r.data(), "PartitionKey": r.partition_key} for r in records[i : i + _PUT_LIMIT]]
        while batch:
            resp = kinesis.put_records(StreamName=stream_name, Records=batch)
            if not resp.get("FailedRecordCount"):
                sent += len(batch)
                break
            retry = [b for b, e in zip(batch, resp["Records"], strict=True) if "ErrorCode" in e]
            sent += len(batch) - len(retry)
            batch = retry
    return sent
