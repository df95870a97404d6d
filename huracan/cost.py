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
- ``run:<target>``: per run of a scheduled target, counted from the template's schedule expressions (the
  every-minute market ingest, the 23:00 daily summary, the nightly Fargate training): a half-day replay that
  saw one daily summary still bills one a day. A scheduled function the replay does not invoke (the ingest:
  the replay publishes the records itself) is priced from a separate measurement of its handler
  (``usage["scheduled_runs"]``, written by :func:`huracan.local.metering.metered_replay`);
- ``day``: per day of anything else time-driven (model refresh reads, key and secret requests).

The monthly figure scales each driver to the target volumes; the cost per million signals *at the margin* is
what one more signal adds: its own ``signal`` cost plus the pass rate times the ``trade`` cost (no fixed or
per-bar cost). Measured compute time excludes the local emulator's latency; the billed Lambda duration adds
``aws_call_latency_ms`` per AWS call and ``exchange_call_latency_ms`` per call to the exchange instead
(assumptions printed with the figures). X-Ray follows each function's ``Tracing`` in the template: an
``Active`` function records a trace per invocation, a ``PassThrough`` one only joins a trace its caller
sampled, and the callers of the two PassThrough functions (the Kinesis event source mapping, an EventBridge
schedule) sample nothing, so they record none.
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

from huracan.local.clock import next_fire
from huracan.local.template import TEMPLATE_PATH, load_template

__all__ = [
    "PRICES_PATH",
    "CostLine",
    "CostReport",
    "Scheduled",
    "StackShape",
    "Target",
    "cost_main",
    "load_prices",
    "metric_months",
    "price",
    "schedule_rate",
    "stack_shape",
    "timer_alternatives",
]

