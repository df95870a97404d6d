"""Poison records: one bad record in a batch of 100 costs that record only, never the shard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from huracan.local.faults import EVALUATE
from huracan.local.reconcile import record_identity
from huracan.local.replay import StreamRecord
from huracan.local.runtime import LocalRuntime
from tests.faults.conftest import run_replay

WINDOW_S = 7200


class RawRecord(StreamRecord):
    """A stream record whose bytes are given as they are (malformed on purpose)."""

    def __init__(self, publish_at: int, partition_key: str, raw: bytes) -> None:
        super().__init__(publish_at, partition_key, {})
        object.__setattr__(self, "_raw", raw)

    def data(self) -> bytes:
        raw: bytes = object.__getattribute__(self, "_raw")
        return raw


def batch_with_poison(half_day: list[StreamRecord], poison_payload: bytes) -> tuple[list[StreamRecord], bytes]:
    """99 real records published in one window (one batch of 100 with the poison in the middle)."""
    start = half_day[0].publish_at - half_day[0].publish_at % WINDOW_S + WINDOW_S
    window = [r for r in half_day if start < r.publish_at <= start + WINDOW_S][:99]
    assert len(window) == 99 and any(r.payload["type"] == "signal" for r in window)
    poison = RawRecord(window[49].publish_at, window[49].partition_key, poison_payload)
    return [*window[:50], poison, *window[50:]], poison_payload


def _bar(ts: str, **change: Any) -> bytes:
    doc = {"type": "bar", "symbol": "BTC-PERP", "ts": ts, "open": 47000.0, "high": 47010.0, "low": 46990.0}
    doc |= {"close": 47005.0, "volume": 1000.0, **change}
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("poison", "reason_has"),
    [
        (_bar("2022-01-03T00:30:00Z")[:-9], "json"),  # truncated in transit
        (_bar("2030-01-01T00:00:00Z", low=-5.0), "low"),  # parses, but a negative price
    ],
    ids=["truncated-json", "negative-low"],
)
def test_promise_a_poison_record_is_parked_with_its_reason_and_the_other_99_land_once(
    half_day: list[StreamRecord], poison: bytes, reason_has: str
) -> None:
    records, raw = batch_with_poison(half_day, poison)
    run = run_replay(records, window_s=WINDOW_S)
    run.books.assert_ok()  # records in = processed + parked, trades = passes, one timer each
    assert (run.books.records_in, run.books.processed, run.books.parked) == (100, 99, 1)
    reason = run.books.parked_reasons[record_identity(raw)]
    assert reason_has in reason.lower(), reason
    # one invocation of exactly 100 records: no retry, the shard moved on, nothing processed twice
    assert run.poller.invocations == [100]
    assert run.poller.retries == run.poller.handler_errors == run.poller.partial_failures == 0
    assert set(run.stats.record_deliveries.values()) == {1} and len(run.stats.record_deliveries) == 100


def test_promise_a_record_that_kills_the_handler_is_isolated_and_parked_by_the_mapping(
    half_day: list[StreamRecord],
) -> None:
    """A record the handler cannot survive: bisection isolates it, the mapping gives it up to the
    dead-letter queue (OnFailure), the shard moves on, and every other record is processed or parked
    with a reason - nothing is lost."""
    marker = _bar("2030-06-01T00:00:00Z")
    records, raw = batch_with_poison(half_day, marker)

    def killer(rt: LocalRuntime, _: Any) -> None:
        def fault(event: dict[str, Any]) -> None:
            import base64

            if any(base64.b64decode(r["kinesis"]["data"]) == raw for r in event.get("Records", [])):
                raise MemoryError("Runtime exited: out of memory on this record")

        rt.lambdas.faults[EVALUATE] = fault

    run = run_replay(records, window_s=WINDOW_S, setup=killer)
    run.books.assert_ok()
    assert "gave up" in run.books.parked_reasons[record_identity(raw)]
    assert run.poller.bisections >= 5 and run.poller.sent_to_on_failure == 1
    # the neighbours bisection could not separate within MaximumRetryAttempts are parked, not lost
    assert run.books.parked == run.poller.records_on_failure <= 4
    assert run.books.processed == 100 - run.books.parked >= 96
