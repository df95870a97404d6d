"""The template's observability spend: MetricsLevel reaches every function, the dashboard is opt-in, and no
operational alarm depends on a custom metric except the one the nightly job puts (``ModelsExported``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from huracan.cost import stack_shape
from huracan.local.template import load_template, resources_of_type
from huracan.observability.levels import ESSENTIAL_METRICS, METRICS_LEVEL_ENV, METRICS_LEVELS


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_metrics_level_is_a_parameter_defaulting_to_essential_and_reaches_every_function(
    template: dict[str, Any],
) -> None:
    param = template["Parameters"]["MetricsLevel"]
    assert param["Default"] == "essential"
    assert tuple(param["AllowedValues"]) == METRICS_LEVELS
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env[METRICS_LEVEL_ENV] == {"Ref": "MetricsLevel"}
    for lid, fn in resources_of_type(template, "AWS::Serverless::Function").items():
        own = (fn["Properties"].get("Environment") or {}).get("Variables", {})
        assert METRICS_LEVEL_ENV not in own, f"{lid} overrides the stack's MetricsLevel"


def test_dashboard_exists_only_when_enabled(template: dict[str, Any]) -> None:
    assert template["Parameters"]["DashboardEnabled"]["Default"] == "false"
    (lid,) = resources_of_type(template, "AWS::CloudWatch::Dashboard")
    cond = template["Resources"][lid]["Condition"]
    assert template["Conditions"][cond] == {"Fn::Equals": [{"Ref": "DashboardEnabled"}, "true"]}
    assert stack_shape().dashboards == 0
    assert stack_shape(parameters={"DashboardEnabled": "true"}).dashboards == 1


def test_dashboard_charts_only_metrics_that_exist_at_the_essential_level(template: dict[str, Any]) -> None:
    """A widget on a metric the default level no longer sends would stay empty without anyone noticing."""
    body = template["Resources"]["HuracanDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    widgets = json.loads(body)["widgets"]  # the ${...} substitutions all sit inside JSON strings
    custom = {tuple(m[:4]) for w in widgets for m in w["properties"]["metrics"] if not m[0].startswith("AWS/")}
    allowed = {("Huracan", "ModelsExported", "service", "huracan")} | {
        ("Huracan", name, "service", "daily-summary") for name in ESSENTIAL_METRICS["daily-summary"]
    }
    assert custom and custom <= allowed


def test_only_the_no_model_alarm_watches_a_custom_metric(template: dict[str, Any]) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    custom = {lid for lid, a in alarms.items() if not a["Properties"]["Namespace"].startswith("AWS/")}
    # ModelsExported (the nightly heartbeat: a datapoint per finished run), NightlyFailed (a failed night, told
    # apart), ArchiveBacklogDays (bars near expiry)
    assert custom == {"NightlyRunHeartbeatAlarm", "NightlyFailedAlarm", "UnarchivedBarsNearExpiryAlarm"}
    assert set(stack_shape().alarm_metrics) == {
        ("Huracan", "ModelsExported", "service=huracan"),
        ("Huracan", "NightlyFailed", "service=huracan"),
        ("Huracan", "ArchiveBacklogDays", "service=huracan"),
    }


# The functions invoked per minute / per batch by callers that never sample (an EventBridge schedule, the Kinesis
# event source mapping): tracing every invocation would bill 43,800 traces a month each.
PASSTHROUGH = {"EvaluateSignalsFunction", "IngestMarketFunction"}


def test_only_the_per_minute_functions_pass_tracing_through_and_each_says_why(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    functions = resources_of_type(template, "AWS::Serverless::Function")
    own = {lid: fn["Properties"]["Tracing"] for lid, fn in functions.items() if "Tracing" in fn["Properties"]}
    assert own == dict.fromkeys(PASSTHROUGH, "PassThrough")
    justified = template["Metadata"]["Huracan::TracingJustifications"]
    assert set(justified) == set(own), "every tracing override argued for, and no stale argument"
    short = sorted(lid for lid, why in justified.items() if len(str(why).split()) < 12)
    assert short == [], f"tracing overrides need a real justification (>= 12 words): {short}"
    # the timer keeps tracing each shadow trade end to end
    assert template["Resources"]["ShadowTradeTimer"]["Properties"]["Tracing"] == {"Enabled": True}


def test_the_cost_model_reads_tracing_per_function_from_the_template(template: dict[str, Any]) -> None:
    tracing = stack_shape().tracing
    assert set(tracing) == set(resources_of_type(template, "AWS::Serverless::Function"))
    assert {lid for lid, mode in tracing.items() if mode != "Active"} == PASSTHROUGH


def test_the_cost_model_counts_every_schedule_of_the_template() -> None:
    """The ingest every minute, the summary at 23:00 and the nightly task: on by default, off with the switch."""
    runs = {(s.rule, s.target): (s.runs_per_day, s.enabled) for s in stack_shape().schedules}
    assert runs == {
        ("IngestMarketFunctionEveryMinute", "IngestMarketFunction"): (1440.0, True),
        ("DailySummaryFunctionNightly", "DailySummaryFunction"): (1.0, True),
        ("NightlyTrainingRule", "TrainingCluster"): (1.0, True),
        ("SweepOpenTradesFunctionHourly", "SweepOpenTradesFunction"): (24.0, True),
    }
    assert not any(s.enabled for s in stack_shape(parameters={"SchedulesEnabled": "false"}).schedules)
