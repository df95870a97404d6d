"""UTC time helpers: every timestamp in Huracan is UTC ISO-8601 with a trailing ``Z``.

Handlers never read the wall clock (DESIGN §7): time comes from records, timer inputs or scheduler
events, so a replay on a virtual clock runs the same code as AWS does.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["epoch_s", "format_ts", "from_epoch_s", "parse_ts"]


def parse_ts(value: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive values are refused because they hide the zone."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone; use UTC with a trailing Z")
    return dt.astimezone(UTC)


def format_ts(dt: datetime) -> str:
    """Format as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` so strings sort in time order."""
    dt = dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}"
    return text + "Z"


def epoch_s(value: str | datetime) -> float:
    """Seconds since the epoch, for arithmetic on record timestamps."""
    dt = parse_ts(value) if isinstance(value, str) else value
    return dt.timestamp()


def from_epoch_s(seconds: float) -> str:
    """The inverse of :func:`epoch_s`, formatted with :func:`format_ts`."""
    return format_ts(datetime.fromtimestamp(seconds, tz=UTC))
