"""Settled days of decisions kept in S3, so the nightly job reads each day from the decisions table once.

Why: every night the job trains on the last 30 days, so without a copy it re-reads about 30 days of
decisions — every item, every column — from DynamoDB each night, though all but the last two days can no
longer change. On the month's replay that re-reading was the largest part of the nightly job.

When a copy may be used. A day is *settled* once it ended at least ``settle_days`` before the run's day
and every decision in it has its counterfactual outcome. Outcomes are written once (a conditional write),
and ``used_in_training`` marks are not read back by the dataset, so from then on the only way a settled
day changes is a decision arriving late (a backfill through ``huracan replay --stack``). So before a copy
is trusted, the day's decisions are counted on the same index (``Select=COUNT``: nothing is transferred or
parsed); a different count means the copy is rewritten from the table. A day with an unlabelled decision
is never copied and is read from the table until it is complete.

Layout: ``s3://<bucket>/datasets/decisions/day=<YYYY-MM-DD>/decisions.json.gz`` (gzip with a fixed mtime,
so the same day gives the same bytes), stored with its SHA256 checksum like every other object.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, Protocol, runtime_checkable

from huracan.adapters.object_cache import DecodedCache, Fetched
from huracan.registry.errors import BlobNotFoundError
from huracan.service.entities import DecisionOutcome, DecisionRecord

__all__ = ["DECISIONS_PREFIX", "CountedDecisionSource", "SettledDecisionDays", "decode_day", "encode_day"]

log = logging.getLogger(__name__)

DECISIONS_PREFIX = "datasets/decisions"
_FORMAT = 1

Row = tuple[DecisionRecord, DecisionOutcome | None]


class CountedDecisionSource(Protocol):
    """The decisions table as this cache needs it (``huracan.adapters.repository.Repository``)."""

    def decisions_with_outcomes_on_day(self, day: str, *, only_unresolved: bool = False) -> Iterator[Row]: ...
    def count_decisions_on_day(self, day: str) -> int: ...


class _Blobs(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...


@runtime_checkable
class _ConditionalBlobs(Protocol):
    """A store that can answer "not modified" (:class:`~huracan.adapters.s3_store.S3Store`)."""

    location: str

    def fetch(self, key: str, if_none_match: str | None = None) -> Fetched: ...


#: Decoded copies shared by every reader in the process (see huracan.adapters.object_cache): the nightly job
#: and the daily summary read the same settled days night after night.
_DECODED: DecodedCache[tuple[str, int, list[Row]]] = DecodedCache(max_entries=512)


def encode_day(day: str, rows: list[Row]) -> bytes:
    """The day's decisions and outcomes as deterministic gzip'd JSON."""
    doc = {
        "format": _FORMAT,
        "day": day,
        "count": len(rows),
        "rows": [{"record": asdict(rec), "outcome": None if out is None else asdict(out)} for rec, out in rows],
    }
    return gzip.compress(json.dumps(doc, sort_keys=True).encode("utf-8"), mtime=0)


def decode_day(data: bytes) -> tuple[str, int, list[Row]]:
    """Inverse of :func:`encode_day`; a document of another format raises ``ValueError``."""
    doc: dict[str, Any] = json.loads(gzip.decompress(data))
    if doc.get("format") != _FORMAT:
        raise ValueError(f"unknown decisions-day format {doc.get('format')!r}")
    rows: list[Row] = []
    for row in doc["rows"]:
        rec = dict(row["record"])
        rec["blocked_by"] = tuple(rec["blocked_by"])
        out = row["outcome"]
        rows.append((DecisionRecord(**rec), None if out is None else DecisionOutcome(**out)))
    return str(doc["day"]), int(doc["count"]), rows


class SettledDecisionDays:
    """A :class:`~huracan.learning.collect.DecisionSource` that reads settled days from their S3 copy.

    ``today`` is the run's UTC day (from the event time, never the wall clock). Counters say what each
    night did (``hits``, ``misses``, ``written``, ``stale``) for the session report.
    """

    def __init__(self, source: CountedDecisionSource, blobs: _Blobs, *, today: str, settle_days: int = 2) -> None:
        if settle_days < 1:
            raise ValueError(f"settle_days must be >= 1, got {settle_days}")
        self.source = source
        self.blobs = blobs
        self.cutoff = (date.fromisoformat(today) - timedelta(days=settle_days)).isoformat()
        self.hits = self.misses = self.written = self.stale = 0

    @staticmethod
    def key(day: str) -> str:
        return f"day={day}/decisions.json.gz"

    def counters(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "written": self.written, "stale": self.stale}

    def decisions_with_outcomes_on_day(self, day: str, *, only_unresolved: bool = False) -> Iterator[Row]:
        if only_unresolved:  # the labelling pass wants the table's current state
            return self.source.decisions_with_outcomes_on_day(day, only_unresolved=True)
        if day > self.cutoff:
            return iter(list(self.source.decisions_with_outcomes_on_day(day)))
        cached = self._read(day)
        if cached is not None:
            self.hits += 1
            return iter(cached)
        self.misses += 1
        rows = list(self.source.decisions_with_outcomes_on_day(day))
        if all(out is not None for _, out in rows):
            self.blobs.put(self.key(day), encode_day(day, rows))
            self.written += 1
        return iter(rows)

    def _decoded(self, day: str) -> tuple[str, int, list[Row]] | None:
        key = self.key(day)
        blobs = self.blobs
        if isinstance(blobs, _ConditionalBlobs):
            return _DECODED.get((blobs.location, key), lambda etag: blobs.fetch(key, etag), decode_day)
        try:
            return decode_day(blobs.get(key))
        except BlobNotFoundError:
            return None

    def _read(self, day: str) -> list[Row] | None:
        try:
            decoded = self._decoded(day)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            log.warning("decisions copy of %s unreadable (%s): reading the table", day, exc)
            return None
        if decoded is None:
            return None
        stored_day, count, rows = decoded
        if stored_day != day or count != len(rows) or count != self.source.count_decisions_on_day(day):
            self.stale += 1
            log.info("decisions copy of %s is stale (a late decision?): reading the table", day)
            return None
        return rows
