"""Crashes mid-batch and throttling: retried, and the end state is the clean run's."""

from __future__ import annotations

import pytest

from huracan.local.faults import EVALUATE, RESOLVE, FaultPlan
from huracan.local.replay import StreamRecord
from tests.faults.conftest import Run, assert_same_tables, run_replay


def test_promise_a_handler_killed_after_some_writes_then_retried_ends_as_if_it_never_crashed(
    half_day: list[StreamRecord], clean_half_day: Run
) -> None:
    plan = FaultPlan(seed=5, crash_rate=1.0, max_crash_after=8, functions=frozenset({EVALUATE}))
    run = run_replay(half_day, plan)
    run.books.assert_ok()
    assert run.stats.injected["crash"] >= 10 and run.stats.crashed_invocations == run.stats.injected["crash"]
    assert run.poller.handler_errors == run.stats.crashed_invocations and run.poller.sent_to_on_failure == 0
    assert_same_tables(clean_half_day, run)


@pytest.mark.slow
def test_promise_dynamodb_and_step_functions_throttling_is_retried_with_backoff_and_loses_nothing(
    half_day: list[StreamRecord], clean_half_day: Run
) -> None:
    plan = FaultPlan(seed=9, throttle_rate=0.12, functions=frozenset({EVALUATE, RESOLVE}))
    run = run_replay(half_day, plan)
    run.books.assert_ok()
    assert run.stats.injected["throttle_dynamodb"] >= 10 and run.stats.injected["throttle_stepfunctions"] >= 1
    # the stream side: failed records retried by the mapping (from the checkpoint), none given up
    assert run.poller.partial_failures + run.poller.handler_errors >= 3 and run.poller.sent_to_on_failure == 0
    # the timer side: the resolver's TransientError retried by the state machine with exponential backoff
    assert 5.0 in run.backoff_waits and all(w in (5.0, 10.0, 20.0, 40.0, 80.0) for w in run.backoff_waits)
    assert run.books.trade_status == clean_half_day.books.trade_status
    assert_same_tables(clean_half_day, run)
