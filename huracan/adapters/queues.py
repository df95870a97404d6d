"""The stream dead-letter queue: where records that can never be processed are parked, with why.

Parking uses ``SendMessageBatch`` (10 per call). Each message is a JSON document with the reason, the
shard and sequence number (so an operator can find the record in the stream) and the raw data, base64
as Kinesis delivered it, so the record can be repaired and replayed byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from huracan.adapters.clients import client
from huracan.adapters.errors import PermanentError, TransientError, translate_errors
from huracan.adapters.settings import AwsSettings
from huracan.service.entities import ParkedRecord

__all__ = ["MAX_DATA_CHARS", "DeadLetterQueue"]

#: SQS messages are limited in size; raw data beyond this is cut and the message says so.
MAX_DATA_CHARS = 200_000
_BATCH = 10


def _body(rec: ParkedRecord) -> str:
    data = rec.data_b64
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
    }
    return json.dumps(doc, sort_keys=True, default=str)


class DeadLetterQueue:
    """SQS queue for parked stream records."""

    def __init__(self, queue_url: str, settings: AwsSettings) -> None:
        self.queue_url = queue_url
        self._settings = settings

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
                    "MessageBody": _body(rec),
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
