"""The stream dead-letter queue: where records that can never be processed are parked, with why.

Parking uses ``SendMessageBatch`` (10 per call). Each message is a JSON document with the reason, the
shard and sequence number (so an operator can find the record in the stream) and the raw data, base64
as Kinesis delivered it, so the record can be repaired and replayed byte for byte.

A record too large for an SQS message (Kinesis takes up to 1 MB, SQS 256 KiB) is parked by *claim check*:
its data goes whole to S3 (``s3://<claim bucket>/dead-letters/<shard>/<sequence>.b64``, the base64 text as
delivered, with its SHA256) and the message carries the pointer and the reason. Without a claim bucket the
data is cut and the message says so (the old behaviour, kept for stacks that have not granted the bucket).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from huracan.adapters.clients import client
from huracan.adapters.errors import PermanentError, TransientError, translate_errors
from huracan.adapters.settings import AwsSettings
from huracan.service.entities import ParkedRecord

__all__ = ["CLAIM_PREFIX", "MAX_DATA_CHARS", "DeadLetterQueue"]

#: SQS messages are limited in size; raw data beyond this is cut and the message says so.
MAX_DATA_CHARS = 200_000
_BATCH = 10
#: Where oversized parked records are kept in the claim bucket.
CLAIM_PREFIX = "dead-letters"


def _body(rec: ParkedRecord, claim: dict[str, Any] | None = None) -> str:
    data = "" if claim is not None else rec.data_b64
    truncated = len(data) > MAX_DATA_CHARS
    doc: dict[str, Any] = {
        "kind": "huracan.parked_record",
        "reason": rec.reason,
        "field": rec.field,
        "shard_id": rec.shard_id,
        "sequence_number": rec.sequence_number,
        "event_source_arn": rec.event_source_arn,
        "data_b64": data[:MAX_DATA_CHARS],
        "data_truncated": truncated,
        **({"extra": rec.extra} if rec.extra else {}),
        **({"data_s3": claim} if claim is not None else {}),
    }
    return json.dumps(doc, sort_keys=True, default=str)


class DeadLetterQueue:
    """SQS queue for parked stream records."""

    def __init__(self, queue_url: str, settings: AwsSettings, *, claim_bucket: str | None = None) -> None:
        self.queue_url = queue_url
        self._settings = settings
        self.claim_bucket = claim_bucket

    def _claim(self, rec: ParkedRecord) -> dict[str, Any] | None:
        """Store an oversized record's data in S3 and return the pointer; None when it fits in a message."""
        if len(rec.data_b64) <= MAX_DATA_CHARS or not self.claim_bucket:
            return None
        data = rec.data_b64.encode("ascii")
        safe_shard = "".join(c if c.isalnum() or c in "-_" else "_" for c in rec.shard_id) or "unknown"
        key = f"{CLAIM_PREFIX}/{safe_shard}/{rec.sequence_number or hashlib.sha256(data).hexdigest()}.b64"
        with translate_errors("s3.PutObject (dead-letter claim check)"):
            client("s3", self._settings).put_object(
                Bucket=self.claim_bucket, Key=key, Body=data, ChecksumAlgorithm="SHA256"
            )
        return {"bucket": self.claim_bucket, "key": key, "sha256": hashlib.sha256(data).hexdigest(), "chars": len(data)}

    def park(self, records: Sequence[ParkedRecord]) -> None:
        """Send every record; raises :class:`TransientError` if any could not be queued for a retryable reason.

        ``SendMessageBatch`` can fail per entry while the call succeeds, so entries are checked one by one;
        the message ids are the records' positions, unique within a call as SQS requires.
        """
        sqs = client("sqs", self._settings)
        for start in range(0, len(records), _BATCH):
            chunk = records[start : start + _BATCH]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": _body(rec, self._claim(rec)),
                    "MessageAttributes": {
                        "reason": {"DataType": "String", "StringValue": rec.reason[:256] or "unknown"},
                        "sequence_number": {"DataType": "String", "StringValue": rec.sequence_number or "-"},
                    },
                }
                for i, rec in enumerate(chunk)
            ]
            with translate_errors("sqs.SendMessageBatch"):
                answer = sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = answer.get("Failed") or []
            if failed:
                sender = [f for f in failed if f.get("SenderFault")]
                detail = "; ".join(f"{f.get('Id')}: {f.get('Code')} {f.get('Message', '')}" for f in failed)
                if sender:
                    raise PermanentError(f"sqs.SendMessageBatch: refused {detail}", operation="sqs.SendMessageBatch")
                raise TransientError(f"sqs.SendMessageBatch: failed {detail}", operation="sqs.SendMessageBatch")
