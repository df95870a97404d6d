"""CloudWatch metrics in Embedded Metric Format through Powertools Metrics, for the functions.

The metric names are the seed's (``targets.METRIC_NAMES``), so a dashboard, an alarm and the report
talk about the same figure. Undimensioned figures go on the handler's ``Metrics`` object (flushed once by
``@metrics.log_metrics``); per-mode and per-gate figures need their own dimension, so each is written as
a ``single_metric`` blob (Powertools flushes those immediately). Figures that were not measured (None)
are not emitted: a missing point is honest, a zero would be a lie on the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from huracan.observability.insight_aggregator import DailySummary
from huracan.observability.targets import MetricValue

__all__ = ["DIMENSION_OF_KEY", "emit_daily_summary", "emit_gate_counts", "emit_metric_values", "metric_unit"]

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


def emit_metric_values(metrics: Metrics, values: Iterable[MetricValue]) -> int:
    """Add every measured value; returns how many were emitted (dimensioned ones in ``metrics``' namespace)."""
    namespace = metrics.namespace
    n = 0
    for m in values:
        if m.value is None:
            continue
        if m.key:
            dim = DIMENSION_OF_KEY.get(m.name, "key")
            with single_metric(name=m.name, unit=metric_unit(m.unit), value=m.value, namespace=namespace) as sm:
                sm.add_dimension(name=dim, value=m.key)
        else:
            metrics.add_metric(name=m.name, unit=metric_unit(m.unit), value=m.value)
        n += 1
    return n


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


def emit_daily_summary(metrics: Metrics, summary: DailySummary) -> int:
    """Everything the nightly function publishes: seed metrics, gate counts, health figures."""
    n = emit_metric_values(metrics, summary.metrics)
    n += emit_gate_counts(metrics, summary)
    h = summary.health
    metrics.add_metric(name="open_trades_past_timeout", unit=MetricUnit.Count, value=len(h.open_past_timeout))
    metrics.add_metric(
        name="integrity_checks_failed", unit=MetricUnit.Count, value=sum(1 for c in h.checks if not c.passed)
    )
    return n + 2
