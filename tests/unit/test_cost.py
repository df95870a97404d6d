"""The cost formula on known counts: every figure is worked out by hand from the prices below."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3

from huracan.cost import (
    PRICES_PATH,
    Scheduled,
    StackShape,
    Target,
    cost_main,
    load_prices,
    price,
    schedule_rate,
    stack_shape,
    timer_alternatives,
)
from huracan.local.metering import AwsMeter

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
    "scheduler": {"invocation_per_million": 1.0},
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
        "exchange_call_latency_ms": 100.0,
        "fargate_task_minutes": 60.0,
        "xray_trace_share": 1.0,
        "lambda_platform_log_bytes": 0.0,
        "prices_ttl_days": 35.0,
        "decisions_ttl_days": 400.0,
    },
}
# The nightly training task runs once a day (an hour, at the test's fargate_task_minutes)
NIGHTLY = Scheduled("NightlyTrainingRule", "TrainingCluster", "cron(0 0 * * ? *)", True, 1.0, 1.0, "ecs")
INGEST = Scheduled("IngestMarketFunctionEveryMinute", "IngestMarketFunction", "rate(1 minute)", True, 1440.0, 24.0)
SUMMARY = Scheduled("DailySummaryFunctionNightly", "DailySummaryFunction", "cron(0 23 * * ? *)", True, 1.0, 1.0)
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
    schedules=(NIGHTLY,),
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


# -- scheduled work, counted from the template's schedules --------------------------------------------------

# The ingest measured on its own: 10 warm runs, 0.02 s compute + 10 PutRecords x 10 ms + 10 klines GETs x 100 ms
# + 10 x 0.5 ms rounding = 1.125 s at 0.5 GB = 0.5625 GB-s; 4 kB of log lines
INGEST_RUNS = {
    "invocations": 10,
    "compute_s": 0.02,
    "aws_calls": 10,
    "external_calls": 10,
    "log_bytes": 4000,
    "calls": {"kinesis.PutRecords": 10, "s3.GetObject": 10},
}
PRICED = dict(PRICES, xray={"trace_recorded_per_million": 5.0})


def _shape(*schedules: Scheduled, **tracing: str) -> StackShape:
    memory = dict(SHAPE.memory_mb, IngestMarketFunction=512, DailySummaryFunction=1024)
    return dataclasses.replace(SHAPE, memory_mb=memory, schedules=(NIGHTLY, *schedules), tracing=tracing)


def _monthly(r: Any, component: str) -> float:
    return float(r.monthly_by_component.get(component, 0.0))


def test_scheduled_ingest_invocations_are_priced_by_the_schedule_not_the_replay() -> None:
    usage = dict(USAGE, scheduled_runs={"IngestMarketFunction": INGEST_RUNS})
    r = price(usage, PRICED, _shape(INGEST, IngestMarketFunction="PassThrough"), Target(bars_per_day=1000.0))
    runs = 1440 * 30  # rate(1 minute) for a 30-day month
    assert _monthly(r, "lambda IngestMarketFunction GB-s") == pytest.approx(0.5625 / 10 * runs * 0.001, rel=1e-12)
    assert _monthly(r, "lambda IngestMarketFunction requests") == pytest.approx(runs * 2.0 / 1e6, rel=1e-12)
    # its S3 reads are billed per run; its Kinesis puts are the replay producer's (already per record)
    assert _monthly(r, "s3 GetObject") == pytest.approx(runs * 0.0004 / 1e3, rel=1e-12)
    assert r.per_run["IngestMarketFunction"] == pytest.approx(((0.5625 * 0.001 + 10 * 2e-6 + 10 * 4e-7) / 10, 1440))
    # PassThrough: no trace of its own; Active: one per run
    assert not any(ln.component == "x-ray traces IngestMarketFunction" for ln in r.lines)
    active = price(usage, PRICED, _shape(INGEST, IngestMarketFunction="Active"), Target(bars_per_day=1000.0))
    assert _monthly(active, "x-ray traces IngestMarketFunction") == pytest.approx(runs * 5.0 / 1e6, rel=1e-12)
    assert active.monthly_usd - r.monthly_usd == pytest.approx(runs * 5.0 / 1e6, rel=1e-9)
    # nothing of it reaches the margin: the ingest runs whether or not a signal comes
    assert not any("Ingest" in k for k in r.margin_by_component)


def test_passthrough_functions_record_no_traces_and_active_ones_one_per_invocation() -> None:
    r = price(USAGE, PRICED, _shape(EvaluateSignalsFunction="PassThrough", ResolveOutcomeFunction="Active"))
    assert not any(ln.component == "x-ray traces EvaluateSignalsFunction" for ln in r.lines)
    (traces,) = [ln for ln in r.lines if ln.component == "x-ray traces ResolveOutcomeFunction"]
    assert (traces.quantity, traces.usd) == pytest.approx((20.0, 20 * 5.0 / 1e6))
    everything = price(USAGE, PRICED, SHAPE)  # a function the shape does not name is priced as Active
    assert any(ln.component == "x-ray traces EvaluateSignalsFunction" for ln in everything.lines)


def test_a_scheduled_function_the_replay_ran_is_billed_once_per_scheduled_run() -> None:
    # A half-day window in which the 23:00 summary ran once: it is one run a day, not two
    usage = {
        **USAGE,
        "window_days": 0.5,
        "lambda": dict(USAGE["lambda"], DailySummaryFunction={"invocations": 1, "compute_s": 1.9995, "aws_calls": 0}),
        "calls": {"DailySummaryFunction": {"sns.Publish": 1, "s3.PutObject": 3}},
    }
    r = price(usage, PRICES, _shape(SUMMARY), Target(bars_per_day=1000.0, trades_per_day=40.0))
    # 1.9995 + 0.0005 s = 2 s at 1 GB a run, 30 runs a month; the publish and 3 puts a run
    assert _monthly(r, "lambda DailySummaryFunction GB-s") == pytest.approx(30 * 2.0 * 0.001, rel=1e-12)
    assert _monthly(r, "sns publish") == pytest.approx(30 * 0.5 / 1e6, rel=1e-12)
    assert _monthly(r, "s3 PutObject") == pytest.approx(30 * 3 * 0.005 / 1e3, rel=1e-12)
    # the nightly Fargate task likewise: one run a day from its rule, whatever the window
    assert _monthly(r, "fargate nightly training") == pytest.approx(30 * 0.28, rel=1e-12)
    # a day: the task, and one summary run (GB-s, its request, the publish, 3 puts)
    assert r.per_unit["day"] == pytest.approx(0.28 + 0.002 + 2e-6 + 0.5e-6 + 3 * 5e-6, rel=1e-9)


def test_a_scheduled_jobs_work_on_the_decisions_table_is_per_signal() -> None:
    # The summary labels each decision's counterfactual once: 400 WRU over the window's 100 signals
    usage = dict(USAGE, dynamodb_write_units={"DailySummaryFunction": {"stack-DecisionsTable-Y": 400.0}})
    r = price(usage, PRICES, _shape(SUMMARY), Target(bars_per_day=1000.0, trades_per_day=40.0))
    assert r.margin_by_component["dynamodb DecisionsTable WRU"] == pytest.approx(4.0, rel=1e-12)  # 4 WRU at $1/M


def test_disabled_schedules_cost_nothing_and_an_unmeasured_one_is_flagged() -> None:
    off = dataclasses.replace(INGEST, enabled=False)
    nightly_off = dataclasses.replace(NIGHTLY, enabled=False)
    usage = dict(USAGE, scheduled_runs={"IngestMarketFunction": INGEST_RUNS})
    r = price(usage, PRICES, dataclasses.replace(_shape(off), schedules=(nightly_off, off)))
    assert _monthly(r, "lambda IngestMarketFunction GB-s") == 0.0
    assert _monthly(r, "fargate nightly training") == 0.0
    # no measurement of a scheduled function: its requests are still billed, its compute is flagged as missing
    r = price(USAGE, PRICES, _shape(INGEST))
    assert r.assumptions["unmeasured_compute"] == ["IngestMarketFunction"]
    assert _monthly(r, "lambda IngestMarketFunction requests") == pytest.approx(1440 * 30 * 2.0 / 1e6, rel=1e-12)


def test_schedule_rates_come_from_the_expressions() -> None:
    assert schedule_rate("rate(1 minute)") == (1440.0, 24.0)
    assert schedule_rate("rate(2 hours)") == (12.0, 12.0)
    assert schedule_rate("cron(0 23 * * ? *)") == (1.0, 1.0)
    # every 15 minutes from 09:00 to 17:45 on weekdays
    runs, hours = schedule_rate("cron(0/15 9-17 ? * MON-FRI *)")
    assert (runs, hours) == pytest.approx((4 * 9 * 5 / 7, 9 * 5 / 7))


def test_template_schedules_and_tracing_are_read_with_the_parameters() -> None:
    shape = stack_shape()
    by_target = {s.target: s for s in shape.schedules}
    assert by_target["IngestMarketFunction"].runs_per_day == 1440.0
    assert by_target["DailySummaryFunction"].runs_per_day == 1.0
    assert (by_target["TrainingCluster"].kind, by_target["TrainingCluster"].runs_per_day) == ("ecs", 1.0)
    assert all(s.enabled for s in shape.schedules)
    assert not any(s.enabled for s in stack_shape(parameters={"SchedulesEnabled": "false"}).schedules)
    assert shape.tracing["EvaluateSignalsFunction"] == shape.tracing["IngestMarketFunction"] == "PassThrough"
    assert shape.tracing["ResolveOutcomeFunction"] == shape.tracing["DailySummaryFunction"] == "Active"
    assert shape.memory_mb["IngestMarketFunction"] == 512


def test_a_per_minute_functions_metric_is_a_whole_month_and_a_daily_ones_an_hour_a_day() -> None:
    metrics = [
        {"namespace": "H", "name": "BarsIngested", "dimensions": "", "caller": "IngestMarketFunction", "emissions": 10},
        {"namespace": "H", "name": "pnl", "dimensions": "", "caller": "DailySummaryFunction", "emissions": 1},
        # one metric two senders put: data whenever either does (here the per-minute one: every hour)
        {"namespace": "H", "name": "pnl", "dimensions": "", "caller": "IngestMarketFunction", "emissions": 10},
    ]
    usage = {
        **USAGE,
        "scheduled_runs": {"IngestMarketFunction": INGEST_RUNS},
        "lambda": dict(USAGE["lambda"], DailySummaryFunction={"invocations": 1, "compute_s": 1.0, "aws_calls": 0}),
        "cloudwatch": {"custom_metrics": 2, "metrics": metrics},
    }
    (line,) = [ln for ln in price(usage, PRICES, _shape(INGEST, SUMMARY)).lines if "custom metrics" in ln.component]
    assert line.quantity == pytest.approx(2.0)
    usage["cloudwatch"] = {"custom_metrics": 1, "metrics": metrics[1:2]}
    (line,) = [ln for ln in price(usage, PRICES, _shape(INGEST, SUMMARY)).lines if "custom metrics" in ln.component]
    assert line.quantity == pytest.approx(30 / 700)  # one hour with data on each of 30 days of a 700-hour month


def test_timer_alternatives_replace_only_the_transitions() -> None:
    r = report()
    alt = timer_alternatives(r, PRICES)
    base = r.usd_per_million_signals - r.margin_by_component["step functions transitions"]
    # 60 transitions / 20 executions = 3 per trade at $0.02/1000; pass rate 20%; 40 trades a day
    assert alt["step functions standard per trade (now)"] == pytest.approx((r.usd_per_million_signals, 0.0))
    assert alt["eventbridge scheduler one-time per trade"] == pytest.approx((base + 0.2 * 1.0, 0.0))
    shared = base + 0.2 * math.exp(-40 / 1440) * 3 * 0.02 / 1e3 * 1e6
    assert alt["standard execution per due minute, shared"] == pytest.approx((shared, 0.0))
    quarter = base + 0.2 * math.exp(-40 / 96) * 3 * 0.02 / 1e3 * 1e6
    assert alt["standard execution per due quarter-hour, shared"] == pytest.approx((quarter, 0.0))
    assert shared > quarter > base  # wider windows share more, never below the timer-free margin
    assert alt["standard execution every minute (scheduled)"] == pytest.approx((base, 1440 * 30 * 0.06 / 1e3))
    assert alt["sweep every minute (sparse GSI)"][0] == pytest.approx(base + 0.2 * 2 * 1.0)


# -- the meter: who sent which metric, and time outside AWS -------------------------------------------------


def test_the_meter_attributes_each_custom_metric_to_the_function_that_printed_it() -> None:
    meter = AwsMeter()
    emf = json.dumps(
        {"_aws": {"CloudWatchMetrics": [{"Namespace": "Huracan", "Dimensions": [["service"]],
                                         "Metrics": [{"Name": "signals"}, {"Name": "passed"}]}]},
         "service": "x", "signals": 1, "passed": 0}
    )  # fmt: skip

    def handler(name: str, event: Any) -> None:
        print(emf)

    invoke = meter.wrap_invoke(handler, lambda name: name)
    with contextlib.redirect_stdout(meter.log_tap()):
        for _ in range(3):
            invoke("EvaluateSignalsFunction", {})
        invoke("DailySummaryFunction", {})
        print(emf)  # the harness's own print: attributed, never to a function
    metrics = meter.usage()["cloudwatch"]
    assert metrics["custom_metrics"] == 2
    got = {(m["name"], m["caller"]): m["emissions"] for m in metrics["metrics"]}
    assert got == {
        ("signals", "EvaluateSignalsFunction"): 3,
        ("passed", "EvaluateSignalsFunction"): 3,
        ("signals", "DailySummaryFunction"): 1,
        ("passed", "DailySummaryFunction"): 1,
        ("signals", "harness"): 1,
        ("passed", "harness"): 1,
    }
    assert {m["dimensions"] for m in metrics["metrics"]} == {"service=x"}
    meter.reset()
    assert meter.usage()["cloudwatch"] == {"custom_metrics": 0, "metrics": []}


def test_the_meter_counts_http_outside_aws_apart_from_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exchange's GET (a urllib3 PoolManager, which botocore does not use) is network time, not compute."""

    def exchange(manager: urllib3.PoolManager, method: str, url: str, *args: Any, **kwargs: Any) -> str:
        time.sleep(0.02)  # the round trip
        return "klines"

    monkeypatch.setattr(urllib3.PoolManager, "urlopen", exchange)
    meter = AwsMeter().install()
    try:

        def handler(name: str, event: Any) -> Any:
            time.sleep(0.01)  # compute
            return urllib3.PoolManager().request("GET", "http://exchange.invalid/api/v3/klines")

        assert meter.wrap_invoke(handler, lambda name: name)("IngestMarketFunction", {}) == "klines"
        urllib3.PoolManager().request("GET", "http://exchange.invalid/")  # outside a handler: not counted
    finally:
        meter.uninstall()
    (inv,) = meter.invocations
    assert inv.external_calls == 1 and inv.external_s >= 0.02
    assert 0.01 <= inv.compute_s < 0.02 and inv.compute_s == pytest.approx(inv.wall_s - inv.external_s)
    assert meter.usage()["lambda"]["IngestMarketFunction"]["external_calls"] == 1
    assert getattr(urllib3.PoolManager, "urlopen") is exchange  # noqa: B009 - unpatched again


def test_timer_retries_follow_the_asl_backoff_and_the_ingest_lag() -> None:
    from huracan.cost import mean_timer_retries, timer_retries, transient_retry_policy

    assert transient_retry_policy() == (5.0, 2.0, 5)  # +5, +10, +20, +40, +80 s between attempts
    assert timer_retries(60.0, 90.0) == 0  # the bar is stored before the timer ends its wait
    assert timer_retries(5.0, 0.0) == 1
    assert timer_retries(16.0, 0.0) == 3  # waits 5, 15, 35 s cumulatively
    assert timer_retries(65.0, 0.0) == 4
    assert timer_retries(400.0, 0.0) == 5  # the budget: the next failure ends the trade ERROR
    assert mean_timer_retries(5.0, 65.0, 90.0) == 0.0
    assert 3.0 < mean_timer_retries(5.0, 65.0, 0.0) < 3.5
