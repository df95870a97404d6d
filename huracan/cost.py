"""The AWS bill of the engine, computed from the calls a local replay actually made (``huracan cost``).

Why a model on measured counts rather than a spreadsheet: the number of DynamoDB writes, request units,
Step Functions transitions and Lambda milliseconds per signal is a property of the code (batching, GSIs,
item sizes, conditional puts), and it changes when the code does. A replay on the local stack meters every
call (:mod:`huracan.local.metering`); this module prices those counts with the list prices in
``huracan/config/aws_prices.toml`` and the memory sizes, alarms and task sizes in ``template.yaml``. The whole
formula is :func:`price`; the prices file is the only place a price is written.

Every cost line has a *driver*, which is what makes it scale:

- ``fixed``: per month whatever the volume (shard-hours, alarms, dashboard, custom metrics, keys, secrets);
  custom metrics are prorated by the hour, as AWS bills them ("prorated by the hour ... metered only when
  they're sent to CloudWatch", CloudWatch user guide): one a handler sends every minute is a whole metric-month,
  one the daily summary sends once a day is 1/24 of one (see :func:`metric_months`);
- ``bar`` / ``signal``: per stream record of that kind (Kinesis payload units, the evaluate handler, the
  prices and decisions tables);
- ``trade``: per shadow trade (its item and timer start); ``resolution``: per resolved trade (the timer's
  transitions, the resolver Lambda and its reads and writes), measured on the trades the replay resolved;
- ``day``: per day (nightly training on Fargate, the daily summary, model refresh reads).

The monthly figure scales each driver to the target volumes; the cost per million signals *at the margin* is
what one more signal adds: its own ``signal`` cost plus the pass rate times the ``trade`` cost (no fixed or
per-bar cost). Measured compute time excludes the local emulator's latency; the billed Lambda duration adds
``aws_call_latency_ms`` per AWS call instead (an assumption printed with the figures).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huracan.local.template import TEMPLATE_PATH, load_template

__all__ = [
    "PRICES_PATH",
    "CostLine",
    "CostReport",
    "StackShape",
    "Target",
    "cost_main",
    "load_prices",
    "metric_months",
    "price",
    "stack_shape",
]

PRICES_PATH = Path(__file__).resolve().parent / "config" / "aws_prices.toml"
DRIVERS = ("fixed", "bar", "signal", "trade", "resolution", "day")
#: Callers whose work is per shadow trade / per day (the rest are split by table, below).
_TRADE_CALLERS = {"ResolveOutcomeFunction", "service"}
_EVALUATE = "EvaluateSignalsFunction"
#: Which driver a table's reads and writes made by the evaluate handler belong to.
_EVALUATE_TABLE_DRIVER = {"PricesTable": ("bar", "signal"), "DecisionsTable": ("signal", "signal")}
_S3_PUT_OPS = {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload"}


@dataclass(frozen=True)
class StackShape:
    """What the template fixes: memory per function, the training task, the counted fixed resources."""

    memory_mb: dict[str, int]
    shards: int
    fargate_vcpu: float
    fargate_gb: float
    alarms: int
    dashboards: int
    kms_keys: int
    secrets: int
    table_logical_ids: tuple[str, ...] = ()
    #: (namespace, metric, dimensions) of custom metrics an alarm watches: they exist even when no replay sees them
    alarm_metrics: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Target:
    """The volumes the monthly figure is for (the seed's: one stream, 200 shadow trades a day)."""

    streams: int = 1
    bars_per_day: float = 1440.0
    signals_per_day: float | None = None  # None: trades_per_day / the replay's pass rate
    trades_per_day: float = 200.0


@dataclass(frozen=True)
class CostLine:
    component: str
    driver: str
    usd: float  # for the replay's window (fixed lines: per month)
    quantity: float
    unit: str


@dataclass
class CostReport:
    """The priced replay and its projection to a month at the target volumes."""

    lines: list[CostLine]
    volumes: dict[str, float]
    target: dict[str, float]
    per_unit: dict[str, float]  # USD per bar / signal / trade / day, and fixed per month
    monthly_by_component: dict[str, float]
    monthly_usd: float
    monthly_usd_after_free_tier: float
    usd_per_million_signals: float
    margin_by_component: dict[str, float]
    assumptions: dict[str, Any] = field(default_factory=dict)

    def dominant(self, mapping: Mapping[str, float]) -> tuple[str, float]:
        name = max(mapping, key=lambda k: mapping[k])
        total = sum(mapping.values())
        return name, (mapping[name] / total if total else 0.0)

    def figures(self) -> dict[str, float]:
        return {
            "monthly_usd": round(self.monthly_usd, 4),
            "monthly_usd_after_free_tier": round(self.monthly_usd_after_free_tier, 4),
            "usd_per_million_signals": round(self.usd_per_million_signals, 4),
            **{f"usd_per_{k}": v for k, v in self.per_unit.items()},
        }


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def _parameter_values(tpl: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    values = {k: str(v["Default"]) for k, v in (tpl.get("Parameters") or {}).items() if "Default" in v}
    return values | {k: str(v) for k, v in overrides.items()}


def _condition(tpl: Mapping[str, Any], node: Any, params: Mapping[str, str]) -> bool:
    """A template condition (Equals/Not/And/Or over parameters) as CloudFormation evaluates it."""
    if isinstance(node, str):
        return _condition(tpl, tpl.get("Conditions", {})[node], params)
    if isinstance(node, Mapping) and set(node) == {"Condition"}:
        return _condition(tpl, node["Condition"], params)
    ((fn, args),) = node.items()
    if fn == "Fn::Equals":
        a, b = (params.get(x["Ref"], x["Ref"]) if isinstance(x, Mapping) else str(x) for x in args)
        return bool(a == b)
    if fn == "Fn::Not":
        return not _condition(tpl, args[0], params)
    if fn in ("Fn::And", "Fn::Or"):
        results = [_condition(tpl, a, params) for a in args]
        return all(results) if fn == "Fn::And" else any(results)
    raise ValueError(f"condition function {fn} is not supported")


def stack_shape(template_path: Path = TEMPLATE_PATH, parameters: Mapping[str, str] | None = None) -> StackShape:
    """Read memory sizes and the fixed resources from the template (SAM Globals + per-function overrides).

    Resources with a ``Condition`` count only when it holds for the parameters' defaults (or ``parameters``),
    so an opt-in resource (the dashboard) is priced as deployed by default.
    """
    tpl = load_template(template_path)
    params = _parameter_values(tpl, parameters or {})
    default_mb = int(tpl.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    res: dict[str, dict[str, Any]] = tpl["Resources"]
    memory: dict[str, int] = {}
    fargate_vcpu, fargate_gb = 0.0, 0.0
    counts: dict[str, int] = defaultdict(int)
    tables = []
    alarm_metrics: list[tuple[str, str, str]] = []
    for lid, r in res.items():
        if "Condition" in r and not _condition(tpl, r["Condition"], params):
            continue
        kind, props = r["Type"], r.get("Properties", {}) or {}
        counts[kind] += 1
        if kind == "AWS::CloudWatch::Alarm" and not str(props.get("Namespace", "AWS/")).startswith("AWS/"):
            dims = ",".join(f"{d['Name']}={d['Value']}" for d in props.get("Dimensions", []))
            alarm_metrics.append((str(props["Namespace"]), str(props["MetricName"]), dims))
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            memory[lid] = int(props.get("MemorySize", default_mb))
        elif kind == "AWS::ECS::TaskDefinition":
            fargate_vcpu = int(props["Cpu"]) / 1024
            fargate_gb = int(props["Memory"]) / 1024
        elif kind == "AWS::DynamoDB::Table":
            tables.append(lid)
    shards = params.get("StreamShardCount", "1")
    return StackShape(
        memory_mb=memory,
        shards=int(shards),
        fargate_vcpu=fargate_vcpu,
        fargate_gb=fargate_gb,
        alarms=counts["AWS::CloudWatch::Alarm"],
        dashboards=counts["AWS::CloudWatch::Dashboard"],
        kms_keys=counts["AWS::KMS::Key"],
        secrets=counts["AWS::SecretsManager::Secret"],
        table_logical_ids=tuple(tables),
        alarm_metrics=tuple(alarm_metrics),
    )


def _table_logical(physical: str, logical_ids: Sequence[str]) -> str:
    """Map a physical table name (``<stack>-ShadowTradesTable-XYZ``) back to its logical id."""
    for lid in sorted(logical_ids, key=len, reverse=True):
        if lid in physical:
            return lid
    return physical


def _db_driver(caller: str, table: str, write: bool) -> str | None:
    if caller == "harness":
        return None  # the benchmark's own inspection: not part of the system
    if caller in _TRADE_CALLERS:
        return "resolution"
    if table == "ShadowTradesTable":
        return "trade"
    if caller == _EVALUATE:
        w, r = _EVALUATE_TABLE_DRIVER.get(table, ("signal", "signal"))
        return w if write else r
    return "day"


def _fn_driver(function: str, per_invocation: bool = False) -> str:
    if function == _EVALUATE:
        # Live, a signal rides in its bar's invocation (records arrive a minute at a time): requests, traces
        # and platform log lines follow the bars; compute is split over bars and signals by record count.
        return "bar" if per_invocation else "record"
    if function in _TRADE_CALLERS:
        return "resolution"
    return "day"


def metric_months(
    usage: Mapping[str, Any],
    shape: StackShape,
    scale: Mapping[str, float],
    hours_per_month: float,
    days_per_month: float,
) -> float:
    """Custom-metric months a month at the target bills: each metric prorated by the hours it gets data.

    ``usage["cloudwatch"]["metrics"]`` lists each metric seen with the function that sent it and how often
    (``scale`` turns a count in the replay into one a day at the target, per driver). A metric sent k times a
    day at random moments has data in 24 (1 - exp(-k / 24)) hours of a day; a scheduled daily job's in one.
    Without that list (older usage files) every counted metric is a whole month: an upper bound. A custom
    metric an alarm watches that the replay never sent (``ModelsExported``, put by the nightly task) is
    counted as a daily job's.
    """
    cw = usage.get("cloudwatch", {})
    detail: list[Mapping[str, Any]] | None = cw.get("metrics")
    daily_share = min(1.0, days_per_month / hours_per_month)
    seen: set[tuple[str, str, str]] = set()
    if detail is None:
        months = float(cw.get("custom_metrics", 0))
    else:
        months = 0.0
        for m in detail:
            seen.add((str(m["namespace"]), str(m["name"]), str(m["dimensions"])))
            driver = _fn_driver(str(m["caller"]), per_invocation=True)
            if driver == "day":
                months += daily_share
            else:
                per_day = float(m["emissions"]) * scale.get(driver, 0.0)
                months += min(1.0, 24.0 * (1.0 - math.exp(-per_day / 24.0)) * days_per_month / hours_per_month)
    return months + daily_share * sum(1 for key in shape.alarm_metrics if key not in seen)


def price(
    usage: Mapping[str, Any],
    prices: Mapping[str, Any],
    shape: StackShape,
    target: Target = Target(),
) -> CostReport:
    """The formula: usage of a replay window -> cost lines -> per-unit costs -> month at the target volumes."""
    p, a, ft = prices, prices["assumptions"], prices["free_tier"]
    days = float(usage["window_days"])
    vol = {k: float(v) for k, v in usage["volumes"].items()}
    bars, signals, trades = vol["bars"], vol["signals"], vol["shadow_trades"]
    records = bars + signals
    # Resolver-side work is measured on the trades whose timers ran before the replay ended
    resolved = float(vol.get("resolved_trades", trades))
    denom = {"bar": bars, "signal": signals, "trade": trades, "resolution": resolved, "day": days}
    pass_rate = trades / signals if signals else 0.0
    sig_day = target.signals_per_day
    if sig_day is None:
        sig_day = max(target.trades_per_day / pass_rate if pass_rate else 0.0, target.trades_per_day)
    month_days = float(p["meta"]["days_per_month"])
    target_daily = {
        "bar": target.bars_per_day * target.streams,
        "signal": sig_day,
        "trade": target.trades_per_day,
        "resolution": target.trades_per_day,
        "day": 1.0,
    }
    lines: list[CostLine] = []

    def add(component: str, driver: str, usd: float, quantity: float, unit: str) -> None:
        if driver == "record":  # split by record count: what a bar record and a signal record cost alike
            for d, n in (("bar", bars), ("signal", signals)):
                share = n / records if records else 0.0
                lines.append(CostLine(component, d, usd * share, quantity * share, unit))
        else:
            lines.append(CostLine(component, driver, usd, quantity, unit))

    # Kinesis: shard-hours (fixed) + PUT payload units (per record; the producer's puts)
    hours = float(p["meta"]["hours_per_month"])
    add("kinesis shard-hours", "fixed", shape.shards * target.streams * hours * p["kinesis"]["shard_hour"],
        shape.shards * target.streams * hours, "shard-h/month")  # fmt: skip
    put_units = float(sum(usage.get("kinesis_put_payload_units", {}).values()))
    add("kinesis PUT payload units", "record", put_units * p["kinesis"]["put_payload_unit_per_million"] / 1e6,
        put_units, "25KB units")  # fmt: skip

    # Lambda: requests + GB-s; billed time = compute + per-call in-region latency (+ half a ms of rounding)
    lat_s = float(a["aws_call_latency_ms"]) / 1e3
    lambda_seconds: dict[str, float] = {}
    for fn, d in usage.get("lambda", {}).items():
        n = float(d["invocations"])
        billed_s = float(d["compute_s"]) + float(d["aws_calls"]) * lat_s + n * 0.0005
        gb_s = billed_s * shape.memory_mb.get(fn, 128) / 1024
        lambda_seconds[fn] = billed_s
        add(f"lambda {fn} GB-s", _fn_driver(fn), gb_s * p["lambda"]["gb_second"], gb_s, "GB-s")
        add(
            f"lambda {fn} requests",
            _fn_driver(fn, per_invocation=True),
            n * p["lambda"]["request_per_million"] / 1e6,
            n,
            "requests",
        )
        add(f"x-ray traces {fn}", _fn_driver(fn, per_invocation=True), n * a["xray_trace_share"] * p["xray"]["trace_recorded_per_million"] / 1e6,
            n * a["xray_trace_share"], "traces")  # fmt: skip
        logs, platform = float(d.get("log_bytes", 0.0)), n * float(a["lambda_platform_log_bytes"])
        add(f"logs {fn}", _fn_driver(fn), logs / 1e9 * p["cloudwatch"]["logs_ingest_gb"], logs, "bytes")
        add(f"logs {fn} platform", _fn_driver(fn, per_invocation=True),
            platform / 1e9 * p["cloudwatch"]["logs_ingest_gb"], platform, "bytes")  # fmt: skip

    # DynamoDB on-demand request units, by who wrote/read which table
    wru_price = p["dynamodb"]["write_request_unit_per_million"] / 1e6
    rru_price = p["dynamodb"]["read_request_unit_per_million"] / 1e6
    for key, unit_price, write in (
        ("dynamodb_write_units", wru_price, True),
        ("dynamodb_read_units", rru_price, False),
    ):
        for caller, tables in usage.get(key, {}).items():
            for table, units in tables.items():
                lid = _table_logical(table, shape.table_logical_ids)
                driver = _db_driver(caller, lid, write)
                if driver is not None:
                    kind = "WRU" if write else "RRU"
                    add(f"dynamodb {lid} {kind}", driver, float(units) * unit_price, float(units), kind)

    # Step Functions standard: state transitions (per trade)
    sfn = float(usage.get("stepfunctions_transitions", 0))
    add("step functions transitions", "resolution", sfn * p["stepfunctions"]["standard_transition_per_thousand"] / 1e3,
        sfn, "transitions")  # fmt: skip

    # Request-priced services seen in the calls (S3, SQS, SNS, KMS, Secrets Manager)
    for caller, ops in usage.get("calls", {}).items():
        if caller == "harness":
            continue
        driver = "resolution" if caller in _TRADE_CALLERS else ("record" if caller == _EVALUATE else "day")
        for op, n in ops.items():
            service, name = op.split(".", 1)
            n = float(n)
            if service == "s3":
                each = p["s3"]["put_per_thousand"] if name in _S3_PUT_OPS else p["s3"]["get_per_thousand"]
                add(f"s3 {name}", "day", n * each / 1e3, n, "requests")
            elif service == "sqs" and name.startswith("Send"):
                add(f"sqs {name}", driver, n * p["sqs"]["request_per_million"] / 1e6, n, "requests")
            elif service == "sns" and name == "Publish":
                add("sns publish", "day", n * p["sns"]["publish_per_million"] / 1e6, n, "publishes")
            elif service == "kms":
                add(f"kms request {name}", "day", n * p["kms"]["request_per_ten_thousand"] / 1e4, n, "requests")
            elif service == "secretsmanager":
                add(f"secrets {name}", "day", n * p["secretsmanager"]["request_per_ten_thousand"] / 1e4, n, "requests")

    # Fixed monthly resources from the template and what the functions emitted
    cw = p["cloudwatch"]
    months = metric_months(usage, shape, {d: target_daily[d] / denom[d] if denom[d] else 0.0 for d in denom},
                           hours, month_days)  # fmt: skip
    add("cloudwatch custom metrics", "fixed", months * cw["custom_metric_month"], months, "metric-months")
    add("cloudwatch alarms", "fixed", shape.alarms * cw["alarm_month"], shape.alarms, "alarms")
    add("cloudwatch dashboard", "fixed", shape.dashboards * cw["dashboard_month"], shape.dashboards, "dashboards")
    add("kms keys", "fixed", shape.kms_keys * p["kms"]["key_month"], shape.kms_keys, "keys")
    add("secrets", "fixed", shape.secrets * p["secretsmanager"]["secret_month"], shape.secrets, "secrets")
    # Nightly training task (per day), sized by the task definition
    task_h = float(a["fargate_task_minutes"]) / 60 * days
    fargate = task_h * (shape.fargate_vcpu * p["fargate"]["vcpu_hour"] + shape.fargate_gb * p["fargate"]["gb_hour"])
    add("fargate nightly training", "day", fargate, task_h, "task-h")

    # -- per unit, then the month at the target volumes ----------------------------------------------
    by_driver: dict[str, float] = defaultdict(float)
    for ln in lines:
        by_driver[ln.driver] += ln.usd
    per_unit = {d: (by_driver[d] / denom[d] if denom[d] else 0.0) for d in denom}
    per_unit["trade"] += per_unit.pop("resolution")
    per_unit["fixed_month"] = by_driver["fixed"]
    monthly_by_component: dict[str, float] = defaultdict(float)
    for ln in lines:
        if ln.driver == "fixed":
            monthly_by_component[ln.component] += ln.usd
        else:
            n = denom[ln.driver]
            if n:
                monthly_by_component[ln.component] += ln.usd / n * target_daily[ln.driver] * month_days
    # DynamoDB storage at the steady state of the target (prices kept 35 days, decisions 400, trades a month)
    sizes = usage.get("dynamodb_item_bytes", {})
    size = {_table_logical(t, shape.table_logical_ids): float(b) for t, b in sizes.items()}
    stored = (
        target_daily["bar"] * a["prices_ttl_days"] * size.get("PricesTable", 0.0)
        + sig_day * a["decisions_ttl_days"] * size.get("DecisionsTable", 0.0)
        + target.trades_per_day * month_days * size.get("ShadowTradesTable", 0.0)
    ) / 1e9
    monthly_by_component["dynamodb storage + PITR"] = stored * (
        p["dynamodb"]["storage_gb_month"] + p["dynamodb"]["pitr_gb_month"]
    )
    monthly = sum(monthly_by_component.values())

    # free tiers, applied to the month
    def month_qty(prefix: str) -> float:
        q = 0.0
        for ln in lines:
            if ln.component.startswith(prefix):
                q += (
                    ln.quantity
                    if ln.driver == "fixed"
                    else (
                        ln.quantity / denom[ln.driver] * target_daily[ln.driver] * month_days
                        if denom[ln.driver]
                        else 0.0
                    )
                )
        return q

    def capped(component_prefix: str, free_qty: float, unit_usd: float) -> float:
        return min(month_qty(component_prefix), free_qty) * unit_usd

    free = (
        min(sum(month_qty(f"lambda {fn} GB-s") for fn in lambda_seconds), ft["lambda_gb_seconds"])
        * p["lambda"]["gb_second"]
        + min(sum(month_qty(f"lambda {fn} requests") for fn in lambda_seconds), ft["lambda_requests"])
        * p["lambda"]["request_per_million"]
        / 1e6
        + capped(
            "step functions",
            ft["stepfunctions_transitions"],
            p["stepfunctions"]["standard_transition_per_thousand"] / 1e3,
        )
        + capped("sqs", ft["sqs_requests"], p["sqs"]["request_per_million"] / 1e6)
        + capped("sns", ft["sns_publishes"], p["sns"]["publish_per_million"] / 1e6)
        + capped("cloudwatch custom metrics", ft["cloudwatch_custom_metrics"], cw["custom_metric_month"])
        + capped("cloudwatch alarms", ft["cloudwatch_alarms"], cw["alarm_month"])
        + capped("cloudwatch dashboard", ft["cloudwatch_dashboards"], cw["dashboard_month"])
        + capped("x-ray", ft["xray_traces"], p["xray"]["trace_recorded_per_million"] / 1e6)
        + min(month_qty("logs") / 1e9, ft["cloudwatch_logs_gb"]) * cw["logs_ingest_gb"]
        + capped("kms request", ft["kms_requests"], p["kms"]["request_per_ten_thousand"] / 1e4)
        + min(stored, ft["dynamodb_storage_gb"]) * p["dynamodb"]["storage_gb_month"]
    )

    # the margin: one more signal = its own cost + pass rate x a trade's cost
    target_pass = target.trades_per_day / sig_day if sig_day else 0.0
    margin: dict[str, float] = defaultdict(float)
    for ln in lines:
        if ln.driver == "signal" and signals:
            margin[ln.component] += ln.usd / signals * 1e6
        elif ln.driver in ("trade", "resolution") and denom[ln.driver]:
            margin[ln.component] += ln.usd / denom[ln.driver] * target_pass * 1e6
    return CostReport(
        lines=lines,
        volumes=vol | {"window_days": days, "pass_rate": pass_rate},
        target={**target_daily, "pass_rate": target_pass, "days_per_month": month_days},
        per_unit=per_unit,
        monthly_by_component=dict(monthly_by_component),
        monthly_usd=monthly,
        monthly_usd_after_free_tier=monthly - free,
        usd_per_million_signals=sum(margin.values()),
        margin_by_component=dict(margin),
        assumptions={"region": p["meta"]["region"], "prices_taken": p["meta"]["taken"], **a},
    )


def format_report(r: CostReport, top: int = 8) -> str:
    """The figures a reader checks against the goals, with what dominates each."""
    out = [
        f"prices: {r.assumptions['region']}, {r.assumptions['prices_taken']}",
        f"replay: {r.volumes['window_days']:.2f} days, {r.volumes['bars']:.0f} bars, {r.volumes['signals']:.0f} signals, "
        f"{r.volumes['shadow_trades']:.0f} shadow trades (pass rate {r.volumes['pass_rate']:.1%})",
        f"target: {r.target['bar']:.0f} bars, {r.target['signal']:.0f} signals, {r.target['trade']:.0f} shadow trades "
        f"a day (pass rate {r.target['pass_rate']:.1%})",
        f"per unit: bar ${r.per_unit['bar'] * 1e6:.2f}/M, signal ${r.per_unit['signal'] * 1e6:.2f}/M, "
        f"trade ${r.per_unit['trade'] * 1e6:.2f}/M, day ${r.per_unit['day']:.4f}, fixed ${r.per_unit['fixed_month']:.2f}/month",
        "",
        f"monthly at the target: ${r.monthly_usd:.2f} at list price (goal <= $15), "
        f"${r.monthly_usd_after_free_tier:.2f} after the always-free tiers",
    ]
    for name, usd in sorted(r.monthly_by_component.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"  {usd:9.4f}  {name}  ({usd / r.monthly_usd:.0%})")
    out += ["", f"per million signals at the margin: ${r.usd_per_million_signals:.3f} (goal <= $2)"]
    for name, usd in sorted(r.margin_by_component.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"  {usd:9.4f}  {name}  ({usd / r.usd_per_million_signals:.0%})")
    out.append(
        f"assumptions: {r.assumptions['aws_call_latency_ms']:g} ms per AWS call in Lambda, Fargate "
        f"{r.assumptions['fargate_task_minutes']:g} min a night, every invocation traced by X-Ray"
    )
    return "\n".join(out)


def cost_main(argv: Sequence[str] | None = None) -> int:
    """``huracan cost USAGE.json``: price the counts a replay wrote (benchmarks/replay.py --usage-out)."""
    ap = argparse.ArgumentParser(prog="huracan cost", description=cost_main.__doc__)
    ap.add_argument("usage", type=Path, help="JSON of metered counts from benchmarks/replay.py or handler_cost.py")
    ap.add_argument("--prices", type=Path, default=PRICES_PATH)
    ap.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--trades-per-day", type=float, default=200.0)
    ap.add_argument("--signals-per-day", type=float, default=None, help="default: trades / the replay's pass rate")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    ap.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter other than its default, e.g. DashboardEnabled=true (repeatable)",
    )
    args = ap.parse_args(argv)
    overrides = dict(kv.split("=", 1) for kv in args.parameter if "=" in kv)
    try:
        usage = json.loads(args.usage.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"huracan cost: cannot read {args.usage}: {exc}", file=sys.stderr)
        return 2
    target = Target(streams=args.streams, signals_per_day=args.signals_per_day, trades_per_day=args.trades_per_day)
    report = price(usage, load_prices(args.prices), stack_shape(args.template, overrides), target)
    if args.json:
        print(json.dumps({"cost": report.figures()}))
    else:
        print(format_report(report))
    return 0