PRICES_PATH = Path(__file__).resolve().parent / "config" / "aws_prices.toml"
#: Template parameters the bill assumes unless told otherwise (the deployed loop with its schedules on).
RUNNING_PARAMETERS = {"SchedulesEnabled": "true"}
DRIVERS = ("fixed", "bar", "signal", "trade", "resolution", "day")
#: Callers whose work is per shadow trade / per day (the rest are split by table, below).
_TRADE_CALLERS = {"ResolveOutcomeFunction", "service"}
_EVALUATE = "EvaluateSignalsFunction"
#: Which driver a table's reads and writes made by the evaluate handler belong to.
_EVALUATE_TABLE_DRIVER = {"PricesTable": ("bar", "signal"), "DecisionsTable": ("signal", "signal")}
#: Tables with a row per signal / per shadow trade: what other callers do there scales with those rows.
_PER_ROW_TABLE_DRIVER = {"DecisionsTable": "signal", "ShadowTradesTable": "trade"}
_S3_PUT_OPS = {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload"}
#: A Monday 00:00 UTC: schedules are counted over the week from here (weekday crons come out right)
_WEEK_START = 1_704_067_200.0
_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


@dataclass(frozen=True)
class Scheduled:
    """One schedule of the template: what it runs, how often, and in how many distinct hours of a day."""

    rule: str
    target: str  # logical id: a function, or the ECS cluster a task runs on
    expression: str
    enabled: bool
    runs_per_day: float
    hours_per_day: float  # a metric sent on every run has data in this many hours a day
    kind: str = "function"  # "function" or "ecs" (the nightly Fargate task)


def schedule_rate(expression: str) -> tuple[float, float]:
    """Runs a day and distinct hours with a run a day of an EventBridge ``rate()``/``cron()``, over a week."""
    t, end = _WEEK_START - 1.0, _WEEK_START + 7 * 86_400.0
    runs, hours = 0, set()
    while (t := next_fire(expression, t)) < end:
        runs += 1
        hours.add(int(t // 3600))
    return runs / 7.0, len(hours) / 7.0


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
    #: X-Ray mode per function (Globals applied): "Active", "PassThrough" or "Disabled"; a function missing here
    #: is priced as Active (an upper bound)
    tracing: Mapping[str, str] = field(default_factory=dict)
    #: every schedule of the template, enabled or not under the parameters
    schedules: tuple[Scheduled, ...] = ()
    #: the timer's wait for ingest (template parameter IngestLagSeconds): resolve_at = timeout_at + bar + this
    ingest_lag_s: float = 0.0


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
    #: USD per run of each scheduled target, and its runs a day at the target
    per_run: dict[str, tuple[float, float]] = field(default_factory=dict)

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


def _resolve(tpl: Mapping[str, Any], node: Any, params: Mapping[str, str]) -> str:
    """A scalar property as CloudFormation would see it: ``Ref`` to a parameter and ``Fn::If`` resolved."""
    if isinstance(node, Mapping) and "Fn::If" in node:
        cond, yes, no = node["Fn::If"]
        return _resolve(tpl, yes if _condition(tpl, cond, params) else no, params)
    if isinstance(node, Mapping) and "Ref" in node:
        return str(params.get(node["Ref"], node["Ref"]))
    return str(node)


def _target_id(arn: Any) -> str | None:
    """The logical id an ARN property points at (``!GetAtt X.Arn`` or ``!Ref X``)."""
    if isinstance(arn, Mapping):
        if "Fn::GetAtt" in arn:
            att = arn["Fn::GetAtt"]
            return str(att[0] if isinstance(att, list) else str(att).split(".", 1)[0])
        if "Ref" in arn:
            return str(arn["Ref"])
    return None


def _schedules(
    tpl: Mapping[str, Any], res: Mapping[str, Mapping[str, Any]], params: Mapping[str, str]
) -> list[Scheduled]:
    """SAM function ``Schedule`` events, EventBridge rules and Scheduler schedules, with their targets."""
    found: list[tuple[str, str, str, bool]] = []
    for lid, r in res.items():
        props = r.get("Properties", {}) or {}
        if r["Type"] == "AWS::Serverless::Function":
            for name, ev in (props.get("Events") or {}).items():
                if ev.get("Type") not in ("Schedule", "ScheduleV2"):
                    continue
                ep = ev.get("Properties", {}) or {}
                expr = ep.get("Schedule", ep.get("ScheduleExpression"))
                if "State" in ep:
                    on = _resolve(tpl, ep["State"], params) == "ENABLED"
                else:
                    on = _resolve(tpl, ep.get("Enabled", True), params).lower() == "true"
                found.append((f"{lid}{name}", lid, _resolve(tpl, expr, params), on))
        elif r["Type"] == "AWS::Events::Rule" and "ScheduleExpression" in props:
            on = _resolve(tpl, props.get("State", "ENABLED"), params) == "ENABLED"
            for target in props.get("Targets", []) or []:
                tid = _target_id(target.get("Arn"))
                if tid is not None:
                    found.append((lid, tid, _resolve(tpl, props["ScheduleExpression"], params), on))
        elif r["Type"] == "AWS::Scheduler::Schedule":
            on = _resolve(tpl, props.get("State", "ENABLED"), params) == "ENABLED"
            tid = _target_id((props.get("Target") or {}).get("Arn"))
            if tid is not None:
                found.append((lid, tid, _resolve(tpl, props["ScheduleExpression"], params), on))
    out = []
    for rule, target, expr, on in found:
        runs, hours = schedule_rate(expr)
        kind = "ecs" if res.get(target, {}).get("Type") == "AWS::ECS::Cluster" else "function"
        out.append(Scheduled(rule, target, expr, on, runs, hours, kind))
    return out


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
    so an opt-in resource (the dashboard) is priced as deployed by default; so do schedules with their
    ``State`` (``SchedulesEnabled``). Tracing is per function, Globals' unless the function sets its own (Lambda's
    own default, without either, is PassThrough).
    """
    tpl = load_template(template_path)
    # Priced is the loop running: a first deploy keeps the schedules off (SchedulesEnabled defaults to "false")
    # until the image and the exchange are checked, which is not the bill anyone asks about.
    params = _parameter_values(tpl, {**RUNNING_PARAMETERS, **(parameters or {})})
    glob = tpl.get("Globals", {}).get("Function", {})
    default_mb = int(glob.get("MemorySize", 128))
    default_tracing = _resolve(tpl, glob.get("Tracing", "PassThrough"), params)
    res: dict[str, dict[str, Any]] = {
        lid: r for lid, r in tpl["Resources"].items() if "Condition" not in r or _condition(tpl, r["Condition"], params)
    }
    memory: dict[str, int] = {}
    tracing: dict[str, str] = {}
    fargate_vcpu, fargate_gb = 0.0, 0.0
    counts: dict[str, int] = defaultdict(int)
    tables = []
    alarm_metrics: list[tuple[str, str, str]] = []
    for lid, r in res.items():
        kind, props = r["Type"], r.get("Properties", {}) or {}
        counts[kind] += 1
        if kind == "AWS::CloudWatch::Alarm" and not str(props.get("Namespace", "AWS/")).startswith("AWS/"):
            dims = ",".join(f"{d['Name']}={d['Value']}" for d in props.get("Dimensions", []))
            alarm_metrics.append((str(props["Namespace"]), str(props["MetricName"]), dims))
        if kind == "AWS::Serverless::Function":
            memory[lid] = int(props.get("MemorySize", default_mb))
            tracing[lid] = _resolve(tpl, props.get("Tracing", default_tracing), params)
        elif kind == "AWS::Lambda::Function":
            memory[lid] = int(props.get("MemorySize", 128))
            tracing[lid] = _resolve(tpl, (props.get("TracingConfig") or {}).get("Mode", "PassThrough"), params)
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
        tracing=tracing,
        schedules=tuple(_schedules(tpl, res, params)),
        ingest_lag_s=float(params.get("IngestLagSeconds", "0")),
    )


ASL_PATH = TEMPLATE_PATH.parent / "infra" / "statemachines" / "shadow_trade_timer.asl.json"


def transient_retry_policy(asl_path: Path = ASL_PATH) -> tuple[float, float, int]:
    """(IntervalSeconds, BackoffRate, MaxAttempts) of the Resolve Task's retrier for ``TransientError``: the
    resolver raises it while the bar that proves its window complete is not stored yet."""
    asl = json.loads(asl_path.read_text("utf-8"))
    for retrier in asl["States"]["Resolve"].get("Retry", []):
        if "TransientError" in retrier["ErrorEquals"]:
            return float(retrier["IntervalSeconds"]), float(retrier["BackoffRate"]), int(retrier["MaxAttempts"])
    return 0.0, 1.0, 0


def timer_retries(actual_lag_s: float, waited_lag_s: float, policy: tuple[float, float, int] | None = None) -> int:
    """Attempts after the first that AWS makes when the bar arrives ``actual_lag_s`` after its close and the
    timer waited ``waited_lag_s`` for it: each backoff (+5, +10, +20 ... s) that ends before the bar is stored
    is one more attempt. More than MaxAttempts means the trade ends ERROR; the count stops at MaxAttempts."""
    interval, rate, max_attempts = policy if policy is not None else transient_retry_policy()
    short = actual_lag_s - waited_lag_s
    waited, n = 0.0, 0
    while waited < short and n < max_attempts:
        waited += interval * rate**n
        n += 1
    return n


def mean_timer_retries(lag_min_s: float, lag_max_s: float, waited_lag_s: float) -> float:
    """The mean of :func:`timer_retries` over ingest lags spread evenly from ``lag_min_s`` to ``lag_max_s``
    (the every-minute schedule fires at any second of the minute)."""
    policy = transient_retry_policy()
    lags = [lag_min_s + (lag_max_s - lag_min_s) * i / 60 for i in range(61)]
    return sum(timer_retries(lag, waited_lag_s, policy) for lag in lags) / len(lags)


def _table_logical(physical: str, logical_ids: Sequence[str]) -> str:
    """Map a physical table name (``<stack>-ShadowTradesTable-XYZ``) back to its logical id."""
    for lid in sorted(logical_ids, key=len, reverse=True):
        if lid in physical:
            return lid
    return physical


@dataclass(frozen=True)
class _Drivers:
    """Which driver a caller's work belongs to: scheduled targets by their runs, the rest as before."""

    runs_per_day: Mapping[str, float]  # scheduled target -> runs a day (0 when its schedules are disabled)
    hours_per_day: Mapping[str, float]  # scheduled target -> distinct hours with a run, a day

    @classmethod
    def of(cls, shape: StackShape) -> _Drivers:
        runs: dict[str, float] = defaultdict(float)
        hours: dict[str, float] = defaultdict(float)
        for s in shape.schedules:
            runs[s.target] += s.runs_per_day if s.enabled else 0.0
            if s.enabled:
                hours[s.target] = min(24.0, hours[s.target] + s.hours_per_day)
        return cls(dict(runs), dict(hours))

    def function(self, function: str, per_invocation: bool = False) -> str:
        if function in self.runs_per_day:
            return f"run:{function}"
        if function == _EVALUATE:
            # Live, a signal rides in its bar's invocation (records arrive a minute at a time): requests, traces
            # and platform log lines follow the bars; compute is split over bars and signals by record count.
            return "bar" if per_invocation else "record"
        if function in _TRADE_CALLERS:
            return "resolution"
        return "day"

    def db(self, caller: str, table: str, write: bool) -> str | None:
        if caller == "harness":
            return None  # the benchmark's own inspection: not part of the system
        if caller in _TRADE_CALLERS:
            return "resolution"
        if caller == _EVALUATE:
            if table == "ShadowTradesTable":
                return "trade"
            w, r = _EVALUATE_TABLE_DRIVER.get(table, ("signal", "signal"))
            return w if write else r
        # A scheduled job's work on the per-signal / per-trade tables grows with them, not with its runs: the
        # daily summary labels every decision's counterfactual once (an UpdateItem per signal)
        if table in _PER_ROW_TABLE_DRIVER:
            return _PER_ROW_TABLE_DRIVER[table]
        return self.function(caller)

    def requests(self, caller: str, service: str) -> str:
        """Request-priced calls: the evaluator's model/key reads follow time (a refresh interval), not records."""
        if caller == _EVALUATE:
            return "record" if service == "sqs" else "day"
        return self.function(caller)


def _hours_sent(per_day: float, runs_per_day: float | None, hours_per_day: float) -> float:
    """Hours a day in which a metric sent ``per_day`` times has data.

    A scheduled function's metric sent on every run has data in each hour the schedule runs in; one sent on
    some runs, or by an unscheduled function at random moments, in 24 (1 - exp(-k / 24)) hours of a day
    (within the schedule's hours, for a scheduled one).
    """
    if runs_per_day is not None and per_day >= runs_per_day * (1.0 - 1e-9):
        return hours_per_day
    return hours_per_day * (1.0 - math.exp(-per_day / hours_per_day)) if hours_per_day else 0.0


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
    day at random moments has data in 24 (1 - exp(-k / 24)) hours of a day; a scheduled job's in the hours its
    schedule runs in (the 23:00 summary's: one). A metric two functions send has data when either sends it.
    Without that list (older usage files) every counted metric is a whole month: an upper bound. A custom
    metric an alarm watches that the replay never sent (``ModelsExported``, put by the nightly task) is
    counted as a daily job's.
    """
    cw = usage.get("cloudwatch", {})
    detail: list[Mapping[str, Any]] | None = cw.get("metrics")
    daily_share = min(1.0, days_per_month / hours_per_month)
    if detail is None:
        return float(cw.get("custom_metrics", 0)) + daily_share * len(shape.alarm_metrics)
    drivers = _Drivers.of(shape)
    idle: dict[tuple[str, str, str], float] = defaultdict(lambda: 1.0)  # share of hours WITHOUT data
    for m in detail:
        key = (str(m["namespace"]), str(m["name"]), str(m["dimensions"]))
        caller = str(m["caller"])
        if caller == "harness":
            continue  # printed by the benchmark itself, not by the system
        driver = drivers.function(caller, per_invocation=True)
        if driver == "day":
            hours = 1.0  # a daily job's: one hour with data a day
        else:
            per_day = float(m["emissions"]) * scale.get(driver, 0.0)
            scheduled = caller in drivers.runs_per_day
            hours = _hours_sent(
                per_day,
                drivers.runs_per_day.get(caller) if scheduled else None,
                drivers.hours_per_day.get(caller, 0.0) if scheduled else 24.0,
            )
        idle[key] *= 1.0 - min(1.0, hours / 24.0)
    months = sum(min(1.0, 24.0 * (1.0 - q) * days_per_month / hours_per_month) for q in idle.values())
    return months + daily_share * sum(1 for key in shape.alarm_metrics if key not in idle)


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
    drivers = _Drivers.of(shape)
    # The functions' measured invocations: the replay's, then the scheduled ones it does not make, measured on
    # their own; a scheduled function measured nowhere is priced for its requests, traces and platform logs
    # only (compute unknown: flagged in the assumptions).
    replay_fns: dict[str, Mapping[str, Any]] = dict(usage.get("lambda", {}))
    runs_fns: dict[str, Mapping[str, Any]] = {
        fn: d for fn, d in (usage.get("scheduled_runs") or {}).items() if fn not in replay_fns
    }
    unmeasured = sorted(
        fn
        for fn in drivers.runs_per_day
        if fn in shape.memory_mb and fn not in replay_fns and fn not in runs_fns and drivers.runs_per_day[fn] > 0
    )
    functions: dict[str, Mapping[str, Any]] = {
        **replay_fns,
        **runs_fns,
        **{fn: {"invocations": 1, "compute_s": 0.0, "aws_calls": 0} for fn in unmeasured},
    }
    denom: dict[str, float] = {"bar": bars, "signal": signals, "trade": trades, "resolution": resolved, "day": days}
    for fn in drivers.runs_per_day:
        if fn in functions:
            denom[f"run:{fn}"] = float(functions[fn]["invocations"])
    pass_rate = trades / signals if signals else 0.0
    sig_day = target.signals_per_day
    if sig_day is None:
        sig_day = max(target.trades_per_day / pass_rate if pass_rate else 0.0, target.trades_per_day)
    month_days = float(p["meta"]["days_per_month"])
    target_daily: dict[str, float] = {
        "bar": target.bars_per_day * target.streams,
        "signal": sig_day,
        "trade": target.trades_per_day,
        "resolution": target.trades_per_day,
        "day": 1.0,
        **{f"run:{fn}": n for fn, n in drivers.runs_per_day.items()},
    }
    lines: list[CostLine] = []

    def add(component: str, driver: str, usd: float, quantity: float, unit: str) -> None:
        if driver == "record":  # split by record count: what a bar record and a signal record cost alike
            for d, n in (("bar", bars), ("signal", signals)):
                share = n / records if records else 0.0
                lines.append(CostLine(component, d, usd * share, quantity * share, unit))
        else:
            lines.append(CostLine(component, driver, usd, quantity, unit))

    # Kinesis: shard-hours (fixed) + PUT payload units (per record; the producer's puts, i.e. the ingest's)
    hours = float(p["meta"]["hours_per_month"])
    add("kinesis shard-hours", "fixed", shape.shards * target.streams * hours * p["kinesis"]["shard_hour"],
        shape.shards * target.streams * hours, "shard-h/month")  # fmt: skip
    put_units = float(sum(usage.get("kinesis_put_payload_units", {}).values()))
    add("kinesis PUT payload units", "record", put_units * p["kinesis"]["put_payload_unit_per_million"] / 1e6,
        put_units, "25KB units")  # fmt: skip

    # Lambda: requests + GB-s; billed time = compute + per-call latency (AWS in region, the exchange over the
    # internet) + half a ms of rounding; X-Ray traces only for the functions whose template tracing is Active
    lat_s = float(a["aws_call_latency_ms"]) / 1e3
    ext_s = float(a.get("exchange_call_latency_ms", 0.0)) / 1e3
    for fn, d in functions.items():
        n = float(d["invocations"])
        billed_s = (
            float(d["compute_s"]) + float(d["aws_calls"]) * lat_s + float(d.get("external_calls", 0)) * ext_s + n * 5e-4
        )
        gb_s = billed_s * shape.memory_mb.get(fn, 128) / 1024
        add(f"lambda {fn} GB-s", drivers.function(fn), gb_s * p["lambda"]["gb_second"], gb_s, "GB-s")
        per_inv = drivers.function(fn, per_invocation=True)
        add(f"lambda {fn} requests", per_inv, n * p["lambda"]["request_per_million"] / 1e6, n, "requests")
        if shape.tracing.get(fn, "Active") == "Active":
            traces = n * float(a["xray_trace_share"])
            add(f"x-ray traces {fn}", per_inv, traces * p["xray"]["trace_recorded_per_million"] / 1e6, traces,
                "traces")  # fmt: skip
        logs, platform = float(d.get("log_bytes", 0.0)), n * float(a["lambda_platform_log_bytes"])
        add(f"logs {fn}", drivers.function(fn), logs / 1e9 * p["cloudwatch"]["logs_ingest_gb"], logs, "bytes")
        add(f"logs {fn} platform", per_inv, platform / 1e9 * p["cloudwatch"]["logs_ingest_gb"], platform, "bytes")

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
                driver = drivers.db(caller, lid, write)
                if driver is not None:
                    kind = "WRU" if write else "RRU"
                    add(f"dynamodb {lid} {kind}", driver, float(units) * unit_price, float(units), kind)

    # Step Functions standard: state transitions (per trade)
    sfn = float(usage.get("stepfunctions_transitions", 0))
    add("step functions transitions", "resolution", sfn * p["stepfunctions"]["standard_transition_per_thousand"] / 1e3,
        sfn, "transitions")  # fmt: skip

    # Retries AWS would make that a replay cannot show (its bars are stored at their close): the timer waits
    # IngestLagSeconds after the bar that ends the window; a later bar costs one transition and one resolver
    # invocation per Retry attempt (the ASL's TransientError backoff).
    retries = mean_timer_retries(float(a.get("ingest_lag_min_s", 0.0)), float(a.get("ingest_lag_max_s", 0.0)),
                                 shape.ingest_lag_s)  # fmt: skip
    if retries > 0 and resolved > 0:
        extra = retries * resolved
        add("step functions transitions (ingest-lag retries)", "resolution",
            extra * p["stepfunctions"]["standard_transition_per_thousand"] / 1e3, extra, "transitions")  # fmt: skip
        fn = "ResolveOutcomeFunction"
        measured = functions.get(fn)
        if measured and float(measured["invocations"]) > 0:
            n = float(measured["invocations"])
            per_inv_s = (float(measured["compute_s"]) + float(measured["aws_calls"]) * lat_s) / n + 5e-4
            gb_s = extra * per_inv_s * shape.memory_mb.get(fn, 128) / 1024
            add(f"lambda {fn} GB-s (ingest-lag retries)", "resolution", gb_s * p["lambda"]["gb_second"], gb_s, "GB-s")
            add(f"lambda {fn} requests (ingest-lag retries)", "resolution",
                extra * p["lambda"]["request_per_million"] / 1e6, extra, "requests")  # fmt: skip

    # Request-priced services seen in the calls (S3, SQS, SNS, KMS, Secrets Manager): the replay's, and those of
    # the scheduled runs measured on their own (their Kinesis puts are the replay producer's, priced above)
    calls: list[tuple[str, Mapping[str, Any]]] = list(usage.get("calls", {}).items())
    calls += [(fn, d.get("calls", {})) for fn, d in runs_fns.items()]
    for caller, ops in calls:
        if caller == "harness":
            continue
        for op, count in ops.items():
            service, name = op.split(".", 1)
            n = float(count)
            driver = drivers.requests(caller, service)
            if service == "s3":
                each = p["s3"]["put_per_thousand"] if name in _S3_PUT_OPS else p["s3"]["get_per_thousand"]
                add(f"s3 {name}", driver, n * each / 1e3, n, "requests")
            elif service == "sqs" and name.startswith("Send"):
                add(f"sqs {name}", driver, n * p["sqs"]["request_per_million"] / 1e6, n, "requests")
            elif service == "sns" and name == "Publish":
                add("sns publish", driver, n * p["sns"]["publish_per_million"] / 1e6, n, "publishes")
            elif service == "kms":
                add(f"kms request {name}", driver, n * p["kms"]["request_per_ten_thousand"] / 1e4, n, "requests")
            elif service == "secretsmanager":
                add(f"secrets {name}", driver, n * p["secretsmanager"]["request_per_ten_thousand"] / 1e4, n,
                    "requests")  # fmt: skip

    # Fixed monthly resources from the template and what the functions emitted
    cw = p["cloudwatch"]
    months = metric_months(usage, shape, {d: target_daily[d] / denom[d] if denom[d] else 0.0 for d in denom},
                           hours, month_days)  # fmt: skip
    add("cloudwatch custom metrics", "fixed", months * cw["custom_metric_month"], months, "metric-months")
    add("cloudwatch alarms", "fixed", shape.alarms * cw["alarm_month"], shape.alarms, "alarms")
    add("cloudwatch dashboard", "fixed", shape.dashboards * cw["dashboard_month"], shape.dashboards, "dashboards")
    add("kms keys", "fixed", shape.kms_keys * p["kms"]["key_month"], shape.kms_keys, "keys")
    add("secrets", "fixed", shape.secrets * p["secretsmanager"]["secret_month"], shape.secrets, "secrets")
    # The scheduled Fargate task (nightly training): one run's worth, as often as its schedule fires
    for ecs in sorted({s.target for s in shape.schedules if s.kind == "ecs"}):
        task_h = float(a["fargate_task_minutes"]) / 60
        rate = shape.fargate_vcpu * p["fargate"]["vcpu_hour"] + shape.fargate_gb * p["fargate"]["gb_hour"]
        denom[f"run:{ecs}"] = 1.0
        add("fargate nightly training", f"run:{ecs}", task_h * rate, task_h, "task-h")

    # -- per unit, then the month at the target volumes ----------------------------------------------
    by_driver: dict[str, float] = defaultdict(float)
    for ln in lines:
        by_driver[ln.driver] += ln.usd
    per_unit = {d: (by_driver[d] / denom[d] if denom[d] else 0.0) for d in ("bar", "signal", "trade", "resolution")}
    per_unit["trade"] += per_unit.pop("resolution")
    per_run = {
        d.removeprefix("run:"): (by_driver[d] / denom[d] if denom[d] else 0.0, target_daily[d])
        for d in denom
        if d.startswith("run:")
    }
    per_unit["day"] = (by_driver["day"] / days if days else 0.0) + sum(usd * n for usd, n in per_run.values())
    per_unit["fixed_month"] = by_driver["fixed"]

    def monthly_qty(ln: CostLine, value: float) -> float:
        if ln.driver == "fixed":
            return value
        n = denom.get(ln.driver, 0.0)
        return value / n * target_daily[ln.driver] * month_days if n else 0.0

    monthly_by_component: dict[str, float] = defaultdict(float)
    for ln in lines:
        monthly_by_component[ln.component] += monthly_qty(ln, ln.usd)
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
        return sum(monthly_qty(ln, ln.quantity) for ln in lines if ln.component.startswith(prefix))

    def capped(component_prefix: str, free_qty: float, unit_usd: float) -> float:
        return min(month_qty(component_prefix), free_qty) * unit_usd

    free = (
        min(sum(month_qty(f"lambda {fn} GB-s") for fn in functions), ft["lambda_gb_seconds"]) * p["lambda"]["gb_second"]
        + min(sum(month_qty(f"lambda {fn} requests") for fn in functions), ft["lambda_requests"])
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
        assumptions={
            "region": p["meta"]["region"],
            "prices_taken": p["meta"]["taken"],
            **a,
            "tracing": dict(shape.tracing),
            "unmeasured_compute": unmeasured,
        },
        per_run=per_run,
    )


def timer_alternatives(
    r: CostReport, prices: Mapping[str, Any], memory_mb: int = 512
) -> dict[str, tuple[float, float]]:
    """What the margin would be with another shadow-trade timer: (USD per million signals, extra fixed USD/month).

    The margin without the timer's transitions, plus each alternative's per-trade cost times the pass rate, at
    the target volumes and the price file's numbers (the measured transitions per execution, the resolver's
    other work unchanged):

    - one EventBridge Scheduler one-time schedule per trade (an invocation each; creating it is free);
    - a Standard execution per due *minute* (or per due quarter-hour) shared by the trades due then (the
      resolver takes the batch): a trade pays the execution only when no other trade is due in its window,
      exp(-trades a day / windows a day) of the time with trades spread over the day. A quarter-hour delays a
      close by up to 15 minutes, which no reader needs sooner: the nightly job labels every decision from the
      bars, and the 23:00 summary reads closes hours old;
    - the same bucket started by a schedule every minute whether or not a trade is due: no per-trade
      transitions, 1440 executions a day fixed;
    - a sweep every minute (a scheduled function querying a sparse KEYS_ONLY GSI of OPEN trades by due minute):
      one index write when a trade opens and one delete when it closes; fixed: the function's requests,
      platform log lines, one eventually consistent query and one AWS call's latency at ``memory_mb``.
    """
    p, a = prices, prices["assumptions"]
    sfn_each = p["stepfunctions"]["standard_transition_per_thousand"] / 1e3
    wru = p["dynamodb"]["write_request_unit_per_million"] / 1e6
    transitions = sum(ln.quantity for ln in r.lines if ln.component == "step functions transitions")
    resolved = r.volumes.get("resolved_trades", r.volumes["shadow_trades"])
    per_exec = transitions / resolved if resolved else 0.0
    pass_rate, trades_day, month = r.target["pass_rate"], r.target["trade"], r.target["days_per_month"]
    base = r.usd_per_million_signals - r.margin_by_component.get("step functions transitions", 0.0)
    runs = 1440.0 * month
    sweep_fixed = runs * (
        p["lambda"]["request_per_million"] / 1e6
        + (float(a["aws_call_latency_ms"]) + 1.5) / 1e3 * memory_mb / 1024 * p["lambda"]["gb_second"]
        + float(a["lambda_platform_log_bytes"]) / 1e9 * p["cloudwatch"]["logs_ingest_gb"]
        + 0.5 * p["dynamodb"]["read_request_unit_per_million"] / 1e6
    )
    out = {
        "step functions standard per trade (now)": (r.usd_per_million_signals, 0.0),
        **{
            f"standard execution per due {label}, shared": (
                base + pass_rate * math.exp(-trades_day / windows) * per_exec * sfn_each * 1e6,
                0.0,
            )
            for label, windows in (("minute", 1440.0), ("quarter-hour", 96.0))
        },
        "standard execution every minute (scheduled)": (base, runs * per_exec * sfn_each),
        "sweep every minute (sparse GSI)": (base + pass_rate * 2 * wru * 1e6, sweep_fixed),
    }
    if "scheduler" in p:
        out["eventbridge scheduler one-time per trade"] = (
            base + pass_rate * p["scheduler"]["invocation_per_million"],
            0.0,
        )
    return out


def format_report(r: CostReport, top: int = 8, prices: Mapping[str, Any] | None = None) -> str:
    """The figures a reader checks against the goals, with what dominates each (and, given the prices, what
    the margin would be with another shadow-trade timer)."""
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
    if r.per_run:
        out += ["", "scheduled (runs a day from template.yaml's schedules):"]
        for name, (usd, n) in sorted(r.per_run.items()):
            month = usd * n * r.target["days_per_month"]
            out.append(f"  {name}: {n:g} runs a day, ${usd:.7f} a run, ${month:.4f} a month")
    if prices is not None:
        out += ["", "the margin with another shadow-trade timer ($/M signals; extra fixed $/month):"]
        for name, (usd, fixed) in sorted(timer_alternatives(r, prices).items(), key=lambda kv: kv[1][0]):
            out.append(f"  {usd:9.3f}  +{fixed:.2f}  {name}")
    traced = sorted(fn for fn, mode in r.assumptions.get("tracing", {}).items() if mode == "Active")
    untraced = sorted(fn for fn, mode in r.assumptions.get("tracing", {}).items() if mode != "Active")
    out.append(
        f"assumptions: {r.assumptions['aws_call_latency_ms']:g} ms per AWS call in Lambda, "
        f"{r.assumptions.get('exchange_call_latency_ms', 0):g} ms per exchange call, Fargate "
        f"{r.assumptions['fargate_task_minutes']:g} min a run; X-Ray traces every invocation of "
        f"{', '.join(traced) or 'no function'} (not of {', '.join(untraced) or '-'}: PassThrough)"
    )
    if r.assumptions.get("unmeasured_compute"):
        out.append(
            "NOT MEASURED (compute not priced, only requests/traces/logs): "
            + ", ".join(r.assumptions["unmeasured_compute"])
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
    prices = load_prices(args.prices)
    report = price(usage, prices, stack_shape(args.template, overrides), target)
    if args.json:
        print(json.dumps({"cost": report.figures()}))
    else:
        print(format_report(report, prices=prices))
    return 0
