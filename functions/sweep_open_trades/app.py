"""SweepOpenTradesFunction: hourly, resolve OPEN shadow trades past their window that have no running timer.

Thin by design (STYLE.md): settings validated at cold start; the time comes from the schedule event (``time``),
never the wall clock; the body hands it to :class:`huracan.service.sweep.Sweeper`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from huracan.adapters.repository import get_repository
from huracan.adapters.settings import SweepSettings
from huracan.adapters.timers import StepFunctionsTimers
from huracan.core.config import load_config
from huracan.core.timeutil import epoch_s
from huracan.service.resolve import OutcomeResolver
from huracan.service.sweep import Sweeper

__all__ = ["lambda_handler", "service"]

logger = Logger(service="huracan-sweep-open-trades")


@cache
def service() -> Sweeper:
    """Built on first use: a bad environment fails the first invocation, naming the variable."""
    settings = SweepSettings.from_env()
    repository = get_repository(settings)
    return Sweeper(
        trades=repository,
        timers=StepFunctionsTimers(settings.timer_state_machine_arn, settings),
        resolver=OutcomeResolver(store=repository, config=load_config(settings.profile), log=logger),
        log=logger,
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    when = event.get("time") if isinstance(event, dict) else None
    if not isinstance(when, str):
        raise ValueError(f"the sweeper needs the schedule event's 'time', got {when!r}")
    result = service().sweep(epoch_s(when))
    logger.info("sweep", extra=result.payload())
    return result.payload()
