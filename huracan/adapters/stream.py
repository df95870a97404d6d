"""Publishing records to the market stream (``PutRecords``), re-sending only the entries that failed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from huracan.adapters.clients import client
from huracan.adapters.errors import TransientError, translate_errors
from huracan.adapters.settings import AwsSettings

__all__ = ["MarketStream"]

_PUT_LIMIT = 500


class MarketStream:
    """The Kinesis stream; the partition key is the symbol, so one symbol's records stay in order."""

    def __init__(self, stream_name: str, settings: AwsSettings, max_attempts: int = 4) -> None:
        self.stream_name = stream_name
        self.kinesis = client("kinesis", settings)
        self.max_attempts = max_attempts
        self.calls = 0

    def put(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Publish JSON records in order; raises :class:`TransientError` if some still fail after retries."""
        sent = 0
        for i in range(0, len(records), _PUT_LIMIT):
            batch = [
                {"Data": json.dumps(r, separators=(",", ":")).encode(), "PartitionKey": str(r["symbol"])}
                for r in records[i : i + _PUT_LIMIT]
            ]
            for _attempt in range(self.max_attempts):
                self.calls += 1
                with translate_errors("kinesis.PutRecords"):
                    resp = self.kinesis.put_records(StreamName=self.stream_name, Records=batch)
                failed = [b for b, e in zip(batch, resp["Records"], strict=True) if "ErrorCode" in e]
                sent += len(batch) - len(failed)
                batch = failed
                if not batch:
                    break
            if batch:
                raise TransientError(f"kinesis.PutRecords: {len(batch)} records still failing", operation="PutRecords")
        return sent
