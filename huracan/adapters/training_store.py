"""What the nightly training job writes besides the registry: session reports, marks, the announcement, a metric.

- ``s3://<bucket>/training/<day>/report.json``: the session report (``<day>`` is the run's UTC day, the
  date the daily report files the session under; the data is the day before) (a ``TrainingReport.to_dict()`` plus
  the fields :func:`huracan.observability.records.session_from_document` reads), one per night, rewritten
  by a rerun of the same night.
- ``used_in_training``: set on the decisions and shadow trades whose rows trained a model, with the data
  snapshot id beside it (``used_in_snapshot``), conditional on the item existing so a mark never creates a
  stub item. Written with ``UpdateItem`` expressions because the decisions model has no such column.
- SNS ``ModelPublished``: ``{"event": "ModelPublished", "model_id", "metrics"}`` when a champion is published.
- ``ModelsExported`` (Count) in namespace ``Huracan`` with the single dimension ``service=huracan``, the
  metric ``NightlyRunHeartbeatAlarm`` counts (a datapoint per finished run). Sent with ``PutMetricData`` rather than an EMF log line: the
  Fargate task logs through the ``awslogs`` driver, which does not send the ``x-amzn-logs-format: json/emf``
  header CloudWatch needs to extract metrics from logs (the task role may put metrics in that namespace).
  The night's event time is the datapoint's timestamp: no wall clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import AliasChoices, Field

from huracan.adapters.clients import client
from huracan.adapters.errors import AlreadyExists, translate_errors
from huracan.adapters.settings import TableSettings
from huracan.core.timeutil import parse_ts

__all__ = [
    "METRIC_DIMENSION",
    "METRIC_NAMESPACE",
    "MODELS_EXPORTED",
    "TRAINING_PREFIX",
    "NightlySettings",
    "TrainingStore",
    "UsageMarker",
    "archived_symbols",
]

log = logging.getLogger(__name__)

TRAINING_PREFIX = "training/"
METRIC_NAMESPACE = "Huracan"
METRIC_DIMENSION = {"Name": "service", "Value": "huracan"}
MODELS_EXPORTED = "ModelsExported"
NIGHTLY_FAILED = "NightlyFailed"
ARCHIVE_BACKLOG_DAYS = "ArchiveBacklogDays"
_SUBJECT = "ModelPublished"


class NightlySettings(TableSettings):
    """The training task's environment (``TrainingTaskDefinition`` in ``template.yaml``)."""

    model_bucket: Annotated[str, Field(min_length=3, max_length=63)] = Field(alias="MODEL_BUCKET")
    notifications_topic_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:sns:")] | None = Field(
        default=None, alias="NOTIFICATIONS_TOPIC_ARN"
    )
    model_signing_key_id: str | None = Field(default=None, alias="MODEL_SIGNING_KEY_ID")
    #: A registry elsewhere than ``s3://<bucket>/models`` (a folder for ``huracan train``).
    model_path: str | None = Field(default=None, alias="HURACAN_MODEL_PATH")
    profile: str = Field(default="seed", alias="HURACAN_PROFILE", min_length=1)
    #: a settings file bundled with the code (core.config.engine_config); empty: the profile
    config_file: str | None = Field(default=None, alias="HURACAN_CONFIG")
    symbols_csv: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$")] | None = Field(
        default=None, validation_alias=AliasChoices("HURACAN_SYMBOLS", "INGEST_SYMBOLS")
    )
    lookback_days: Annotated[int, Field(ge=1, le=366)] = Field(default=30, alias="TRAINING_LOOKBACK_DAYS")
    #: ``false`` when the stack's signals are the user's own: the historical rows then come from the signal
    #: history ``huracan backfill --signals`` loaded (``s3://<bucket>/signals/``), never from the strategies
    strategies_enabled: bool = Field(default=True, alias="STRATEGIES_ENABLED")
    #: How long the prices table keeps a bar: the nightly archives every unarchived day within it.
    prices_ttl_days: Annotated[int, Field(gt=0, le=3650)] = Field(default=35, alias="PRICES_TTL_DAYS")
    #: The schedule's time, set by the EventBridge target's container override.
    run_time: str | None = Field(default=None, alias="HURACAN_RUN_TIME")
    git_sha: str | None = Field(default=None, alias="GIT_SHA")

    @property
    def symbols(self) -> list[str]:
        return self.symbols_csv.split(",") if self.symbols_csv else []

    @property
    def registry_path(self) -> str:
        return self.model_path or f"s3://{self.model_bucket}/models"


def archived_symbols(bucket: str, settings: TableSettings) -> list[str]:
    """Symbols with at least one day in the bar archive (``bars/symbol=<S>/``), sorted."""
    s3 = client("s3", settings)
    with translate_errors("s3.ListObjectsV2"):
        pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="bars/symbol=", Delimiter="/"))
    names = [p["Prefix"][len("bars/symbol=") :].rstrip("/") for page in pages for p in page.get("CommonPrefixes", [])]
    return sorted(n for n in names if n)


