"""DailySummaryFunction (EventBridge, 23:00 UTC): the day's figures -> HTML report in S3 -> SNS headline.

Thin by design: the day and "now" come from the scheduler event's ``time`` (never the wall clock), the
adapters are wired once per container, and :mod:`huracan.observability.daily` does the work. Iterator
age / records behind are not visible from here; a caller that knows them (the local poller) may pass
``detail.iterator_age_ms`` / ``detail.records_behind`` in the event.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from huracan.adapters.observability_sources import DailySummarySettings, DayLoader, queue_depths, read_model_cards
from huracan.adapters.reports_store import Notifier, ReportsStore
from huracan.adapters.repository import get_repository
from huracan.core.config import engine_config
from huracan.observability.daily import collect_summary, day_of, publish_summary
from huracan.observability.emf import emit_daily_summary
from huracan.observability.health import HealthInputs
from huracan.service.counterfactuals import resolve_counterfactuals

__all__ = ["lambda_handler", "settings"]

logger = Logger(service="huracan-daily-summary")
metrics = Metrics(namespace="Huracan", service="daily-summary")


@cache
def settings() -> DailySummarySettings:
    """Validated on first use: a bad environment fails the first invocation, naming the variable."""
    return DailySummarySettings.from_env()


def _health_inputs(event: dict[str, Any], s: DailySummarySettings) -> HealthInputs:
    raw = event.get("detail")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    age = detail.get("iterator_age_ms")
    behind = detail.get("records_behind")
    return HealthInputs(
        iterator_age_ms=float(age) if isinstance(age, int | float) else None,
        records_behind=int(behind) if isinstance(behind, int) else None,
        queue_depths=queue_depths(
            {"StreamDeadLetterQueue": s.dead_letter_queue_url, "TimerDeadLetterQueue": s.timer_dlq_url}, s
        ),
    )


# No Powertools Tracer: the X-Ray SDK's import alone is ~145 ms of the cold start, for subsegments of one
# run a day. The function stays Tracing Active (template Globals), so Lambda still records each run's
# initialisation and invocation segments; the S3 / DynamoDB calls inside are timed in the logs instead.
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    s = settings()
    as_of = str(event["time"])
    day = day_of(as_of)
    config = engine_config(s.profile, s.config_file)
    # Label the day's blocked signals whose window has ended, so tonight's report can say which blocks were
    # good and which were bad (the same batch labeller the nightly job runs; already-labelled rows are skipped).
    repo = get_repository(s)
    resolve_counterfactuals(as_of, store=repo, bars=[repo], config=config, lookback_days=1)
    summary = collect_summary(
        day,
        as_of,
        DayLoader.with_settled_copies(s, s.model_bucket, today=day),
        read_model_cards(s.model_bucket, s),
        health_inputs=_health_inputs(event, s),
        lookback_days=s.lookback_days,
        modes=sorted(config.modes),
    )
    emit_daily_summary(metrics, summary)
    published = publish_summary(summary, ReportsStore(s.model_bucket, s), Notifier(s.notifications_topic_arn, s))
    logger.info("daily summary published", extra={"day": day, "url": published.url, "headline": published.headline})
    return {"day": day, "report": published.url, "message_id": published.message_id, "headline": published.headline}
