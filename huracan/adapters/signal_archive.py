"""The user's signal history in S3: ``s3://<bucket>/signals/symbol=<SYM>/day=<YYYY-MM-DD>/signals.parquet``.

Why it exists: a stack fed by the user's own signals (``StrategiesEnabled=false``) must learn from *those*
signals, and the decisions table only holds what was sent since the stack started. ``huracan backfill
--signals FILE`` loads a history here, partitioned like the bar archive (symbol and day, Hive-style), and
the nightly job's historical source (:class:`ArchivedSignals`) reads the window it trains on and labels
each signal on the archived bars — so the first night can already train.

Columns: the signal contract's fields (``schemas/signal.schema.json``): ``signal_id``, ``ts`` (ISO-8601
UTC), ``symbol``, ``side``, ``mode``, ``confidence``, ``price`` (null: the first price after ``ts``),
``strategy``, ``features`` (JSON object or null). A day is rewritten whole, merged by ``signal_id`` with
what is there (a re-run of the same backfill writes the same bytes).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from huracan.adapters.clients import client
from huracan.adapters.s3_store import S3Store
from huracan.adapters.settings import AwsSettings
from huracan.core.bars import BarArrays
from huracan.core.records import Signal
from huracan.core.strategies import StrategySignals
from huracan.core.timeutil import from_epoch_s

__all__ = ["ArchivedSignals", "SignalArchive", "signals_day_key"]

PREFIX = "signals/"
_SCHEMA = pa.schema(
    [
        ("signal_id", pa.string()),
        ("ts", pa.string()),
        ("symbol", pa.string()),
        ("side", pa.string()),
        ("mode", pa.string()),
        ("confidence", pa.float64()),
        ("price", pa.float64()),
        ("strategy", pa.string()),
        ("features", pa.string()),
    ]
)


def signals_day_key(symbol: str, day: str) -> str:
    return f"{PREFIX}symbol={symbol}/day={day}/signals.parquet"


def _to_parquet(signals: Sequence[Signal]) -> bytes:
    rows = sorted(signals, key=lambda s: (s.ts, s.signal_id))
    table = pa.table(
        {
            "signal_id": [s.signal_id for s in rows],
            "ts": [s.ts for s in rows],
            "symbol": [s.symbol for s in rows],
            "side": [s.side for s in rows],
            "mode": [s.mode for s in rows],
            "confidence": [s.confidence for s in rows],
            "price": [s.price for s in rows],
            "strategy": [s.strategy for s in rows],
            "features": [None if s.features is None else json.dumps(s.features, sort_keys=True) for s in rows],
        },
        schema=_SCHEMA,
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _from_parquet(data: bytes) -> list[Signal]:
    table = pq.read_table(io.BytesIO(data))
    out: list[Signal] = []
    for row in table.to_pylist():
        raw: dict[str, Any] = {k: v for k, v in row.items() if v is not None}
        if "features" in raw:
            raw["features"] = json.loads(raw["features"])
        out.append(Signal.model_validate(raw))  # the one contract, on the way back in too
    return out


class SignalArchive:
    """Read and write the signal history in one bucket."""

    def __init__(self, bucket: str, settings: AwsSettings | None = None, *, s3: Any = None) -> None:
        if not bucket:
            raise ValueError("the signal archive needs a bucket name")
        self.bucket = bucket
        self._settings = settings
        self._s3 = s3

    @property
    def _objects(self) -> S3Store:
        if self._s3 is None:
            self._s3 = client("s3", self._settings or AwsSettings.from_env())
        return S3Store(self.bucket, client=self._s3)

    def read_day(self, symbol: str, day: str) -> list[Signal]:
        got = self._objects.fetch(signals_day_key(symbol, day))
        if got is None or got[0] is None:
            return []
        return _from_parquet(got[0])

    def put(self, signals: Iterable[Signal]) -> dict[str, int]:
        """Write signals by (symbol, day), merged by ``signal_id`` with what is stored; rows per object."""
        by: dict[tuple[str, str], dict[str, Signal]] = {}
        for s in signals:
            by.setdefault((s.symbol, s.ts[:10]), {})[s.signal_id] = s
        written: dict[str, int] = {}
        for (symbol, day), new in sorted(by.items()):
            merged = {s.signal_id: s for s in self.read_day(symbol, day)}
            merged.update(new)
            key = signals_day_key(symbol, day)
            self._objects.put(key, _to_parquet(list(merged.values())), content_type="application/vnd.apache.parquet")
            written[key] = len(merged)
        return written

    def between(self, symbol: str, first_day: str, last_day: str) -> list[Signal]:
        d0, d1 = date.fromisoformat(first_day), date.fromisoformat(last_day)
        out: list[Signal] = []
        for i in range((d1 - d0).days + 1):
            out += self.read_day(symbol, (d0 + timedelta(days=i)).isoformat())
        return out


class ArchivedSignals:
    """The nightly's historical source on a user-fed stack: the archived signals over the bars' span."""

    name = "user_signals"

    def __init__(self, bucket: str, archive: SignalArchive | None = None) -> None:
        self.archive = archive or SignalArchive(bucket)

    def __call__(self, bars: BarArrays, symbol: str = "") -> StrategySignals:
        from huracan.signals.files import FileSignals

        if len(bars) == 0:
            return FileSignals({})(bars, symbol)
        first, last = from_epoch_s(int(bars.ts[0]))[:10], from_epoch_s(int(bars.ts[-1]) + 60)[:10]
        return FileSignals({symbol: self.archive.between(symbol, first, last)})(bars, symbol)
