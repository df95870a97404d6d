"""What the evaluate step refuses about a record *after* it parsed: bad times, unstorable bars, conflicting ids.

Each check parks the one record it is about, with its reason, and nothing else (issue 17):

* **time** (:func:`time_refusal`): a record stamped more than ``max_future_skew_s`` after it reached the stream
  (``approximateArrivalTimestamp``, the stream's own clock, never the function's), or older than the prices
  retention (its bar would expire on arrival, its signal could never be resolved), is refused. Without an arrival
  time (a hand-made event) nothing is refused on time.
* **storage** (:func:`write_bars_isolating`): when the batch write of bars is refused for good (a number
  DynamoDB cannot hold, say), the bars are written again one by one, so only the bars that cannot be stored are
  parked; the others are stored and not reported as failed. A throttle on the way stops and reports the bars
  not yet written for retry. Only the failure path pays the per-bar writes.
* **conflict** (:func:`signal_conflict`): a ``signal_id`` already decided with *different* content is not a
  redelivery; it is parked as a conflict so the stored decision stays and the clash is visible. A true
  redelivery (same content) stays a no-op.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from huracan.adapters.errors import TransientError
from huracan.core.records import Bar, Signal

__all__ = [
    "CONFLICT_FIELDS",
    "DEFAULT_MAX_FUTURE_SKEW_S",
    "arrival_epoch",
    "signal_conflict",
    "time_refusal",
    "write_bars_isolating",
]

#: How far after its arrival on the stream a record may be stamped (clock differences between producers).
DEFAULT_MAX_FUTURE_SKEW_S = 300
#: What makes two signals with one ``signal_id`` the same signal (what a decision stores about it).
CONFLICT_FIELDS = ("symbol", "ts", "side", "mode", "strategy", "price", "confidence")


def arrival_epoch(raw: Mapping[str, Any]) -> float | None:
    """The record's ``approximateArrivalTimestamp`` (epoch s) from a Kinesis event record, if it has one."""
    value = (raw.get("kinesis") or {}).get("approximateArrivalTimestamp")
    if not isinstance(value, int | float | str):
        return None
    try:
        t = float(value)
    except (TypeError, ValueError):
        return None
    return t if math.isfinite(t) and t > 0 else None


def time_refusal(
    record_epoch: float, arrival: float | None, *, max_future_skew_s: float, max_age_s: float
) -> str | None:
    """The reason to refuse a record stamped ``record_epoch`` that arrived at ``arrival``; None to accept."""
    if arrival is None:
        return None
    ahead = record_epoch - arrival
    if ahead > max_future_skew_s:
        return (
            f"ts: {ahead:.0f} s after the record reached the stream; at most {max_future_skew_s:.0f} s of clock "
            "skew is accepted"
        )
    age = arrival - record_epoch
    if age > max_age_s:
        return (
            f"ts: {age / 86_400:.1f} days before the record reached the stream, older than the prices retention "
            f"({max_age_s / 86_400:.0f} days)"
        )
    return None


def write_bars_isolating(
    put_bars: Callable[[Sequence[Bar], int | None], None], bars: Sequence[Bar], expires_at: int | None
) -> tuple[dict[int, Exception], dict[int, Exception]]:
    """Write ``bars`` together; if that is refused for good, one by one. Returns (refused, to_retry) by index.

    ``refused`` bars cannot be stored (park each with its error); ``to_retry`` bars met a transient failure
    (report them as batch item failures). A :class:`TransientError` on the batch write is returned for all.
    """
    try:
        put_bars(bars, expires_at)
        return {}, {}
    except TransientError as exc:
        return {}, dict.fromkeys(range(len(bars)), exc)
    except Exception:  # refused for good: find out which bars, writing each alone
        pass
    refused: dict[int, Exception] = {}
    retry: dict[int, Exception] = {}
    for i, bar in enumerate(bars):
        if retry:  # throttled: leave the rest for the retry rather than hammer the table
            retry[i] = next(iter(retry.values()))
            continue
        try:
            put_bars([bar], expires_at)
        except TransientError as exc:
            retry[i] = exc
        except Exception as exc:
            refused[i] = exc
    return refused, retry


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return bool(a == b)


def signal_conflict(signal: Signal, stored: Any) -> str | None:
    """Why ``signal`` is not a redelivery of the stored decision (fields that differ), or None if it is."""
    diffs = [
        f"{name} {getattr(stored, name)!r} != {getattr(signal, name)!r}"
        for name in CONFLICT_FIELDS
        if not _same(getattr(stored, name, None), getattr(signal, name))
    ]
    if not diffs:
        return None
    return f"signal_id conflict: {signal.signal_id!r} was already decided with different content ({'; '.join(diffs)})"
