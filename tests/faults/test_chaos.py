"""Chaos replay: two real days, clean and with every kind of fault at a set rate, end in the same tables."""

from __future__ import annotations

import json

import pytest

from huracan.core.bars import BarArrays
from huracan.local.faults import FaultPlan
from tests.faults.conftest import assert_same_tables, records_for, run_replay

RATE = 0.05
SEED = 2022
DAYS = (2 * 1440, 4 * 1440)  # 2022-01-02 23:01 .. 2022-01-04 23:00, 48 hours of FTX bars


@pytest.mark.slow
def test_promise_chaos_replay_ends_with_exactly_the_tables_of_the_clean_replay(ftx_month: BarArrays) -> None:
    """Handler crashes mid-batch, DynamoDB / Step Functions throttling, duplicate deliveries and resolver
    failures, each at 5 % (seeded): the same decisions, shadow trades with outcomes, prices and live
    trades as the clean replay of the same days, nothing parked, nothing lost, nothing done twice."""
    records = records_for(ftx_month, *DAYS)
    clean = run_replay(records)
    chaos = run_replay(records, FaultPlan(rate=RATE, seed=SEED))
    for run in (clean, chaos):
        run.books.assert_ok()
        assert run.books.parked == 0 and run.books.lost == []
    # every kind of fault really happened
    kinds = chaos.stats.injected
    assert kinds["crash"] >= 1 and kinds["duplicate"] >= 1 and kinds["resolver_transient"] >= 1
    assert kinds["throttle_dynamodb"] >= 5 and kinds["throttle_stepfunctions"] >= 1
    assert chaos.poller.handler_errors >= 1 and chaos.poller.sent_to_on_failure == 0
    assert chaos.backoff_waits  # timers retried on the virtual clock
    assert_same_tables(clean, chaos)
    assert chaos.books.figures() == clean.books.figures()
    print(json.dumps({"chaos": {"rate": RATE, "seed": SEED, **chaos.stats.figures(), **chaos.books.figures()}}))
