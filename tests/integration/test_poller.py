"""The Kinesis poller behaves like Lambda's event source mapping (checkpoint, bisect, retries, OnFailure)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from huracan.local.aws import EmbeddedAws, embedded_aws
from huracan.local.poller import EsmSettings, KinesisPoller


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with embedded_aws() as a:
        yield a


@pytest.fixture
def stream(aws: EmbeddedAws) -> Iterator[tuple[str, str]]:
    aws.reset()
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="market", ShardCount=1)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="on-failure")["QueueUrl"]
    records = [{"Data": json.dumps({"n": i}).encode(), "PartitionKey": "BTC"} for i in range(25)]
    kinesis.put_records(StreamName="market", Records=records)
    yield "market", url


def _numbers(event: dict[str, Any]) -> list[int]:
    return [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in event["Records"]]


def test_partial_failure_checkpoints_before_the_lowest_failed_record(stream: tuple[str, str]) -> None:
    # Given a handler that reports record 7 as failed once
    seen: list[list[int]] = []
    failed_once: set[int] = set()

    def handler(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        nums = _numbers(event)
        seen.append(nums)
        fails = [
            r["kinesis"]["sequenceNumber"]
            for r, n in zip(event["Records"], nums, strict=True)
            if n == 7 and n not in failed_once
        ]
        failed_once.update(n for n in nums if n == 7)
        return {"batchItemFailures": [{"itemIdentifier": s} for s in fails]}

    poller = KinesisPoller(stream[0], handler, EsmSettings(batch_size=10, maximum_retry_attempts=2), "eu-west-2")
    # When the stream is drained
    assert poller.drain() == 25 + 3
    # Then the retry starts at record 7 (not 0, not 8) and nothing after it is lost
    assert seen[1] == [7, 8, 9]
    assert sorted({n for batch in seen for n in batch}) == list(range(25))
    assert poller.stats.partial_failures == 1


def test_poison_record_is_bisected_out_and_sent_to_on_failure(stream: tuple[str, str]) -> None:
    # Given a handler that crashes whenever record 13 is in its batch
    done: list[int] = []

    def handler(event: dict[str, Any], ctx: Any) -> None:
        nums = _numbers(event)
        if 13 in nums:
            raise RuntimeError("poison")
        done.extend(nums)

    settings = EsmSettings(
        batch_size=10, bisect_on_error=True, maximum_retry_attempts=6, on_failure_queue_url=stream[1]
    )
    poller = KinesisPoller(stream[0], handler, settings, "eu-west-2")
    poller.drain()
    # Then every other record is processed exactly once, and only record 13 is given up
    assert sorted(done) == [n for n in range(25) if n != 13]
    assert len(done) == len(set(done))
    msgs = boto3.client("sqs").receive_message(QueueUrl=stream[1], MaxNumberOfMessages=10)["Messages"]
    assert len(msgs) == 1
    info = json.loads(msgs[0]["Body"])["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert poller.stats.bisections >= 3


def test_retries_are_bounded_without_bisection(stream: tuple[str, str]) -> None:
    calls = 0

    def handler(event: dict[str, Any], ctx: Any) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("always")

    settings = EsmSettings(
        batch_size=25, bisect_on_error=False, maximum_retry_attempts=2, on_failure_queue_url=stream[1]
    )
    poller = KinesisPoller(stream[0], handler, settings, "eu-west-2")
    poller.drain()
    assert calls == 3  # the first try plus two retries
    assert poller.stats.records_on_failure == 25
