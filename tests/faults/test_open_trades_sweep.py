"""Bad luck: Step Functions refuses StartExecution for longer than the stream's retry budget (issue 17, row 10).

Before the fix: every trade passed during the outage stayed OPEN with no timer, for ever (7 of 7), because the
record went to the dead-letter queue after its retries but the trade row was already written. Now the hourly
sweeper (``SweepOpenTradesFunction``, on the template's schedule and the replay's clock) finds OPEN trades past
their window with no running timer and resolves them, once.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import botocore.client
import botocore.exceptions
import pytest

from huracan.core.timeutil import epoch_s
from huracan.local.clock import scheduled_event
from huracan.local.faults import FaultInjector
from huracan.local.replay import StreamRecord
from huracan.local.runtime import LocalRuntime
from tests.faults.conftest import Run, run_replay

SWEEP = "SweepOpenTradesFunction"
GRACE_S = 900  # the sweeper's grace after a window ends (huracan.service.sweep.Sweeper)
FIGURES: dict[str, int] = {}


@contextlib.contextmanager
def start_execution_refused(rt: LocalRuntime, until: float) -> Iterator[None]:
    """Every StartExecution is refused (throttled) while the replay's clock is before ``until``."""

    def refuse(model: Any = None, **_: Any) -> None:
        if model is not None and model.name == "StartExecution" and rt.clock.now() < until:
            response: Any = {
                "Error": {"Code": "ThrottlingException", "Message": "injected: Step Functions outage"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise botocore.exceptions.ClientError(response, "StartExecution")

    hooked: list[Any] = []

    def hook(client: Any) -> None:
        client.meta.events.register("before-call.states.StartExecution", refuse, unique_id="outage")
        hooked.append(client)

    original = botocore.client.ClientCreator.create_client

    def create_client(creator: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(creator, *args, **kwargs)
        hook(client)
        return client

    botocore.client.ClientCreator.create_client = create_client  # type: ignore[method-assign]
    for obj in gc.get_objects():
        if isinstance(obj, botocore.client.BaseClient):
            hook(obj)
    try:
        yield
    finally:
        # only if still ours: the fault injector, installed before us, may already have put back the true original
        if botocore.client.ClientCreator.create_client is create_client:
            botocore.client.ClientCreator.create_client = original  # type: ignore[method-assign]
        for client in hooked:
            client.meta.events.unregister("before-call.states.StartExecution", unique_id="outage")


@pytest.fixture(scope="module")
def outage_run(half_day: list[StreamRecord]) -> Run:
    start = half_day[0].publish_at
    end = max(r.publish_at for r in half_day)
    outage: contextlib.ExitStack = contextlib.ExitStack()

    def setup(rt: LocalRuntime, injector: FaultInjector) -> None:
        outage.enter_context(start_execution_refused(rt, until=start + 4 * 3600))  # the first four hours

    def after(rt: LocalRuntime, injector: FaultInjector, run: Run) -> None:
        outage.close()
        # the hour's sweep at the end of the data, as the schedule would fire it next
        if rt.stack is not None and SWEEP in rt.stack.physical:  # (absent before the fix: nothing swept)
            event = scheduled_event("SweepOpenTradesFunctionHourly", end, "eu-west-2")
            run.extra["last_sweep"] = rt.lambdas.invoke(SWEEP, event)

    try:
        return run_replay(half_day, setup=setup, after=after)
    finally:
        outage.close()


def test_promise_no_trade_stays_open_past_its_window_after_a_step_functions_outage(
    outage_run: Run, half_day: list[StreamRecord]
) -> None:
    run = outage_run
    end = max(r.publish_at for r in half_day)
    trades = run.trades()
    open_past = [t for t in trades.values() if t["status"] == "OPEN" and epoch_s(str(t["timeout_at"])) + GRACE_S < end]
    swept = [s for s, n in run.stats.closed_by_resolver.items() if n]
    FIGURES.update(
        trades=len(trades),
        open_past_window=len(open_past),
        parked_by_mapping=run.poller.records_on_failure,
        lost=len(run.books.lost),
    )
    # the outage really refused timers (records gave up to the dead-letter queue) ...
    assert run.poller.sent_to_on_failure >= 1 and run.poller.records_on_failure >= 1
    # ... and still: no trade OPEN past its window, none resolved twice, nothing lost
    assert open_past == [], [t["shadow_id"] for t in open_past]
    assert all(n == 1 for n in run.stats.closed_by_resolver.values())
    closed = {s for s, t in trades.items() if t["status"] == "CLOSED"}
    assert closed == set(swept)
    # the trades whose timer was refused were resolved by the sweeper, not left for ever
    assert run.books.trades_without_timer and all(trades[s]["status"] != "OPEN" for s in run.books.trades_without_timer)
    FIGURES["resolved_without_timer"] = len(run.books.trades_without_timer)
    print(FIGURES)  # the figures the issue note records
    assert run.books.lost == []
