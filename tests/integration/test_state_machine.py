"""The real shadow-trade timer from template.yaml on moto's Step Functions interpreter, Lambda tasks
dispatched to the real resolve_outcome handler in-process (huracan.local.stack).

The executions use the deployed definition unchanged (production Retry intervals: one injected transient
fault costs one 5 s wait in real time). ``resolve_at`` is in the past, so the Wait state passes at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from huracan.adapters.errors import TransientError
from huracan.adapters.repository import Repository
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.barriers import Barriers, barrier_prices
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.records import Bar
from huracan.core.strategies import signals_history
from huracan.core.timeutil import from_epoch_s
from huracan.local.aws import embedded_aws
from huracan.local.stack import LocalStack
from huracan.service.entities import ShadowTradeRecord
from huracan.service.evaluate import resolve_at

FN = "ResolveOutcomeFunction"
SYMBOL = "BTC-PERP"
FIRST, LAST = 10 * 1440, 10 * 1440 + 600  # ten hours of real bars in the prices table


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    saved = {k: os.environ.get(k) for k in ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_NAMESPACE")}
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"
    with embedded_aws() as aws:
        st = LocalStack(aws).deploy()
        assert st.lambdas is not None
        st.lambdas.apply_environment()
        st.lambdas.install()
        try:
            yield st
        finally:
            st.lambdas.uninstall()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def repo(stack: LocalStack) -> Repository:
    return Repository(bind_tables(TableSettings.model_validate(dict(os.environ))))


@pytest.fixture(scope="module")
def bars_loaded(repo: Repository, ftx_month: BarArrays) -> BarArrays:
    b = ftx_month
    repo.put_bars(
        [
            Bar(
                type="bar",
                symbol=SYMBOL,
                ts=from_epoch_s(int(b.ts[i])),
                open=float(b.open[i]),
                high=float(b.high[i]),
                low=float(b.low[i]),
                close=float(b.close[i]),
                volume=float(b.volume[i]),
            )
            for i in range(FIRST, LAST)
        ],
        None,
    )
    return b


def open_trade(repo: Repository, bars: BarArrays, n: int, name: str) -> ShadowTradeRecord:
    """A scalp on the n-th real strategy signal inside the loaded hours, opened as the evaluator would."""
    cfg = load_config(os.environ.get("HURACAN_PROFILE", "seed"))
    sigs = signals_history(bars)
    ks = [k for k in sigs.bar_idx.tolist() if FIRST + 5 <= k < LAST - 20]
    j = sigs.bar_idx.tolist().index(ks[n])
    k, side = ks[n], sigs.side[j]
    m = cfg.mode("scalp")
    t0, entry = int(bars.ts[k]) + 60, float(bars.close[k])
    tp, sl = barrier_prices(entry, side, Barriers.from_mode(m))
    rec = ShadowTradeRecord(
        shadow_id=f"shadow_{name}",
        signal_id=f"sig_{name}",
        ts=from_epoch_s(t0),
        day=from_epoch_s(t0)[:10],
        symbol=SYMBOL,
        mode="scalp",
        side=side,
        strategy=sigs.strategy[j],
        entry_price=entry,
        tp_price=tp,
        sl_price=sl,
        timeout_at=from_epoch_s(t0 + m.timeout_sec),
        simulated_size_gbp=100.0,
        simulated_fee_gbp=0.1,
        predicted_win_prob=float(sigs.confidence[j]),
        prob_source="prior",
        features_json="{}",
        fill_assumptions={"spread_bps": 2.0, "fee_bps_per_side": 5.0, "tp_bps": m.tp_bps, "sl_bps": m.sl_bps},
        model_id=None,
        regime="TREND",
        config_version=cfg.version,
    )
    repo.create_shadow_trade(rec)
    return rec


def run(stack: LocalStack, trade: ShadowTradeRecord, timeout_s: float = 90.0) -> dict[str, Any]:
    """Start the timer as the evaluator does (named after the shadow id) and wait until it ends."""
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=stack.physical["ShadowTradeTimer"],
        name=trade.shadow_id,
        input=json.dumps(
            {
                "shadow_id": trade.shadow_id,
                "signal_id": trade.signal_id,
                "symbol": trade.symbol,
                "mode": trade.mode,
                "side": trade.side,
                "timeout_at": trade.timeout_at,
                "resolve_at": resolve_at(trade.timeout_at, 0),
            }
        ),
    )["executionArn"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        desc: dict[str, Any] = dict(sfn.describe_execution(executionArn=arn))
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.2)
    raise AssertionError(f"execution {trade.shadow_id} still running after {timeout_s}s")


def row(repo: Repository, shadow_id: str) -> dict[str, Any]:
    return dict(repo.tables.shadow_trades.get(shadow_id, consistent_read=True).attribute_values)


def invocations(stack: LocalStack) -> int:
    assert stack.lambdas is not None
    return stack.lambdas.invocations.get(FN, 0)


def test_success_closes_the_trade_with_the_resolvers_outcome(
    stack: LocalStack, repo: Repository, bars_loaded: BarArrays
) -> None:
    from huracan.service.resolve import resolve_path, terms_of

    trade = open_trade(repo, bars_loaded, 0, "ok")
    before = invocations(stack)
    desc = run(stack, trade)
    assert desc["status"] == "SUCCEEDED", desc
    assert invocations(stack) - before == 1
    got = row(repo, trade.shadow_id)
    expected = resolve_path(terms_of(trade, load_config(os.environ.get("HURACAN_PROFILE", "seed"))), bars_loaded)
    assert got["status"] == "CLOSED"
    assert (got["exit_reason"], got["actual_outcome"]) == (expected.exit_reason, expected.actual_outcome)
    assert got["exit_price"] == expected.exit_price and got["duration_sec"] == expected.duration_sec
    output = json.loads(desc["output"])
    assert output["status"] == "CLOSED" and output["exit_reason"] == expected.exit_reason


def test_transient_failures_are_retried_and_the_execution_succeeds(
    stack: LocalStack, repo: Repository, bars_loaded: BarArrays
) -> None:
    assert stack.lambdas is not None
    trade = open_trade(repo, bars_loaded, 1, "retried")
    failures = {"left": 1}

    def throttle_once(event: dict[str, Any]) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise TransientError("ProvisionedThroughputExceededException (injected)")

    stack.lambdas.faults[FN] = throttle_once
    before = invocations(stack)
    try:
        desc = run(stack, trade)
    finally:
        stack.lambdas.faults.pop(FN, None)
    assert desc["status"] == "SUCCEEDED", desc
    assert invocations(stack) - before == 2  # the failed attempt, then the retry
    assert row(repo, trade.shadow_id)["status"] == "CLOSED"
    sfn = boto3.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=desc["executionArn"], maxResults=1000)["events"]
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert len(failed) == 1 and failed[0]["taskFailedEventDetails"]["error"] == "TransientError"


def test_permanent_failure_marks_the_trade_error_and_dead_letters_it(
    stack: LocalStack, repo: Repository, bars_loaded: BarArrays
) -> None:
    assert stack.lambdas is not None
    trade = open_trade(repo, bars_loaded, 2, "broken")

    def broken(event: dict[str, Any]) -> None:
        raise ValueError("corrupt trade row (injected)")

    stack.lambdas.faults[FN] = broken
    before = invocations(stack)
    try:
        desc = run(stack, trade)
    finally:
        stack.lambdas.faults.pop(FN, None)
    assert desc["status"] == "FAILED", desc
    assert invocations(stack) - before == 1  # a permanent error is not retried
    got = row(repo, trade.shadow_id)
    assert got["status"] == "ERROR"
    assert "ValueError" in got["error_cause"] and "corrupt trade row" in got["error_cause"]
    sqs = boto3.client("sqs")
    url = stack.physical["TimerDeadLetterQueue"]
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in msgs]
    mine = [b for b in bodies if b.get("shadow_id") == trade.shadow_id]
    assert len(mine) == 1 and mine[0]["error"]["Error"] == "ValueError"
    # the resolver now finds an ERROR trade: a re-drive changes nothing
    assert stack.lambdas.invoke(FN, {"shadow_id": trade.shadow_id})["status"] == "ALREADY_RESOLVED"
    assert row(repo, trade.shadow_id) == got
