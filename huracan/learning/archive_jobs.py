"""Filling the S3 bar archive: ``huracan backfill`` from a file, and the nightly compaction of the prices table.

The prices table holds bars for ``PRICES_TTL_DAYS``; the archive keeps them for good, one Parquet object per
(symbol, day) (:mod:`huracan.adapters.archive`). Both jobs merge into existing days (incoming bars win on
a duplicate ts), so running them twice, or over overlapping ranges, leaves the archive as one run would.

Failure behaviour: a file is validated completely before anything is written (``load_minute_bars`` names the
file, line and column of the first bad row) and the days are written all or nothing, so a bad file or a
failed upload leaves the archive as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from huracan.adapters.archive import BarArchive
from huracan.adapters.settings import AwsSettings
from huracan.core.bars import BarArrays
from huracan.core.timeutil import parse_ts
from huracan.data import load_minute_bars
from huracan.service.counterfactuals import BarSource

__all__ = [
    "ArchiveCatchUp",
    "ArchiveWrite",
    "backfill",
    "backlog_age_days",
    "compact_day",
    "compact_pending",
    "compact_yesterday",
    "first_run",
    "pending_days",
    "yesterday",
]


@dataclass(frozen=True)
class ArchiveWrite:
    """What a job wrote: rows per (symbol, day) after merging, and the bars it read."""

    bucket: str
    rows_read: int
    days: dict[str, dict[str, int]] = field(default_factory=dict)  # symbol -> day -> rows in the object

    @property
    def objects(self) -> int:
        return sum(len(d) for d in self.days.values())


def backfill(
    path: str | Path,
    symbol: str,
    bucket: str,
    *,
    quotes: str | Path | None = None,
    archive: BarArchive | None = None,
    settings: AwsSettings | None = None,
) -> ArchiveWrite:
    """Load a 1-minute OHLCV CSV / gzip CSV / Parquet file (``huracan.data.load_minute_bars``) into the archive.

    Raises ``huracan.data.DataFileError`` (file, line, column) before anything is written when the file is
    bad. For the CLI: ``huracan backfill --data FILE --symbol S [--bucket B]``.
    """
    bars = load_minute_bars(path, quotes=quotes)
    arch = archive or BarArchive(bucket, settings)
    written = arch.put_bars(symbol, bars)
    return ArchiveWrite(bucket=arch.bucket, rows_read=len(bars), days={symbol: written})


def compact_day(
    day: str,
    symbols: Sequence[str],
    bucket: str,
    *,
    prices: BarSource,
    archive: BarArchive | None = None,
    settings: AwsSettings | None = None,
) -> ArchiveWrite:
    """Copy one UTC day of the prices table (``prices``, a ``Repository``) into the archive, per symbol.

    Symbols come from the caller (the ingest settings' ``INGEST_SYMBOLS``): the prices table has no index
    over its symbols and a full scan would read every bar of the TTL window. A symbol without bars that
    day writes nothing.
    """
    start = date.fromisoformat(day)
    lo, hi = f"{start.isoformat()}T00:00:00Z", f"{(start + timedelta(days=1)).isoformat()}T00:00:00Z"
    arch = archive or BarArchive(bucket, settings)
    by_symbol: dict[str, BarArrays] = {s: prices.bars_between(s, lo, hi) for s in symbols}
    rows = sum(len(b) for b in by_symbol.values())
    days: dict[str, dict[str, int]] = {}
    for symbol, bars in by_symbol.items():
        if len(bars):
            days[symbol] = arch.put_days(symbol, {day: bars})
    return ArchiveWrite(bucket=arch.bucket, rows_read=rows, days=days)


def yesterday(now_ts: str) -> str:
    """The UTC day before ``now_ts`` (the scheduler's event time; never the wall clock)."""
    return (parse_ts(now_ts).date() - timedelta(days=1)).isoformat()


def compact_yesterday(
    now_ts: str,
    symbols: Sequence[str],
    bucket: str,
    *,
    prices: BarSource,
    archive: BarArchive | None = None,
    settings: AwsSettings | None = None,
) -> ArchiveWrite:
    """The nightly step: :func:`compact_day` for the day before ``now_ts``."""
    return compact_day(yesterday(now_ts), symbols, bucket, prices=prices, archive=archive, settings=settings)


@dataclass(frozen=True)
class ArchiveCatchUp:
    """What the nightly archived: every finished day within the prices retention not compacted yet, oldest
    first (day -> rows read)."""

    compacted: dict[str, int] = field(default_factory=dict)
    writes: tuple[ArchiveWrite, ...] = ()

    @property
    def rows_read(self) -> int:
        return sum(self.compacted.values())


def pending_days(now_ts: str, archive: BarArchive, *, retention_days: int = 35) -> list[str]:
    """Finished days still in the prices table (within ``retention_days``) with no compaction marker, oldest
    first. Why not just yesterday: when nights are missed (a failed task, a paused schedule), yesterday-only
    left the days in between to the table's TTL, which deleted them unarchived and silently."""
    last = date.fromisoformat(yesterday(now_ts))
    first = last - timedelta(days=retention_days - 1)
    done = archive.compacted_days()
    days = ((first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1))
    return [d for d in days if d not in done]


def first_run(archive: BarArchive) -> bool:
    """No day was ever marked: a new stack (or one from before the markers), whose backlog means nothing yet."""
    return not archive.compacted_days()


def backlog_age_days(now_ts: str, pending: Sequence[str]) -> int:
    """How many days old the oldest unarchived day is at ``now_ts`` (0 when none): what the alarm watches,
    since that day's bars expire from the table at the retention."""
    if not pending:
        return 0
    return (parse_ts(now_ts).date() - date.fromisoformat(min(pending))).days


def compact_pending(
    now_ts: str,
    symbols: Sequence[str],
    bucket: str,
    *,
    prices: BarSource,
    archive: BarArchive,
    days: Sequence[str],
) -> ArchiveCatchUp:
    """Compact each of ``days`` (from :func:`pending_days`), then mark it; a failure stops the run with the days
    done so far marked, so the next night resumes where this one stopped."""
    compacted: dict[str, int] = {}
    writes: list[ArchiveWrite] = []
    for day in days:
        written = compact_day(day, symbols, bucket, prices=prices, archive=archive)
        archive.mark_compacted(day, written.rows_read, now_ts)
        compacted[day] = written.rows_read
        writes.append(written)
    return ArchiveCatchUp(compacted, tuple(writes))
