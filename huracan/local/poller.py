"""The Kinesis poller: plays Lambda's event source mapping with the template's own settings.

moto has no Kinesis→Lambda invocation without Docker, so this does what the Lambda service does for a
Kinesis event source mapping, in the same order:

- reads each shard from ``StartingPosition`` in batches of ``BatchSize`` and builds Lambda-format events;
- with ``ReportBatchItemFailures``, a response listing failed items checkpoints *before the lowest failed
  sequence number* and retries from there (records before it are done);
- a handler exception fails the whole batch; with ``BisectBatchOnFunctionError`` the batch is split in two
  and each half retried, so one poison record is isolated;
- after ``MaximumRetryAttempts`` retries of the same records the batch is given up: its metadata goes to the
  ``OnFailure`` destination (SQS), as AWS does, and the shard moves on.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import boto3

__all__ = ["EsmSettings", "KinesisPoller", "PollerStats"]

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class EsmSettings:
    """The event source mapping properties the poller honours (names as in CloudFormation)."""

    batch_size: int = 100
    starting_position: str = "TRIM_HORIZON"
    report_batch_item_failures: bool = True
    bisect_on_error: bool = True
    maximum_retry_attempts: int = 3
    on_failure_queue_url: str | None = None

    @staticmethod
    def from_cfn(props: dict[str, Any], queue_url_for_arn: Callable[[str], str] | None = None) -> EsmSettings:
        dest = (props.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        url = queue_url_for_arn(dest) if (dest and queue_url_for_arn and isinstance(dest, str)) else None
        return EsmSettings(
            batch_size=int(props.get("BatchSize", 100)),
            starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            on_failure_queue_url=url,
        )


@dataclass
class PollerStats:
    """What the poller did; the fault suite reconciles against it."""

    batches: int = 0
    records_delivered: int = 0
    partial_failures: int = 0
    handler_errors: int = 0
    retries: int = 0
    bisections: int = 0
    sent_to_on_failure: int = 0
    records_on_failure: int = 0
    invocations: list[int] = field(default_factory=list)


class _Ctx:
    """The slice of a Lambda context that Powertools reads."""

    function_name = "local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:local"
    memory_limit_in_mb = 1024
    aws_request_id = "local-request"
    log_group_name = "/aws/lambda/local"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


class KinesisPoller:
    """One event source mapping: a stream, a handler, the settings; ``drain()`` processes all that is there."""

    def __init__(self, stream_name: str, handler: Handler, settings: EsmSettings, region: str) -> None:
        self.stream_name = stream_name
        self.handler = handler
        self.settings = settings
        self.region = region
        self.kinesis = boto3.client("kinesis")
        self.sqs = boto3.client("sqs")
        desc = self.kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]
        self.stream_arn: str = desc["StreamARN"]
        self.shards = [s["ShardId"] for s in desc["Shards"]]
        self._iterators: dict[str, str | None] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {s: [] for s in self.shards}
        self.stats = PollerStats()
        #: When records "reached the stream" in a replay (its virtual clock); None: moto's wall-clock stamp.
        #: The handler refuses records stamped far after their arrival, and counts TTLs from it.
        self.arrival_clock: Callable[[], float] | None = None

    def _iterator(self, shard: str) -> str | None:
        if shard not in self._iterators:
            self._iterators[shard] = self.kinesis.get_shard_iterator(
                StreamName=self.stream_name, ShardId=shard, ShardIteratorType=cast(Any, self.settings.starting_position)
            )["ShardIterator"]
        return self._iterators[shard]

    def _fetch(self, shard: str) -> None:
        """Top up the shard's pending records to at least one batch (Kinesis returns up to 10,000)."""
        while len(self._pending[shard]) < self.settings.batch_size:
            it = self._iterator(shard)
            if it is None:
                return
            resp = self.kinesis.get_records(ShardIterator=it, Limit=10_000)
            self._iterators[shard] = resp.get("NextShardIterator")
            if not resp["Records"]:
                return
            self._pending[shard].extend(cast(list[dict[str, Any]], resp["Records"]))

    def _event(self, shard: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        virtual = self.arrival_clock() if self.arrival_clock is not None else None
        return {
            "Records": [
                {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": r["PartitionKey"],
                        "sequenceNumber": r["SequenceNumber"],
                        "data": base64.b64encode(r["Data"]).decode(),
                        "approximateArrivalTimestamp": virtual
                        if virtual is not None
                        else r["ApproximateArrivalTimestamp"].timestamp(),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"{shard}:{r['SequenceNumber']}",
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": "arn:aws:iam::123456789012:role/local",
                    "awsRegion": self.region,
                    "eventSourceARN": self.stream_arn,
                }
                for r in records
            ]
        }

    def _invoke(self, shard: str, records: list[dict[str, Any]]) -> tuple[bool, int | None]:
        """Returns (ok, index of the first failed record or None)."""
        self.stats.batches += 1
        self.stats.records_delivered += len(records)
        self.stats.invocations.append(len(records))
        try:
            resp = self.handler(self._event(shard, records), _Ctx())
        except Exception:  # the Lambda service treats any uncaught error the same way
            log.exception("handler raised on a batch of %d from %s", len(records), shard)
            self.stats.handler_errors += 1
            return False, None
        failures = (resp or {}).get("batchItemFailures") or [] if self.settings.report_batch_item_failures else []
        if not failures:
            return True, None
        self.stats.partial_failures += 1
        seqs = [r["SequenceNumber"] for r in records]
        failed = [f.get("itemIdentifier") for f in failures]
        positions = [seqs.index(s) for s in failed if s in seqs]
        # An identifier that is not in the batch means the whole batch failed (AWS behaviour).
        return False, min(positions) if len(positions) == len(failed) and positions else 0

    def _give_up(self, shard: str, records: list[dict[str, Any]], reason: str) -> None:
        self.stats.sent_to_on_failure += 1
        self.stats.records_on_failure += len(records)
        if not self.settings.on_failure_queue_url:
            log.error("dropping %d records from %s (%s): no OnFailure destination", len(records), shard, reason)
            return
        body = {
            "requestContext": {"condition": reason, "functionArn": "local"},
            "KinesisBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": records[0]["SequenceNumber"],
                "endSequenceNumber": records[-1]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.settings.on_failure_queue_url, MessageBody=json.dumps(body))

    def _process(self, shard: str, records: list[dict[str, Any]]) -> None:
        """Deliver one batch until it succeeds or is given up, honouring checkpoints, bisection, retries."""
        queue: list[tuple[list[dict[str, Any]], int]] = [(records, 0)]
        while queue:
            batch, attempts = queue.pop(0)
            ok, first_failed = self._invoke(shard, batch)
            if ok:
                continue
            if first_failed is not None:  # partial: checkpoint before the first failure, retry the rest
                batch = batch[first_failed:]
            limit = self.settings.maximum_retry_attempts
            if limit >= 0 and attempts >= limit:
                self._give_up(shard, batch, "RetryAttemptsExhausted")
                continue
            self.stats.retries += 1
            if first_failed is None and self.settings.bisect_on_error and len(batch) > 1:
                self.stats.bisections += 1
                mid = len(batch) // 2
                queue[:0] = [(batch[:mid], attempts + 1), (batch[mid:], attempts + 1)]
            else:
                queue.insert(0, (batch, attempts + 1))

    def drain(self) -> int:
        """Process every record currently in the stream; returns how many records were delivered."""
        before = self.stats.records_delivered
        for shard in self.shards:
            while True:
                self._fetch(shard)
                pending = self._pending[shard]
                if not pending:
                    break
                batch = pending[: self.settings.batch_size]
                del pending[: len(batch)]
                self._process(shard, batch)
        return self.stats.records_delivered - before