class TrainingStore:
    """Session reports in S3, the SNS announcement and the CloudWatch metric of one deployment."""

    def __init__(self, bucket: str, settings: TableSettings, topic_arn: str | None = None) -> None:
        self.bucket = bucket
        self.topic_arn = topic_arn
        self._settings = settings

    @staticmethod
    def report_key(day: str, name: str = "report.json") -> str:
        parse_ts(f"{day}T00:00:00Z")  # a malformed day fails before anything is written
        if name not in ("report.json", "failure.json"):
            raise ValueError(f"unknown training document {name!r}")
        return f"{TRAINING_PREFIX}{day}/{name}"

    def put_report(self, day: str, doc: Mapping[str, Any], name: str = "report.json") -> str:
        """Store one night's session report (or, as ``failure.json``, why the night failed); returns its URL.

        A failed rerun writes ``failure.json`` so it never replaces the report of a night that succeeded.
        """
        key = self.report_key(day, name)
        body = (json.dumps(doc, sort_keys=True, indent=2, allow_nan=False, default=str) + "\n").encode()
        s3 = client("s3", self._settings)
        with translate_errors("s3.PutObject"):
            s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", ChecksumAlgorithm="SHA256"
            )
        return f"s3://{self.bucket}/{key}"

    def get_report(self, day: str, name: str = "report.json") -> dict[str, Any]:
        s3 = client("s3", self._settings)
        with translate_errors("s3.GetObject"):
            body = s3.get_object(Bucket=self.bucket, Key=self.report_key(day, name))["Body"].read()
        doc: dict[str, Any] = json.loads(body)
        return doc

    def announce(self, model_id: str, metrics: Mapping[str, Any]) -> str | None:
        """SNS ``ModelPublished`` (None when no topic is configured)."""
        if not self.topic_arn:
            return None
        message = json.dumps(
            {"event": _SUBJECT, "model_id": model_id, "metrics": dict(metrics)}, sort_keys=True, default=str
        )
        sns = client("sns", self._settings)
        with translate_errors("sns.Publish"):
            answer = sns.publish(
                TopicArn=self.topic_arn,
                Subject=_SUBJECT,
                Message=message,
                MessageAttributes={
                    "event": {"DataType": "String", "StringValue": _SUBJECT},
                    "model_id": {"DataType": "String", "StringValue": model_id},
                },
            )
        return str(answer["MessageId"])

    def put_models_exported(self, count: int, at: str) -> None:
        """One ``ModelsExported`` datapoint (0 on a night that published nothing, so the alarm sees it)."""
        cw = client("cloudwatch", self._settings)
        with translate_errors("cloudwatch.PutMetricData"):
            cw.put_metric_data(
                Namespace=METRIC_NAMESPACE,
                MetricData=[
                    {
                        "MetricName": MODELS_EXPORTED,
                        "Dimensions": [METRIC_DIMENSION],
                        "Timestamp": parse_ts(at),
                        "Value": float(count),
                        "Unit": "Count",
                    }
                ],
            )

    def put_nightly_health(self, at: str, *, failed: bool, archive_backlog_days: int | None = None) -> None:
        """``NightlyFailed`` (1 on a failed night, 0 otherwise: a failed night is told apart from a night that
        published no model) and ``ArchiveBacklogDays`` (age of the oldest finished day not yet archived when the
        night started; the prices table deletes it at its TTL, so the alarm fires well before)."""
        data: list[Any] = [
            {
                "MetricName": NIGHTLY_FAILED,
                "Dimensions": [METRIC_DIMENSION],
                "Timestamp": parse_ts(at),
                "Value": 1.0 if failed else 0.0,
                "Unit": "Count",
            }
        ]
        if archive_backlog_days is not None:
            data.append(
                {
                    "MetricName": ARCHIVE_BACKLOG_DAYS,
                    "Dimensions": [METRIC_DIMENSION],
                    "Timestamp": parse_ts(at),
                    "Value": float(archive_backlog_days),
                    "Unit": "Count",
                }
            )
        cw = client("cloudwatch", self._settings)
        with translate_errors("cloudwatch.PutMetricData"):
            cw.put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=data)


class UsageMarker:
    """``used_in_training`` marks on decisions and shadow trades (the rows a session trained on)."""

    def __init__(self, settings: TableSettings) -> None:
        self._settings = settings

    def _mark(self, table: str, key_name: str, keys: Iterable[str], snapshot_id: str) -> int:
        """One conditional UpdateItem per row (a transaction would fail as a whole on one expired row)."""
        ddb = client("dynamodb", self._settings)
        n = 0
        for key in sorted(set(keys)):
            try:
                with translate_errors(f"{table}.UpdateItem", conflict=AlreadyExists):
                    ddb.update_item(**self._update(table, key_name, key, snapshot_id))
            except AlreadyExists:  # the condition failed: the item is gone (TTL), nothing to mark
                log.info("%s %s no longer exists; not marked", table, key)
                continue
            n += 1
        return n

    @staticmethod
    def _update(table: str, key_name: str, key: str, snapshot_id: str) -> dict[str, Any]:
        return {
            "TableName": table,
            "Key": {key_name: {"S": key}},
            "UpdateExpression": "SET used_in_training = :t, used_in_snapshot = :s",
            "ConditionExpression": f"attribute_exists({key_name})",
            "ExpressionAttributeValues": {":t": {"BOOL": True}, ":s": {"S": snapshot_id}},
        }

    def mark_decisions(self, signal_ids: Iterable[str], snapshot_id: str) -> int:
        return self._mark(self._settings.decisions_table, "signal_id", signal_ids, snapshot_id)

    def mark_shadow_trades(self, shadow_ids: Iterable[str], snapshot_id: str) -> int:
        return self._mark(self._settings.shadow_trades_table, "shadow_id", shadow_ids, snapshot_id)
