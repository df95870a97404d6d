"""At-least-once delivery: duplicates and retried batches make no duplicate trade, timer or resolution."""

from __future__ import annotations

from huracan.local.faults import EVALUATE, FaultPlan
from huracan.local.replay import StreamRecord
from tests.faults.conftest import Run, assert_same_tables, run_replay


def test_promise_every_record_delivered_twice_and_partial_batch_retries_duplicate_nothing(
    half_day: list[StreamRecord], clean_half_day: Run
) -> None:
    """Every batch is delivered twice, and DynamoDB / Step Functions throttles make batches fail part-way
    (ReportBatchItemFailures) and be retried from the failed record: zero duplicate trades or executions,
    the same tables as the clean run."""
    # the seed places the throttles by call number within each invocation; seed 11 stopped landing two of them on
    # per-record writes once the shadow challengers changed the batch's call sequence (1 partial failure)
    plan = FaultPlan(seed=12, duplicate_rate=1.0, throttle_rate=0.06, functions=frozenset({EVALUATE}))
    run = run_replay(half_day, plan)
    run.books.assert_ok()
    # the faults really happened: every record reached the handler at least twice, batches failed part-way
    assert len(run.stats.record_deliveries) == len(half_day)
    assert min(run.stats.record_deliveries.values()) >= 2
    assert (
        run.stats.duplicates_delivered >= run.poller.batches - run.poller.handler_errors - run.poller.partial_failures
    )
    assert run.poller.partial_failures >= 2 and run.poller.retries >= 2
    assert run.stats.injected["throttle_dynamodb"] >= 2
    # ... and nothing was duplicated: one trade per pass, one execution per trade, each closed once
    assert run.books.duplicate_executions == [] and run.books.resolved_twice == []
    assert run.books.executions == run.books.trades == run.books.passes == clean_half_day.books.passes
    assert_same_tables(clean_half_day, run)
