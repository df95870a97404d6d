"""Where the daily report goes: S3 (``s3://<bucket>/reports/<day>/``) and one SNS notification.

Layout: ``reports/<day>/index.html`` (the self-contained page), ``reports/<day>/metrics.json`` (headline
and every metric, machine-readable) and ``reports/index.html`` (every day, newest first, rebuilt from
the day folders after each write, so a lost index repairs itself the next night).
"""

from __future__ import annotations

import json
import re
from typing import Any

from huracan.adapters.clients import client
from huracan.adapters.errors import AdapterError, translate_errors
from huracan.adapters.settings import AwsSettings
from huracan.observability.report import render_index

__all__ = ["REPORTS_PREFIX", "Notifier", "ReportsStore"]

REPORTS_PREFIX = "reports/"
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: SNS limits: subject ≤ 100 characters, message ≤ 256 KB.
_SUBJECT_MAX = 100
_MESSAGE_MAX = 250_000


class ReportsStore:
    """Writes report pages into the model bucket under ``reports/``."""

    def __init__(self, bucket: str, settings: AwsSettings) -> None:
        self.bucket = bucket
        self._settings = settings

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        s3 = client("s3", self._settings)
        with translate_errors("s3.PutObject"):
            s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                CacheControl="no-cache",
                ChecksumAlgorithm="SHA256",
            )

    def put_day(self, day: str, page: str, metrics_doc: dict[str, Any]) -> str:
        """Store one day's page and metrics, refresh the index; returns the page's ``s3://`` URL."""
        if not _DAY_RE.match(day):
            raise ValueError(f"day must be YYYY-MM-DD, got {day!r}")
        key = f"{REPORTS_PREFIX}{day}/index.html"
        self._put(key, page.encode("utf-8"), "text/html; charset=utf-8")
        self._put(
            f"{REPORTS_PREFIX}{day}/metrics.json",
            json.dumps(metrics_doc, sort_keys=True, indent=2).encode("utf-8"),
            "application/json",
        )
        self.rebuild_index()
        return f"s3://{self.bucket}/{key}"

    def days(self) -> list[str]:
        s3 = client("s3", self._settings)
        with translate_errors("s3.ListObjectsV2"):
            pages = list(
                s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=REPORTS_PREFIX, Delimiter="/")
            )
        names = [
            p["Prefix"][len(REPORTS_PREFIX) :].rstrip("/") for page in pages for p in page.get("CommonPrefixes", [])
        ]
        return sorted(n for n in names if _DAY_RE.match(n))

    def _headline(self, day: str) -> str:
        s3 = client("s3", self._settings)
        try:
            with translate_errors("s3.GetObject"):
                body = s3.get_object(Bucket=self.bucket, Key=f"{REPORTS_PREFIX}{day}/metrics.json")["Body"].read()
            return str(json.loads(body).get("headline", ""))
        except (ValueError, AdapterError):  # an unreadable day still gets its link
            return ""

    def rebuild_index(self) -> str:
        key = f"{REPORTS_PREFIX}index.html"
        page = render_index((d, self._headline(d)) for d in self.days())
        self._put(key, page.encode("utf-8"), "text/html; charset=utf-8")
        return key


class Notifier:
    """One SNS message per report: the headline as subject, the narrative and the link as body."""

    def __init__(self, topic_arn: str, settings: AwsSettings) -> None:
        self.topic_arn = topic_arn
        self._settings = settings

    def publish(self, subject: str, message: str, attributes: dict[str, str] | None = None) -> str:
        sns = client("sns", self._settings)
        attrs = {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items() if v}
        with translate_errors("sns.Publish"):
            answer = sns.publish(
                TopicArn=self.topic_arn,
                Subject=subject[:_SUBJECT_MAX].replace("\n", " "),
                Message=message[:_MESSAGE_MAX],
                MessageAttributes=attrs,
            )
        return str(answer["MessageId"])
