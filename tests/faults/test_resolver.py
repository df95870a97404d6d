"""The resolver failing: retried with backoff; when it keeps failing, Catch -> ERROR + dead-letter, and
the failure shows in the health figures. The other trades are untouched."""

from __future__ import annotations

import json
from typing import Any

import boto3

from huracan.adapters.observability_sources import DailySummarySettings, DayLoader, queue_depths
from huracan.local.faults import FaultInjector
from huracan.local.replay import StreamRecord
from huracan.local.runtime import LocalRuntime
from huracan.observability.health import HealthInputs, system_health
from tests.faults.conftest import Run, comparable, run_replay


def test_promise_a_failing_resolver_is_retried_then_caught_as_error_on_the_dead_letter_queue_and_in_health(
    half_day: list[StreamRecord], clean_half_day: Run
) -> None:
    closed = sorted(
        (t for t in clean_half_day.tables["ShadowTradesTable"] if t["status"] == "CLOSED"), key=lambda t: t["ts"]
    )
    recovers, broken, exhausted = (str(t["shadow_id"]) for t in closed[:3])

    def setup(rt: LocalRuntime, injector: FaultInjector) -> None:
        injector.fail_resolver_for(recovers, transient_times=2)  # Retry: 5 s, then 10 s, then it closes
        injector.fail_resolver_for(broken, permanent=True)  # no Retry matches: Catch at once
        injector.fail_resolver_for(exhausted, transient_times=99)  # Retry exhausted (5 attempts), then Catch

    seen: dict[str, Any] = {}

    def after(rt: LocalRuntime, injector: FaultInjector, run: Run) -> None:
        sqs = boto3.client("sqs")
        url = rt.physical("TimerDeadLetterQueue")
        settings = DailySummarySettings.from_env()
        depths = queue_depths({"TimerDeadLetterQueue": url, "StreamDeadLetterQueue": None}, settings)
        loader = DayLoader.from_settings(settings)
        day = str(closed[0]["day"])
        seen["health"] = system_health(
            loader.decisions([day]),
            loader.shadow_trades([day]),
            day,
            f"{day}T23:59:00Z",
            HealthInputs(queue_depths=depths),
        )
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        seen["dead_letters"] = [json.loads(m["Body"]) for m in got.get("Messages", [])]

    run = run_replay(half_day, setup=setup, after=after)
    run.books.assert_ok()
    trades = run.trades()
    # retried with backoff, then closed exactly like the clean run
    assert trades[recovers] == clean_half_day.trades()[recovers]
    assert run.backoff_waits[:2] == [5.0, 10.0]
    assert sorted(run.backoff_waits) == sorted([5.0, 10.0, *(5.0, 10.0, 20.0, 40.0, 80.0)])
    # permanent failure and exhausted retries: ERROR with the cause, on the timer dead-letter queue
    assert trades[broken]["status"] == "ERROR" and trades[broken]["error_type"] == "ResolverFailure"
    assert trades[exhausted]["status"] == "ERROR" and trades[exhausted]["error_type"] == "TransientError"
    assert "injected" in trades[broken]["error_cause"]
    parked = sorted(str(m["shadow_id"]) for m in seen["dead_letters"])
    assert parked == sorted([broken, exhausted])
    assert all(m["error"]["Error"] in ("ResolverFailure", "TransientError") for m in seen["dead_letters"])
    assert run.stats.closed_by_resolver[broken] == run.stats.closed_by_resolver[exhausted] == 0
    # visible in health: the error rate, the dead-letter depth, and the report is not OK
    health = seen["health"]
    assert health.inputs.queue_depths["TimerDeadLetterQueue"] == 2
    assert health.shadow_error_rate is not None and health.shadow_error_rate > 0
    assert not health.ok
    # nothing else changed: every other trade and every decision and price as in the clean run
    a, b = comparable(clean_half_day.tables), comparable(run.tables)
    assert a["DecisionsTable"] == b["DecisionsTable"] and a["PricesTable"] == b["PricesTable"]
    others_clean = [t for t in a["ShadowTradesTable"] if t["shadow_id"] not in (broken, exhausted)]
    others = [t for t in b["ShadowTradesTable"] if t["shadow_id"] not in (broken, exhausted)]
    assert others == others_clean
