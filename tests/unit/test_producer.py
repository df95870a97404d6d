"""SignalPublisher: validates before sending, batches of at most 500, partition key = symbol, and retries
only the records Kinesis throttled (a recording client stands in for the Kinesis API's answers)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from huracan.producer import InvalidSignal, SignalPublisher


class RecordingKinesis:
    """Answers PutRecords like Kinesis: per-record results; throttles the chosen ids on their first try."""

    def __init__(self, throttle_once: set[str], refuse: set[str]) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.throttle_once, self.refuse = set(throttle_once), refuse

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Records)
        out = []
        for r in Records:
            sid = json.loads(r["Data"])["signal_id"]
            if sid in self.throttle_once:
                self.throttle_once.discard(sid)
                out.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"})
            elif sid in self.refuse:
                out.append({"ErrorCode": "InternalFailure", "ErrorMessage": "broken"})
            else:
                out.append({"SequenceNumber": "1", "ShardId": "shardId-000000000000"})
        return {"FailedRecordCount": sum("ErrorCode" in o for o in out), "Records": out}


def _signals(n: int) -> list[dict[str, Any]]:
    return [
        {
            "signal_id": f"s{i}",
            "ts": f"2022-12-13T{i // 60 % 24:02d}:{i % 60:02d}:00Z",
            "symbol": "BTCUSDT" if i % 2 else "ETHUSDT",
            "side": "long",
            "mode": "scalp",
            "confidence": 0.7,
        }
        for i in range(n)
    ]


def test_batches_of_at_most_500_with_the_symbol_as_partition_key_and_only_throttled_retried() -> None:
    # Given 1,203 signals, three throttled once and one refused for good
    kinesis = RecordingKinesis(throttle_once={"s3", "s700", "s1202"}, refuse={"s10"})
    waits: list[float] = []
    pub = SignalPublisher("market", kinesis=kinesis, sleep=waits.append)
    # When they are published
    result = pub.publish(_signals(1203))
    # Then three batches went out (500, 500, 203) plus one retry per batch that had a throttled record,
    sizes = [len(c) for c in kinesis.calls]
    assert sizes[:2] == [500, 1] and sizes[2:4] == [500, 1] and sizes[4:] == [203, 1]
    assert all(len(c) <= 500 for c in kinesis.calls)
    # each retry carried only the throttled record, never the refused one
    retried = [json.loads(r["Data"])["signal_id"] for c in kinesis.calls if len(c) == 1 for r in c]
    assert retried == ["s3", "s700", "s1202"] and len(waits) == 3
    assert all(r["PartitionKey"] == json.loads(r["Data"])["symbol"] for c in kinesis.calls for r in c)
    assert result.sent == 1202 and result.throttled_retries == 3
    assert result.failed == [("s10", "InternalFailure", "broken")]


def test_an_invalid_signal_sends_nothing_and_names_its_field() -> None:
    kinesis = RecordingKinesis(set(), set())
    bad = _signals(3)
    bad[2]["confidence"] = 1.7
    with pytest.raises(InvalidSignal, match="signal 2: confidence"):
        SignalPublisher("market", kinesis=kinesis).publish(bad)
    assert kinesis.calls == []
    with pytest.raises(InvalidSignal, match=r"signal 0: features: declared extra feature\(s\) \['imbalance'\]"):
        SignalPublisher("market", kinesis=kinesis, extra_features=["imbalance"]).publish(_signals(1))


def test_a_record_still_throttled_after_every_attempt_is_reported_not_lost() -> None:
    class AlwaysBusy(RecordingKinesis):
        def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
            self.calls.append(Records)
            err = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
            return {"FailedRecordCount": len(Records), "Records": [err for _ in Records]}

    kinesis = AlwaysBusy(set(), set())
    result = SignalPublisher("market", kinesis=kinesis, max_attempts=3, sleep=lambda s: None).publish(_signals(2))
    assert len(kinesis.calls) == 3 and result.sent == 0
    assert [f[0] for f in result.failed] == ["s0", "s1"]
