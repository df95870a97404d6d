"""ResolveOutcomeFunction: the shadow-trade timer's Task -> close the trade from its price path, once.

Thin by design (STYLE.md): settings are validated at cold start and the body hands the shadow id to
:class:`huracan.service.resolve.OutcomeResolver`. Errors are the state machine's business: a
``TransientError`` (throttling, or a price path whose last bars have not arrived) propagates with exactly
that class name, which the ASL's Retry matches; anything else is permanent and its Catch marks the trade
ERROR and parks it on the timer dead-letter queue.

Input (the execution input): ``{"shadow_id": ..., "timeout_at": ..., ...}``; ``"final": true`` (a re-drive)
closes a still-incomplete path as NO_DATA instead of waiting for more bars.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from huracan.adapters.errors import TransientError
from huracan.adapters.repository import get_repository
from huracan.adapters.settings import ResolveOutcomeSettings
from huracan.core.config import engine_config
from huracan.observability.levels import emit_counters
from huracan.service.resolve import CLOSED, OutcomeResolver

__all__ = ["lambda_handler", "service"]

logger = Logger(service="huracan-resolve-outcome")
metrics = Metrics(namespace="Huracan", service="resolve-outcome")
tracer = Tracer(service="huracan-resolve-outcome")


@cache
def service() -> OutcomeResolver:
    """Built on first use: a bad environment fails the first invocation, naming the variable."""
    settings = ResolveOutcomeSettings.from_env()
    return OutcomeResolver(
        store=get_repository(settings), config=engine_config(settings.profile, settings.config_file), log=logger
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    shadow_id = event.get("shadow_id") if isinstance(event, dict) else None
    if not isinstance(shadow_id, str) or not shadow_id:
        raise ValueError(f"resolver input needs a non-empty string shadow_id, got {shadow_id!r}")
    try:
        result = service().resolve(shadow_id, final=bool(event.get("final", False)))
    except TransientError as exc:
        _count("resolve_transient", shadow_id)
        if type(exc) is not TransientError:  # the ASL matches the class name: report exactly this one
            raise TransientError(str(exc), operation=exc.operation, code=exc.code) from exc
        raise
    if result.status == CLOSED and result.outcome is not None:
        _count(f"outcome_{result.outcome.actual_outcome}", shadow_id)
    else:
        _count("already_resolved", shadow_id)
    return result.payload()


def _count(name: str, shadow_id: str) -> None:
    """A metric at the ``full`` level; otherwise a log field (per-trade metrics are billed as whole months)."""
    fields = emit_counters(metrics, {name: 1}, function="resolve-outcome")
    if fields:
        logger.info("counted", extra={"shadow_id": shadow_id, **fields})
