"""Two real days through the whole local stack: every record accounted for, every trade resolved.

The stack is created from template.yaml; records go through the Kinesis poller into the real
evaluate_signals handler; timers run the real state machine on moto's interpreter and call the real
resolver; the 23:00 daily summary fires on the virtual clock.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.bars import BarArrays
from huracan.core.strategies import signals_history
from huracan.core.timeutil import epoch_s
from huracan.local.replay import StreamRecord, build_records
from huracan.local.runtime import LocalRuntime
from huracan.service.evaluate import shadow_id_for


@dataclass
class Replayed:
    records: list[StreamRecord]
    decisions: list[Any]
    trades: list[Any]
    prices: int
    dlq_messages: int
    timer_dlq_messages: int
    fired: list[tuple[str, str]]
    reports: list[str]


@pytest.fixture(scope="module")
def replayed(ftx_month: BarArrays) -> Iterator[Replayed]:
    bars = ftx_month.slice(0, 2 * 1440)
    records = build_records(bars, "BTC-PERP", signals_history(bars))
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(
            parameters={"HuracanProfile": "demo"},
            skip_schedules={"IngestMarketFunctionEveryMinute", "NightlyTrainingRule"},
        ) as rt,
    ):
        rt.replay(records)
        rt.finish(records[-1].publish_at)
        tables = bind_tables(TableSettings.from_env())
        sqs = boto3.client("sqs")

        def depth(lid: str) -> int:
            url = rt.physical(lid)
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            return int(attrs["Attributes"]["ApproximateNumberOfMessages"])

        s3 = boto3.client("s3")
        bucket = rt.physical("ModelBucket")
        reports = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/").get("Contents", [])]
        yield Replayed(
            records=records,
            decisions=list(tables.decisions.scan()),
            trades=list(tables.shadow_trades.scan()),
            prices=sum(1 for _ in tables.prices.scan()),
            dlq_messages=depth("StreamDeadLetterQueue"),
            timer_dlq_messages=depth("TimerDeadLetterQueue"),
            fired=list(rt.scheduler.fired),
            reports=reports,
        )


def test_every_signal_has_a_decision_and_every_bar_is_stored(replayed: Replayed) -> None:
    sent = [r.payload for r in replayed.records]
    signals = {p["signal_id"] for p in sent if p["type"] == "signal"}
    assert {d.signal_id for d in replayed.decisions} == signals
    assert replayed.prices == sum(1 for p in sent if p["type"] == "bar")
    assert replayed.dlq_messages == 0


def test_every_pass_has_exactly_one_shadow_trade(replayed: Replayed) -> None:
    passed = [d for d in replayed.decisions if d.passed]
    assert passed, "the demo profile must let some signals through"
    assert {t.shadow_id for t in replayed.trades} == {shadow_id_for(d.signal_id) for d in passed}
    assert len(replayed.trades) == len(passed)


def test_every_trade_whose_window_is_in_the_data_is_resolved(replayed: Replayed) -> None:
    end_of_data = replayed.records[-1].publish_at
    due = [t for t in replayed.trades if epoch_s(t.timeout_at) + 60 <= end_of_data]
    later = [t for t in replayed.trades if epoch_s(t.timeout_at) + 60 > end_of_data]
    assert due
    for t in due:
        assert t.status == "CLOSED", (t.shadow_id, t.status, t.error_cause)
        assert t.exit_reason in ("TP", "SL", "timeout")
        assert t.actual_outcome in ("WIN", "LOSS", "BREAKEVEN")
    assert all(t.status == "OPEN" for t in later)
    assert replayed.timer_dlq_messages == 0
    # both modes resolve, with more than one kind of exit
    assert {t.mode for t in due} == {"scalp", "runner"}
    assert len({t.exit_reason for t in due}) >= 2


def test_decisions_record_every_gate_with_value_and_threshold(replayed: Replayed) -> None:
    for d in replayed.decisions[:50]:
        gates = d.gates.as_dict() if hasattr(d.gates, "as_dict") else dict(d.gates)
        assert set(gates) == {
            "meta_label_gate",
            "cost_gate",
            "confidence_gate",
            "regime_gate",
            "spread_gate",
            "volume_gate",
        }
        assert bool(d.passed) == (not list(d.blocked_by or []))
        json.loads(d.features_json)


def test_the_daily_summary_fired_on_the_virtual_clock(replayed: Replayed) -> None:
    assert [name for name, _ in replayed.fired].count("DailySummaryFunctionNightly") == 2
    assert any(k.endswith("/index.html") for k in replayed.reports)
