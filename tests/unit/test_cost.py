"""The cost formula on known counts: every figure is worked out by hand from the prices below."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from huracan.cost import PRICES_PATH, StackShape, Target, cost_main, load_prices, price, stack_shape

# Round prices so the expected figures can be checked by hand.
PRICES: dict[str, Any] = {
    "meta": {"region": "test", "taken": "test", "hours_per_month": 700.0, "days_per_month": 30.0},
    "kinesis": {"shard_hour": 0.01, "put_payload_unit_per_million": 1.0},
    "lambda": {"gb_second": 0.001, "request_per_million": 2.0},
    "dynamodb": {
        "write_request_unit_per_million": 1.0,
        "read_request_unit_per_million": 0.5,
        "storage_gb_month": 0.0,
        "pitr_gb_month": 0.0,
    },
    "stepfunctions": {"standard_transition_per_thousand": 0.02},
    "s3": {"put_per_thousand": 0.005, "get_per_thousand": 0.0004, "storage_gb_month": 0.0},
    "sqs": {"request_per_million": 0.4},
    "sns": {"publish_per_million": 0.5, "email_per_hundred_thousand": 2.0},
    "fargate": {"vcpu_hour": 0.1, "gb_hour": 0.01},
    "cloudwatch": {
        "custom_metric_month": 0.3,
        "alarm_month": 0.1,
        "dashboard_month": 3.0,
        "logs_ingest_gb": 0.0,
        "logs_storage_gb_month": 0.0,
    },
    "xray": {"trace_recorded_per_million": 0.0},
    "kms": {"key_month": 1.0, "request_per_ten_thousand": 0.03},
    "secretsmanager": {"secret_month": 0.4, "request_per_ten_thousand": 0.05},
    "apigateway": {"rest_request_per_million": 3.5},
    "free_tier": {
        "lambda_gb_seconds": 0.0,
        "lambda_requests": 0.0,
        "stepfunctions_transitions": 4000.0,
        "sqs_requests": 0.0,
        "sns_publishes": 0.0,
        "cloudwatch_custom_metrics": 10.0,
        "cloudwatch_alarms": 0.0,
        "cloudwatch_dashboards": 0.0,
        "cloudwatch_logs_gb": 0.0,
        "xray_traces": 0.0,
        "kms_requests": 0.0,
        "dynamodb_storage_gb": 0.0,
    },
    "assumptions": {
        "aws_call_latency_ms": 10.0,
        "fargate_task_minutes": 60.0,
        "xray_trace_share": 1.0,
        "lambda_platform_log_bytes": 0.0,
        "prices_ttl_days": 35.0,
        "decisions_ttl_days": 400.0,
    },
}
SHAPE = StackShape(
    memory_mb={"EvaluateSignalsFunction": 1024, "ResolveOutcomeFunction": 512},
    shards=1,
    fargate_vcpu=2.0,
    fargate_gb=8.0,
    alarms=10,
    dashboards=1,
    kms_keys=1,
    secrets=0,
    table_logical_ids=("PricesTable", "DecisionsTable", "ShadowTradesTable"),
)
# One day: 1000 bars, 100 signals, 20 trades (all resolved).
USAGE: dict[str, Any] = {
    "window_days": 1.0,
    "volumes": {"bars": 1000, "signals": 100, "shadow_trades": 20, "resolved_trades": 20},
    "kinesis_put_payload_units": {"harness": 1100},
    "lambda": {
        # 1000 invocations, 9.5 s compute + 2000 calls x 10 ms = 29.5 s, + 0.5 ms rounding each = 30 s at 1 GB
        "EvaluateSignalsFunction": {"invocations": 1000, "compute_s": 9.5, "aws_calls": 2000},
        # 20 invocations, 0.99 s + 60 x 10 ms = 1.59 s + 0.01 s = 1.6 s at 0.5 GB = 0.8 GB-s
        "ResolveOutcomeFunction": {"invocations": 20, "compute_s": 0.99, "aws_calls": 60},
    },
    "dynamodb_write_units": {
        "EvaluateSignalsFunction": {
            "stack-PricesTable-X": 1000.0,
            "stack-DecisionsTable-Y": 400.0,
            "stack-ShadowTradesTable-Z": 80.0,
        },
        "ResolveOutcomeFunction": {"stack-ShadowTradesTable-Z": 80.0},
        "harness": {"stack-PricesTable-X": 1e9},  # the benchmark's own reads/writes are never billed
    },
    "dynamodb_read_units": {"EvaluateSignalsFunction": {"stack-PricesTable-X": 20.0}},
    "stepfunctions_transitions": 60,
    "cloudwatch": {"custom_metrics": 20},
    "calls": {"harness": {"kinesis.GetRecords": 50}},
}


def report() -> Any:
    return price(USAGE, PRICES, SHAPE, Target(streams=1, bars_per_day=1000.0, trades_per_day=40.0))


def test_per_unit_costs_follow_the_formula() -> None:
    r = report()
    # bar: 1000 of 1100 put units ($0.001) + 1000/1100 of 30 GB-s ($0.030 * 10/11) + 1000 requests ($0.002)
    #      + 1000 prices WRU ($0.001)
    bar_usd = 0.001 + 0.030 * 1000 / 1100 + 0.002 + 0.001
    assert r.per_unit["bar"] == pytest.approx(bar_usd / 1000, rel=1e-12)
    # signal: 100 put units ($0.0001) + 100/1100 of the GB-s ($0.030/11) + 400 decision WRU ($0.0004)
    #         + 20 RRU of the bars_before queries ($0.00001)
    signal_usd = 0.0001 + 0.030 / 11 + 0.0004 + 0.00001
    assert r.per_unit["signal"] == pytest.approx(signal_usd / 100, rel=1e-12)
    # trade: 80 WRU at open ($0.00008) + resolver: 0.8 GB-s ($0.0008) + 20 requests ($0.00004)
    #        + 80 WRU ($0.00008) + 60 transitions ($0.0012)
    trade_usd = 0.00008 + 0.0008 + 0.00004 + 0.00008 + 0.0012
    assert r.per_unit["trade"] == pytest.approx(trade_usd / 20, rel=1e-12)
    # day: one hour of Fargate, 2 vCPU x $0.1 + 8 GB x $0.01
    assert r.per_unit["day"] == pytest.approx(0.28, rel=1e-12)
    # fixed: 700 shard-h x $0.01 + 20 metrics x $0.3 + 10 alarms x $0.1 + dashboard $3 + key $1
    assert r.per_unit["fixed_month"] == pytest.approx(7.0 + 6.0 + 1.0 + 3.0 + 1.0, rel=1e-12)


def test_month_at_target_and_margin() -> None:
    r = report()
    # target: 1000 bars/day, 40 trades/day at the replay's 20% pass rate -> 200 signals/day, 30 days
    assert r.target["signal"] == pytest.approx(200.0)
    bar_usd = (0.001 + 0.030 * 1000 / 1100 + 0.002 + 0.001) / 1000
    signal_usd = (0.0001 + 0.030 / 11 + 0.0004 + 0.00001) / 100
    trade_usd = (0.00008 + 0.0008 + 0.00004 + 0.00008 + 0.0012) / 20
    monthly = 18.0 + 30 * (1000 * bar_usd + 200 * signal_usd + 40 * trade_usd + 0.28)
    assert r.monthly_usd == pytest.approx(monthly, rel=1e-12)
    # free tiers: 10 of the 20 metrics ($3) and all 3 x 40 x 30 = 3,600 transitions (< 4,000 free: $0.072)
    assert r.monthly_usd - r.monthly_usd_after_free_tier == pytest.approx(3.0 + 3600 * 0.02 / 1000, rel=1e-12)
    # margin: a signal's own cost + 20% of a trade's, per million
    assert r.usd_per_million_signals == pytest.approx((signal_usd + 0.2 * trade_usd) * 1e6, rel=1e-12)
    # per signal: the GB-s share (0.030 / 11 / 100 = $27.3/M) beats 20% of 3 transitions ($12/M)
    assert r.dominant(r.margin_by_component)[0] == "lambda EvaluateSignalsFunction GB-s"
    # month: an hour of Fargate a night ($0.28 x 30 = $8.40) beats the shard ($7)
    assert r.dominant(r.monthly_by_component) == ("fargate nightly training", pytest.approx(8.4 / monthly))


def test_harness_calls_and_unknown_volumes_are_not_billed() -> None:
    quiet = dict(USAGE, dynamodb_write_units={"harness": {"stack-PricesTable-X": 5.0}})
    r = price(quiet, PRICES, SHAPE, Target(bars_per_day=1000.0, trades_per_day=40.0))
    assert not any("PricesTable WRU" in ln.component for ln in r.lines)


def test_real_prices_and_template_load() -> None:
    prices = load_prices(PRICES_PATH)
    assert prices["meta"]["region"] in ("us-east-1", "eu-west-2")
    shape = stack_shape()
    assert shape.memory_mb["EvaluateSignalsFunction"] == 1024
    assert shape.memory_mb["ResolveOutcomeFunction"] == 512  # the Globals default
    assert (shape.fargate_vcpu, shape.fargate_gb) == (1.0, 4.0)
    assert shape.alarms > 0


def test_cli_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(USAGE))
    assert cost_main([str(path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["cost"]
    assert figures["monthly_usd"] > 10.95  # at least the shard at list price
    assert cost_main([str(tmp_path / "missing.json")]) == 2


def _metric(name: str, caller: str, emissions: int, dims: str = "service=x") -> dict[str, Any]:
    return {"namespace": "Huracan", "name": name, "dimensions": dims, "caller": caller, "emissions": emissions}


def test_custom_metrics_are_prorated_by_the_hours_they_get_data() -> None:
    # 30 days of 720 hours: a daily job's metric has data 30 of 720 hours; one sent with every bar (1000 a day,
    # ~42 an hour) every hour; one sent on 1 of the replay's 20 resolutions -> 2 a day at the target (40 trades).
    metrics = [
        _metric("signals", "EvaluateSignalsFunction", 1000),
        _metric("shadow_pnl_daily", "DailySummaryFunction", 1),
        _metric("outcome_NO_DATA", "ResolveOutcomeFunction", 1),
    ]
    usage = dict(USAGE, cloudwatch={"custom_metrics": 3, "metrics": metrics})
    r = price(usage, PRICES, SHAPE, Target(streams=1, bars_per_day=1000.0, trades_per_day=40.0))
    per_day = 1 / 20 * 40
    rare = 24 * (1 - math.exp(-per_day / 24)) * 30 / 700  # hours with data a month / hours in a month
    expected = 1.0 + 30 / 700 + rare  # the per-bar one: 24 (1 - e^-41.7) hours a day, capped at a month
    (line,) = [ln for ln in r.lines if ln.component == "cloudwatch custom metrics"]
    assert line.quantity == pytest.approx(expected, rel=1e-9)
    assert r.monthly_by_component["cloudwatch custom metrics"] == pytest.approx(0.3 * expected, rel=1e-9)
    # without the list (older usage files) every counted metric is a whole month: an upper bound
    assert report().monthly_by_component["cloudwatch custom metrics"] == pytest.approx(20 * 0.3)


def test_an_alarm_metric_no_replay_sent_is_billed_as_a_daily_jobs() -> None:
    key = ("Huracan", "ModelsExported", "service=huracan")
    shape = StackShape(**{**vars(SHAPE), "alarm_metrics": (key,)})
    empty = dict(USAGE, cloudwatch={"custom_metrics": 0, "metrics": []})
    months = price(empty, PRICES, shape).lines
    (line,) = [ln for ln in months if ln.component == "cloudwatch custom metrics"]
    assert line.quantity == pytest.approx(30 / 700)
    # sent by the replay (here every bar): billed once, at its own rate
    seen = dict(
        USAGE, cloudwatch={"metrics": [_metric("ModelsExported", "EvaluateSignalsFunction", 1000, "service=huracan")]}
    )
    (line,) = [ln for ln in price(seen, PRICES, shape).lines if ln.component == "cloudwatch custom metrics"]
    assert line.quantity == pytest.approx(1.0)


def test_template_parameters_decide_the_conditional_resources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack_shape().dashboards == 0  # opt-in: DashboardEnabled defaults to "false"
    assert stack_shape(parameters={"DashboardEnabled": "true"}).dashboards == 1
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(USAGE))
    assert cost_main([str(path), "--json"]) == 0
    off = json.loads(capsys.readouterr().out)["cost"]["monthly_usd"]
    assert cost_main([str(path), "--json", "--parameter", "DashboardEnabled=true"]) == 0
    on = json.loads(capsys.readouterr().out)["cost"]["monthly_usd"]
    assert on - off == pytest.approx(3.0)  # the dashboard's list price from aws_prices.toml
