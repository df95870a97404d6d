"""EvaluateSignalsFunction: Kinesis market stream -> prices, decisions, shadow trades, timers.

Thin by design (STYLE.md): settings are validated at cold start, the adapters are wired once, and the
body hands the batch to :mod:`huracan.service.evaluate` and Powertools' partial-batch response.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from huracan.adapters.queues import DeadLetterQueue
from huracan.adapters.repository import get_repository
from huracan.adapters.settings import EvaluateSignalsSettings
from huracan.adapters.timers import StepFunctionsTimers
from huracan.core.config import engine_config
from huracan.observability.levels import emit_counters
from huracan.service.evaluate import (
    ChallengerProvider,
    ModelProvider,
    RegimeProvider,
    SignalService,
    no_challengers,
    no_detector,
    no_model,
)
from huracan.serving.challengers import RegistryChallengerProvider, challengers_from_env
from huracan.serving.provider import PointerWatcher, provider_from_env
from huracan.serving.regime import regime_provider_from_env

__all__ = ["lambda_handler", "service"]

logger = Logger(service="huracan-evaluate-signals")
metrics = Metrics(namespace="Huracan", service="evaluate-signals")
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)

#: The latest verified model from the registry on ``$HURACAN_MODEL_PATH`` / ``s3://$MODEL_BUCKET/models``
#: (loaded on the first batch with signals, re-checked every ``$MODEL_REFRESH_SECONDS``); no registry
#: configured or nothing published yet -> None -> the documented prior. Tests may replace it.
model_provider: ModelProvider = provider_from_env() or no_model
#: The published regime detector (``models/regime_detector/latest.json``, same registry, same checks and
#: refresh); none published or refused -> None -> the rule classifies. ``REGIME_MODEL_NAME=none`` disables it.
regime_provider: RegimeProvider = (
    regime_provider_from_env(share_registry_with=model_provider if isinstance(model_provider, PointerWatcher) else None)
    or no_detector
)
#: The live challengers (``models/meta_label/challengers.json``, at most two), each verified by id and scored
#: in shadow: their probabilities are stored on the decision, never gate. No registry -> none.
challenger_provider: ChallengerProvider = challengers_from_env(os.environ) or no_challengers


@cache
def service() -> SignalService:
    """Built on first use: a bad environment fails the first invocation, naming the variable."""
    settings = EvaluateSignalsSettings.from_env()
    config = engine_config(settings.profile, settings.config_file)
    # the models' input columns come from the settings (bar + signal features, then extra_features): a model
    # trained on the declared extras finds them by name, one trained without them picks its own columns
    for provider in (model_provider, regime_provider, challenger_provider):
        if isinstance(provider, (PointerWatcher, RegistryChallengerProvider)):
            provider.use_input_features(config.model_features)
    return SignalService(
        store=get_repository(settings),
        dead_letters=DeadLetterQueue(
            settings.dead_letter_queue_url, settings, claim_bucket=settings.dead_letter_bucket
        ),
        timers=StepFunctionsTimers(settings.timer_state_machine_arn, settings),
        config=config,
        log=logger,
        model_provider=lambda: model_provider(),
        regime_provider=lambda: regime_provider(),
        challenger_provider=lambda: challenger_provider(),
        prices_ttl_days=settings.prices_ttl_days,
        decisions_ttl_days=settings.decisions_ttl_days,
        ingest_lag_sec=settings.ingest_lag_seconds,
        max_future_skew_s=settings.max_future_skew_s,
        max_record_age_days=settings.max_record_age_days,
    )


# No Powertools Tracer here: importing the X-Ray SDK costs ~150 ms of every cold start on the hot path
# (issue 7's budget is 500 ms). The function traces PassThrough (see template.yaml's TracingJustifications).
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    batch = service().prepare(event.get("Records", []))

    def record_handler(record: KinesisStreamRecord) -> None:
        batch.handle(record.kinesis.sequence_number)

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # $HURACAN_METRICS_LEVEL decides which counters are custom metrics; the rest are fields of one log line.
    fields = emit_counters(metrics, vars(batch.counters), function="evaluate-signals")
    if fields:
        logger.info("batch", extra=fields)
    return response
