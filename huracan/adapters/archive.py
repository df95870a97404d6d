"""The S3 bar archive: ``s3://<bucket>/bars/symbol=<SYM>/day=<YYYY-MM-DD>/bars.parquet`` (DESIGN, S3 layout).

Why Parquet partitioned by symbol and day: the prices table keeps bars for ``PRICES_TTL_DAYS`` only, and
the nightly job needs years of history for labels and counterfactuals. One object per (symbol, day) is
small (1,440 one-minute rows), is rewritten whole when a day is compacted again (so a rerun is idempotent:
same rows, same bytes), and any Hive-style reader (pyarrow, Athena) sees ``symbol``/``day`` partitions.

Columns: ``ts`` (timestamp[s, UTC], the bar's open), ``open``/``high``/``low``/``close``/``volume``
(float64), ``bid``/``ask`` (float64, null without quotes). Objects are written with our own
``ChecksumSHA256`` (``ChecksumAlgorithm=SHA256``) so S3 refuses bytes that differ from what we hashed,
and reads ask for the stored checksum and compare it.

pyarrow lives here only: the serving Lambdas (evaluate, resolve) read bars from the prices table and never
import this module.

Several days are written all or nothing (:meth:`BarArchive.put_days`): every object is built and every
prior version read before the first write, and a failed write restores what was there before.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from huracan.adapters.clients import client
from huracan.adapters.errors import PermanentError, translate_errors
from huracan.adapters.object_cache import DecodedCache, Fetched
from huracan.adapters.s3_store import S3Store
from huracan.adapters.settings import AwsSettings
from huracan.core.bars import BarArrays
from huracan.core.timeutil import epoch_s
from huracan.registry.errors import ModelVerificationError

__all__ = ["ArchiveError", "BarArchive", "bars_from_parquet", "bars_to_parquet", "day_key", "split_by_day"]

DAY_SEC = 86_400
#: Where the nightly compaction marks the days it finished (outside ``bars/symbol=``, so no reader sees them).
COMPACTED_PREFIX = "bars/_compacted/"
_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("s", tz="UTC")),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
        ("bid", pa.float64()),
        ("ask", pa.float64()),
    ]
)
_PRICE_COLS = ("open", "high", "low", "close", "volume", "bid", "ask")


class ArchiveError(PermanentError):
    """An archive object is corrupt (checksum mismatch, wrong schema) or a write could not be completed."""


def day_key(symbol: str, day: str) -> str:
    """The object key of one (symbol, day) partition."""
    if not symbol or "/" in symbol or "=" in symbol:
        raise ValueError(f"symbol {symbol!r} cannot be a partition value")
    date.fromisoformat(day)  # raises on a malformed day
    return f"bars/symbol={symbol}/day={day}/bars.parquet"


def _empty() -> BarArrays:
    return BarArrays.from_columns([], [], [], [], [], [])


def bars_to_parquet(bars: BarArrays) -> bytes:
    """Deterministic Parquet bytes (same bars, same bytes), NaN quotes stored as nulls."""
    arrays: list[pa.Array] = [pa.array(bars.ts, type=pa.int64()).cast(pa.timestamp("s", tz="UTC"))]
    for name in _PRICE_COLS:
        col = getattr(bars, name)
        arrays.append(pa.array(col, type=pa.float64(), mask=np.isnan(col) if name in ("bid", "ask") else None))
    table = pa.Table.from_arrays(arrays, schema=_SCHEMA)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_statistics=True)
    return buf.getvalue()


def bars_from_parquet(data: bytes) -> BarArrays:
    """The inverse of :func:`bars_to_parquet`."""
    table = pq.read_table(io.BytesIO(data))
    missing = [n for n in _SCHEMA.names if n not in table.column_names]
    if missing:
        raise ArchiveError(f"archive object lacks column(s) {missing}")
    ts = table.column("ts").cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy()
    cols = {n: table.column(n).cast(pa.float64()).fill_null(np.nan).to_numpy() for n in _PRICE_COLS}
    return BarArrays(ts=np.asarray(ts, dtype=np.int64), **{k: np.asarray(v, dtype=np.float64) for k, v in cols.items()})


def _day_of(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).date().isoformat()


def split_by_day(bars: BarArrays) -> dict[str, BarArrays]:
    """Bars grouped by the UTC day of their open time, in order."""
    if not len(bars):
        return {}
    day_idx = bars.ts // DAY_SEC
    cuts = np.flatnonzero(np.diff(day_idx)) + 1
    bounds = [0, *cuts.tolist(), len(bars)]
    return {_day_of(int(bars.ts[a])): bars.slice(a, b) for a, b in pairwise(bounds)}


def _merge(new: BarArrays, old: BarArrays) -> BarArrays:
    """``new`` wins on a duplicate ts (the fresher source)."""
    if not len(old):
        return new
    if not len(new):
        return old
    names = ("ts", *_PRICE_COLS)
    cols = {n: np.concatenate([getattr(new, n), getattr(old, n)]) for n in names}
    _, first = np.unique(cols["ts"], return_index=True)
    return BarArrays(**{n: v[first] for n, v in cols.items()})


#: Decoded day partitions, shared by every archive in the process (see huracan.adapters.object_cache): each
#: night re-reads its whole training window, and all of it but yesterday is unchanged.
_DAYS: DecodedCache[BarArrays] = DecodedCache(max_entries=512)


def _read_only_bars(data: bytes) -> BarArrays:
    bars = bars_from_parquet(data)
    for name in ("ts", *_PRICE_COLS):
        getattr(bars, name).flags.writeable = False  # kept and shared: no reader may change it in place
    return bars


class BarArchive:
    """Read and write the bar archive in one bucket; the client comes from the environment's endpoint."""

    def __init__(self, bucket: str, settings: AwsSettings | None = None, *, s3: Any = None) -> None:
        if not bucket:
            raise ValueError("the bar archive needs a bucket name")
        self.bucket = bucket
        self._settings = settings or AwsSettings.from_env()
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3", self._settings)
        return self._s3

    @property
    def _objects(self) -> S3Store:
        return S3Store(self.bucket, client=self.s3)

    # ------------------------------------------------------------------ objects
    def _get(self, key: str) -> bytes | None:
        got = self._fetch(key)
        return None if got is None else got[0]

    def _fetch(self, key: str, if_none_match: str | None = None) -> Fetched:
        """The object and its ETag; ``(None, etag)`` when it still has ``if_none_match``; None when absent.

        Read through :class:`~huracan.adapters.s3_store.S3Store`, the one checked GET (stored SHA256 against the
        body); a mismatch is the archive's own permanent error here.
        """
        try:
            return self._objects.fetch(key, if_none_match)
        except ModelVerificationError as exc:
            raise ArchiveError(f"s3://{self.bucket}/{key}: {exc}") from exc

    def _put(self, key: str, data: bytes) -> None:
        self._objects.put(key, data, content_type="application/vnd.apache.parquet")

    def _delete(self, key: str) -> None:
        with translate_errors("s3.DeleteObject"):
            self.s3.delete_object(Bucket=self.bucket, Key=key)

    # ------------------------------------------------------------------ reading
    def read_day(self, symbol: str, day: str) -> BarArrays:
        """One partition's bars (empty when the day was never archived)."""
        key = day_key(symbol, day)
        scope = (self.s3.meta.endpoint_url, self.bucket, key)
        bars = _DAYS.get(scope, lambda etag: self._fetch(key, etag), _read_only_bars)
        return _empty() if bars is None else bars

    def bars_between(self, symbol: str, start_ts: str, end_ts: str) -> BarArrays:
        """Bars with ``start_ts <= ts < end_ts`` across day partitions (same call as the prices table's)."""
        t0, t1 = int(epoch_s(start_ts)), int(epoch_s(end_ts))
        if t1 <= t0:
            return _empty()
        first, last = date.fromisoformat(_day_of(t0)), date.fromisoformat(_day_of(t1 - 1))
        parts = []
        for i in range((last - first).days + 1):
            bars = self.read_day(symbol, (first + timedelta(days=i)).isoformat())
            lo, hi = np.searchsorted(bars.ts, [t0, t1], side="left")
            if hi > lo:
                parts.append(bars.slice(int(lo), int(hi)))
        if not parts:
            return _empty()
        cols = {n: np.concatenate([getattr(p, n) for p in parts]) for n in ("ts", *_PRICE_COLS)}
        return BarArrays(**cols)

    def days(self, symbol: str) -> list[str]:
        """Archived days of ``symbol``, sorted."""
        prefix = f"bars/symbol={symbol}/day="
        out: list[str] = []
        with translate_errors("s3.ListObjectsV2"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    out.append(obj["Key"][len(prefix) :].split("/", 1)[0])
        return sorted(out)

    # ------------------------------------------------------------------ compaction markers
    def compacted_days(self) -> set[str]:
        """Days the nightly compaction has finished (markers ``bars/_compacted/day=<D>.json``; one LIST)."""
        prefix = f"{COMPACTED_PREFIX}day="
        out: set[str] = set()
        with translate_errors("s3.ListObjectsV2"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    out.add(obj["Key"][len(prefix) :].removesuffix(".json"))
        return out

    def mark_compacted(self, day: str, rows: int, at: str) -> None:
        """Record that ``day`` is in the archive (written after its objects, so a marker never lies)."""
        date.fromisoformat(day)
        doc = json.dumps({"day": day, "rows": rows, "compacted_at": at}, sort_keys=True).encode()
        self._objects.put(f"{COMPACTED_PREFIX}day={day}.json", doc, content_type="application/json")

    # ------------------------------------------------------------------ writing
    def put_days(self, symbol: str, bars_by_day: Mapping[str, BarArrays], *, merge: bool = True) -> dict[str, int]:
        """Write several day partitions all or nothing; returns rows per day as written.

        With ``merge`` the incoming bars are merged into what the day already holds (incoming wins on a
        duplicate ts), so compaction and backfill can be rerun or overlap without losing bars.
        """
        staged: dict[str, tuple[bytes, bytes | None, int]] = {}
        for day, bars in sorted(bars_by_day.items()):
            if len(bars) and {_day_of(int(bars.ts[0])), _day_of(int(bars.ts[-1]))} != {day}:
                raise ValueError(f"bars for {day} contain bars of another day")
            key = day_key(symbol, day)
            before = self._get(key)
            merged = _merge(bars, bars_from_parquet(before)) if (merge and before is not None) else bars
            staged[key] = (bars_to_parquet(merged), before, len(merged))
        done: list[str] = []
        try:
            for key, (data, before, _) in staged.items():
                if data != before:
                    self._put(key, data)
                done.append(key)
        except Exception as exc:
            problems = []
            for key in reversed(done):
                _, before, _ = staged[key]
                try:
                    if before is None:
                        self._delete(key)
                    else:
                        self._put(key, before)
                except Exception as undo_exc:  # pragma: no cover - both S3 calls failing
                    problems.append(f"{key}: {undo_exc}")
            if problems:
                raise ArchiveError(
                    f"archive write failed ({exc}) and could not be undone for: {'; '.join(problems)}"
                ) from exc
            raise
        return {key.split("day=", 1)[1].split("/", 1)[0]: rows for key, (_, _, rows) in staged.items()}

    def put_bars(self, symbol: str, bars: BarArrays, *, merge: bool = True) -> dict[str, int]:
        """Split bars by UTC day and write them with :meth:`put_days`."""
        return self.put_days(symbol, split_by_day(bars), merge=merge)
