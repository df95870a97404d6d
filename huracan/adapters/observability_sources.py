"""Reading what the daily summary needs: the tables, the model cards in S3, the dead-letter queue depths.

The observability figures are pure functions over plain records (``huracan/observability/records.py``);
this is the only place that knows how those records sit in DynamoDB / S3 / SQS. Items are read through
the ``by_day`` indexes (one Query per table per day), never with a Scan.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import Field

from huracan.adapters.clients import client
from huracan.adapters.decision_days import DECISIONS_PREFIX, SettledDecisionDays
from huracan.adapters.errors import AdapterError, translate_errors
from huracan.adapters.repository import decision_from_item, get_repository
from huracan.adapters.s3_store import S3Store
from huracan.adapters.settings import AwsSettings, TableSettings
from huracan.adapters.tables import DecisionItem, ShadowTradeItem, Tables, TradeItem, bind_tables
from huracan.observability.records import (
    DecisionRow,
    GateValue,
    LiveTrade,
    ShadowTrade,
    finite_or_none,
)
from huracan.service.entities import DecisionOutcome, DecisionRecord

__all__ = [
    "DailySummarySettings",
    "DayLoader",
    "decision_row",
    "decision_row_from_record",
    "live_trade",
    "queue_depths",
    "read_model_cards",
    "shadow_trade",
]

log = logging.getLogger(__name__)

_Url = Annotated[str, Field(min_length=8, pattern=r"^https?://")]


class DailySummarySettings(TableSettings):
    """DailySummaryFunction: tables, the bucket (models in, reports out), the topic, the queues to watch."""

    model_bucket: Annotated[str, Field(min_length=3, max_length=63)] = Field(alias="MODEL_BUCKET")
    notifications_topic_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:sns:")] = Field(
        alias="NOTIFICATIONS_TOPIC_ARN"
    )
    dead_letter_queue_url: _Url | None = Field(default=None, alias="DEAD_LETTER_QUEUE_URL")
    timer_dlq_url: _Url | None = Field(default=None, alias="TIMER_DLQ_URL")
    profile: str = Field(default="seed", alias="HURACAN_PROFILE", min_length=1)
    #: a settings file bundled with the code (core.config.engine_config); empty: the profile
    config_file: str | None = Field(default=None, alias="HURACAN_CONFIG")
    lookback_days: Annotated[int, Field(ge=1, le=31)] = Field(default=7, alias="REPORT_LOOKBACK_DAYS")


def _s(x: Any) -> str | None:
    return None if x is None else str(x)


def _features(text: str | None) -> dict[str, float]:
    try:
        raw = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    out = {str(k): finite_or_none(v) for k, v in raw.items()}
    return {k: v for k, v in out.items() if v is not None}


def shadow_trade(item: ShadowTradeItem) -> ShadowTrade:
    return ShadowTrade(
        shadow_id=item.shadow_id,
        ts=item.ts,
        day=item.day,
        symbol=item.symbol,
        mode=item.mode,
        side=item.side,
        entry_price=float(item.entry_price),
        status=item.status or "OPEN",
        signal_id=item.signal_id or "",
        timeout_at=_s(item.timeout_at),
        exit_price=finite_or_none(item.exit_price),
        exit_reason=_s(item.exit_reason),
        exit_ts=_s(item.exit_ts),
        shadow_pnl_bps=finite_or_none(item.shadow_pnl_bps),
        shadow_pnl_net_bps=finite_or_none(item.shadow_pnl_net_bps),
        actual_outcome=_s(item.actual_outcome),
        predicted_win_prob=finite_or_none(item.predicted_win_prob),
        prediction_correct=item.prediction_correct,
        model_id=_s(item.model_id),
        regime=_s(item.regime),
        features=_features(item.features_json),
    )


def _gate_value(raw: Any) -> GateValue:
    doc = raw.as_dict() if hasattr(raw, "as_dict") else raw
    doc = doc if isinstance(doc, Mapping) else {}

    def num_or_text(x: Any) -> float | str | None:
        return x if isinstance(x, str) else finite_or_none(x)

    return GateValue(bool(doc.get("passed")), num_or_text(doc.get("value")), num_or_text(doc.get("threshold")))


def decision_row(item: DecisionItem) -> DecisionRow:
    return decision_row_from_record(*decision_from_item(item))


def decision_row_from_record(rec: DecisionRecord, outcome: DecisionOutcome | None) -> DecisionRow:
    """A decision and its outcome as the report reads them (from the table, or a settled day's S3 copy)."""
    return DecisionRow(
        signal_id=rec.signal_id,
        day=rec.day,
        ts=rec.ts,
        symbol=rec.symbol,
        mode=rec.mode,
        side=rec.side,
        passed=bool(rec.passed),
        blocked_by=tuple(str(x) for x in rec.blocked_by),
        gates={str(k): _gate_value(v) for k, v in rec.gates.items()},
        prob=finite_or_none(rec.prob),
        regime=_s(rec.regime),
        model_id=_s(rec.model_id),
        shadow_id=_s(rec.shadow_id),
        cf_outcome=None if outcome is None else _s(outcome.cf_outcome),
        cf_pnl_net_bps=None if outcome is None else finite_or_none(outcome.cf_pnl_net_bps),
    )


def live_trade(item: TradeItem) -> LiveTrade:
    pnl = finite_or_none(item.pnl_bps)
    return LiveTrade(
        trade_id=item.trade_id,
        ts_open=_s(item.ts_open),
        symbol=_s(item.symbol),
        mode=_s(item.mode),
        side=_s(item.side),
        entry_price=finite_or_none(item.entry_price),
        exit_price=finite_or_none(item.exit_price),
        pnl_bps=pnl if pnl is not None else finite_or_none(item.return_bps),
        model_id=_s(item.model_id),
        status=_s(item.status),
        engine_shadow_id=_s(item.engine_shadow_id),
        outcome=_s(item.outcome),
        received_at=_s(item.received_at),
    )


class DayLoader:
    """Records of whole UTC days from the three tables (``by_day`` Query per day).

    With ``settled``, decisions of settled days come from their S3 copy (the one the nightly job keeps,
    verified against the day's count): the report's trend window re-reads the same week every day, and
    all but its last two days can no longer change.
    """

    def __init__(self, tables: Tables, settled: SettledDecisionDays | None = None) -> None:
        self.tables = tables
        self.settled = settled

    @classmethod
    def from_settings(cls, settings: TableSettings) -> DayLoader:
        return cls(bind_tables(settings))

    @classmethod
    def with_settled_copies(cls, settings: TableSettings, bucket: str, *, today: str) -> DayLoader:
        """Settled days (as of ``today``, the event's day) read from ``s3://<bucket>/datasets/decisions``."""
        store = S3Store(bucket, DECISIONS_PREFIX, client=client("s3", settings))
        return cls(bind_tables(settings), SettledDecisionDays(get_repository(settings), store, today=today))

    def decisions(self, days: Iterable[str]) -> list[DecisionRow]:
        model = self.tables.decisions
        out: list[DecisionRow] = []
        for day in days:
            if self.settled is not None and day <= self.settled.cutoff:
                rows = self.settled.decisions_with_outcomes_on_day(day)
                out.extend(decision_row_from_record(rec, outcome) for rec, outcome in rows)
                continue
            with translate_errors("decisions.Query"):
                out.extend(decision_row(i) for i in model.by_day.query(day))
        return out

    def shadow_trades(self, days: Iterable[str]) -> list[ShadowTrade]:
        model = self.tables.shadow_trades
        out: list[ShadowTrade] = []
        for day in days:
            with translate_errors("shadow_trades.Query"):
                out.extend(shadow_trade(i) for i in model.by_day.query(day))
        return out

    def live_trades(self, days: Iterable[str]) -> list[LiveTrade]:
        model = self.tables.trades
        out: list[LiveTrade] = []
        for day in days:
            with translate_errors("trades.Query"):
                out.extend(live_trade(i) for i in model.by_day.query(day))
        return out

    def shadow_by_ids(self, ids: Iterable[str]) -> list[ShadowTrade]:
        """Shadow trades by id (BatchGetItem), e.g. those live trades link to from before the window."""
        keys = sorted(set(ids))
        if not keys:
            return []
        with translate_errors("shadow_trades.BatchGetItem"):
            return [shadow_trade(i) for i in self.tables.shadow_trades.batch_get(keys)]


def read_model_cards(bucket: str, settings: AwsSettings, prefix: str = "models/") -> list[dict[str, Any]]:
    """Every ``models/<name>/<sha>/manifest.json`` in the bucket, and each name's ``challengers.json`` (the
    challengers served in shadow and their last forward look; schema ``huracan.challengers/1``), unverified:
    this is for reporting only."""
    s3 = client("s3", settings)
    cards: list[dict[str, Any]] = []
    with translate_errors("s3.ListObjectsV2"):
        pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
    keys = [
        o["Key"]
        for p in pages
        for o in p.get("Contents", [])
        if o["Key"].endswith("/manifest.json") or o["Key"].endswith("/challengers.json")
    ]
    for key in sorted(keys):
        with translate_errors("s3.GetObject"):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            doc = json.loads(body)
        except ValueError:
            log.warning("unreadable model card %s", key)
            continue
        if isinstance(doc, dict):
            cards.append(doc)
    return cards


def queue_depths(queues: Mapping[str, str | None], settings: AwsSettings) -> dict[str, int | None]:
    """``ApproximateNumberOfMessages`` per named queue URL; None when not configured or not readable
    (a missing permission must not fail the report: the depth is shown as "not measured")."""
    sqs = client("sqs", settings)
    out: dict[str, int | None] = {}
    for name, url in queues.items():
        if not url:
            out[name] = None
            continue
        try:
            with translate_errors("sqs.GetQueueAttributes"):
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            out[name] = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        except AdapterError as exc:
            log.warning("queue depth of %s not readable: %s", name, exc)
            out[name] = None
    return out
