"""Sending a user's signals to a stack's market stream: validated, batched, throttled records retried alone.

Why only throttled records are retried: ``ProvisionedThroughputExceededException`` says "this shard is busy,
try again"; any other per-record error (e.g. ``InternalFailure`` after its own retries, a KMS problem on an
encrypted stream) would fail again the same way, so it is reported with its code instead of looping.
Every signal is validated against the one contract (:class:`huracan.core.records.Signal`,
``schemas/signal.schema.json``) before the first call, so a bad file sends nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from huracan.core.records import Signal

__all__ = ["InvalidSignal", "PublishResult", "SignalPublisher"]

PUT_LIMIT = 500  # Kinesis PutRecords accepts at most 500 records (and 5 MiB) per call
_THROTTLED = "ProvisionedThroughputExceededException"


class InvalidSignal(ValueError):
    """A signal that does not satisfy the schema; names its position and field."""

    def __init__(self, index: int, field_name: str, message: str) -> None:
        super().__init__(f"signal {index}: {field_name}: {message}")
        self.index, self.field, self.message = index, field_name, message


@dataclass
class PublishResult:
    """What was sent: records accepted, calls made, throttled retries, and records refused for good."""

    sent: int = 0
    calls: int = 0
    throttled_retries: int = 0
    #: (signal_id, error code, message) of records Kinesis refused with a non-throttling error
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def _validate(signals: Iterable[Signal | Mapping[str, Any]], extra_features: Sequence[str]) -> list[Signal]:
    out: list[Signal] = []
    for i, s in enumerate(signals):
        try:
            sig = s if isinstance(s, Signal) else Signal.model_validate(dict(s))
        except ValidationError as exc:
            e = exc.errors()[0]
            raise InvalidSignal(i, ".".join(str(p) for p in e["loc"]) or "signal", e["msg"]) from exc
        missing = [f for f in extra_features if f not in (sig.features or {})]
        if missing:
            raise InvalidSignal(i, "features", f"declared extra feature(s) {missing} missing")
        out.append(sig)
    return out


class SignalPublisher:
    """Publish signals to a Kinesis stream with the partition key = symbol (a symbol's signals stay in order).

    ``kinesis`` is a boto3 Kinesis client (default: one from the environment, so ``AWS_ENDPOINT_URL``
    points it at a local stack). Throttled records are retried with exponential backoff up to
    ``max_attempts`` calls per batch; what still fails is in :attr:`PublishResult.failed`.
    """

    def __init__(
        self,
        stream_name: str,
        *,
        kinesis: Any = None,
        endpoint_url: str | None = None,
        extra_features: Sequence[str] = (),
        max_attempts: int = 8,
        backoff_s: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stream_name = stream_name
        self._kinesis = kinesis
        self._endpoint_url = endpoint_url
        self.extra_features = tuple(extra_features)
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.sleep = sleep

    @classmethod
    def for_stack(cls, stack_name: str, *, endpoint_url: str | None = None, **kwargs: Any) -> SignalPublisher:
        """The publisher for a deployed stack's stream (its ``MarketStreamName`` output)."""
        from huracan.adapters.stack_outputs import stack_environment

        env = stack_environment(stack_name, endpoint_url)
        return cls(env["MARKET_STREAM_NAME"], endpoint_url=endpoint_url, **kwargs)

    @property
    def kinesis(self) -> Any:
        if self._kinesis is None:
            import boto3

            self._kinesis = boto3.client("kinesis", endpoint_url=self._endpoint_url)
        return self._kinesis

    def publish(self, signals: Iterable[Signal | Mapping[str, Any]]) -> PublishResult:
        """Validate every signal, then ``PutRecords`` in time order, in batches of at most 500."""
        valid = sorted(_validate(signals, self.extra_features), key=lambda s: s.ts)
        result = PublishResult()
        for i in range(0, len(valid), PUT_LIMIT):
            batch = [
                (
                    s.signal_id,
                    {
                        "Data": json.dumps(
                            s.model_dump(mode="json", exclude_none=True), separators=(",", ":")
                        ).encode(),
                        "PartitionKey": s.symbol,
                    },
                )
                for s in valid[i : i + PUT_LIMIT]
            ]
            self._put(batch, result)
        return result

    def _put(self, batch: list[tuple[str, dict[str, Any]]], result: PublishResult) -> None:
        for attempt in range(self.max_attempts):
            result.calls += 1
            resp = self.kinesis.put_records(StreamName=self.stream_name, Records=[e for _, e in batch])
            retry: list[tuple[str, dict[str, Any]]] = []
            for (sid, entry), res in zip(batch, resp["Records"], strict=True):
                code = res.get("ErrorCode")
                if code is None:
                    result.sent += 1
                elif code == _THROTTLED:
                    retry.append((sid, entry))
                else:
                    result.failed.append((sid, str(code), str(res.get("ErrorMessage", ""))))
            if not retry:
                return
            result.throttled_retries += len(retry)
            batch = retry
            self.sleep(self.backoff_s * (2**attempt))
        result.failed += [(sid, _THROTTLED, "still throttled after retries") for sid, _ in batch]
