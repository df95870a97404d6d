"""CloudWatch metrics in Embedded Metric Format through Powertools Metrics, for the functions.

The metric names are the seed's (``targets.METRIC_NAMES``), so a dashboard, an alarm and the report
talk about the same figure. Which of them become custom metrics is the ``MetricsLevel``
(:mod:`huracan.observability.levels`): at ``essential`` the daily summary publishes four undimensioned
figures and writes every other one as a field of the same EMF document (``figures``, ``gates``, ``health``:
queryable with Logs Insights, no metric); at ``full`` it publishes them all, per-mode and per-gate figures
each as a ``single_metric`` blob with its own dimension (Powertools flushes those immediately). Figures that
were not measured (None) are not emitted: a missing point is honest, a zero would be a lie on a graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from huracan.observability.insight_aggregator import DailySummary
from huracan.observability.levels import MetricsLevel, metrics_level, publishes
from huracan.observability.targets import MetricValue

__all__ = [
    "DAILY_SUMMARY",
    "DIMENSION_OF_KEY",
    "emit_daily_summary",
    "emit_gate_counts",
    "emit_metric_values",
    "metric_unit",
]

#: The daily summary's Powertools ``service`` (its metrics' ``service`` dimension and its essential set).
DAILY_SUMMARY: Final = "daily-summary"

#: Which dimension a MetricValue's ``key`` is.
DIMENSION_OF_KEY: Final[dict[str, str]] = {"shadow_win_rate": "mode"}

_UNITS: Final[dict[str, MetricUnit]] = {
    "count": MetricUnit.Count,
    "samples": MetricUnit.Count,
    "sessions/day": MetricUnit.Count,
    "models/day": MetricUnit.Count,
}


def metric_unit(unit: str) -> MetricUnit:
    """The CloudWatch unit for a target's unit (bps, AUC, ratios and days have none in CloudWatch)."""
    return _UNITS.get(unit, MetricUnit.NoUnit)


def emit_metric_values(
    metrics: Metrics, values: Iterable[MetricValue], level: MetricsLevel = "full"
) -> tuple[int, dict[str, float]]:
    """Add the measured values the level publishes; returns (how many were emitted, the others by name[.key])."""
    namespace = metrics.namespace
    n = 0
    rest: dict[str, float] = {}
    for m in values:
        if m.value is None:
            continue
        if not publishes(DAILY_SUMMARY, m.name, level):
            rest[f"{m.name}.{m.key}" if m.key else m.name] = m.value
            continue
        if m.key:
            dim = DIMENSION_OF_KEY.get(m.name, "key")
            with single_metric(name=m.name, unit=metric_unit(m.unit), value=m.value, namespace=namespace) as sm:
                sm.add_dimension(name=dim, value=m.key)
        else:
            metrics.add_metric(name=m.name, unit=metric_unit(m.unit), value=m.value)
        n += 1
    return n, rest


def emit_gate_counts(metrics: Metrics, summary: DailySummary) -> int:
    """``signals_received`` / ``signals_passed`` / ``signals_blocked`` per gate (dimension ``gate``)."""
    namespace = metrics.namespace
    n = 0
    for g in summary.gates:
        for name, value in (
            ("signals_received", g.received),
            ("signals_passed", g.passed),
            ("signals_blocked", g.blocked),
        ):
            with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as sm:
                sm.add_dimension(name="gate", value=g.gate)
            n += 1
    return n


def _day_totals(summary: DailySummary) -> dict[str, int]:
    """Signals evaluated today and how many passed every gate (the funnel's first and last stage)."""
    funnel = summary.funnel
    received = funnel[0][1] if funnel else summary.signals
    passed = funnel[-1][1] if len(funnel) > 1 else 0
    return {"signals_received": received, "signals_passed": passed}


def emit_daily_summary(metrics: Metrics, summary: DailySummary, level: MetricsLevel | None = None) -> int:
    """Everything the nightly function publishes at ``level`` (default ``$HURACAN_METRICS_LEVEL``).

    Returns the number of metrics emitted; what the level does not publish goes into the same EMF document
    as metadata fields, so the day's figures are in the function's log either way.
    """
    lvl = metrics_level() if level is None else level
    n, figures = emit_metric_values(metrics, summary.metrics, lvl)
    health = summary.health
    counts: dict[str, float] = {
        **_day_totals(summary),
        "open_trades_past_timeout": len(health.open_past_timeout),
        "integrity_checks_failed": sum(1 for c in health.checks if not c.passed),
    }
    for name, value in counts.items():
        if publishes(DAILY_SUMMARY, name, lvl):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            n += 1
        else:
            figures[name] = value
    if lvl == "full":
        n += emit_gate_counts(metrics, summary)
    else:
        gates: dict[str, Any] = {
            g.gate: {"received": g.received, "passed": g.passed, "blocked": g.blocked} for g in summary.gates
        }
        metrics.add_metadata(key="gates", value=gates)
    if figures:
        metrics.add_metadata(key="figures", value=figures)
    return n
