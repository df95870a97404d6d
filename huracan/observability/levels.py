"""Which figures become CloudWatch custom metrics (``MetricsLevel``), and where the others go.

Why a level: every distinct metric name x dimension set is a custom metric at $0.30 a month (prorated by the
hour it receives data), and at the seed's volumes the engine's own metrics cost more than its compute. A good
share of them duplicate what AWS publishes for free (records in: ``AWS/Kinesis IncomingRecords``; signals
passed: one timer each, ``AWS/States ExecutionsStarted``; records parked: ``AWS/SQS NumberOfMessagesSent``;
lag: ``AWS/Lambda IteratorAge``), and the daily report and its notification carry every figure anyway. So the
template's ``MetricsLevel`` (``$HURACAN_METRICS_LEVEL``) is ``essential`` by default:

- ``essential``: only the figures worth a chart that AWS does not publish, once a day (the daily summary's
  signals received / passed, shadow P&L and the model's AUC improvement), plus the nightly job's
  ``ModelsExported`` that ``NightlyRunHeartbeatAlarm`` watches (always sent). The per-batch counters of
  ``evaluate_signals`` become fields of one structured log line per batch, the rest of the daily figures
  fields of the daily EMF document: Logs Insights still sums and charts them, for the price of the log bytes.
- ``full``: every counter and figure as a metric, with the per-gate and per-mode dimensions (about 40 metrics,
  ~$3.5 a month more at list price, nearly all of it the ten per-batch counters that get data every hour),
  for a team that wants them on CloudWatch graphs.

Kept free of heavy imports: the evaluate handler imports it on its cold start.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Final, Literal

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

__all__ = [
    "ESSENTIAL_METRICS",
    "METRICS_LEVELS",
    "METRICS_LEVEL_ENV",
    "MetricsLevel",
    "emit_counters",
    "metrics_level",
    "publishes",
]

MetricsLevel = Literal["essential", "full"]
METRICS_LEVELS: Final[tuple[MetricsLevel, ...]] = ("essential", "full")
METRICS_LEVEL_ENV: Final = "HURACAN_METRICS_LEVEL"

#: Per emitting function (its Powertools ``service``), the metric names published at the essential level.
#: Per-invocation emitters publish none: each metric they sent would have data every hour (a whole $0.30).
ESSENTIAL_METRICS: Final[Mapping[str, frozenset[str]]] = {
    "evaluate-signals": frozenset(),
    "resolve-outcome": frozenset(),
    "ingest-market": frozenset(),
    "daily-summary": frozenset({"signals_received", "signals_passed", "shadow_pnl_daily", "model_improvement"}),
}

# At the essential level a batch may publish no metric at all, by design; Powertools would warn about it.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def metrics_level(environ: Mapping[str, str] | None = None) -> MetricsLevel:
    """The level from ``$HURACAN_METRICS_LEVEL`` (unset or empty: ``essential``); anything else fails loudly."""
    raw = (os.environ if environ is None else environ).get(METRICS_LEVEL_ENV, "").strip().lower() or "essential"
    if raw not in METRICS_LEVELS:
        raise ValueError(f"{METRICS_LEVEL_ENV}={raw!r}: expected one of {', '.join(METRICS_LEVELS)}")
    return raw


def publishes(function: str, name: str, level: MetricsLevel | None = None) -> bool:
    """Whether ``function`` publishes metric ``name`` at ``level`` (default: the environment's)."""
    lvl = metrics_level() if level is None else level
    return lvl == "full" or name in ESSENTIAL_METRICS.get(function, frozenset())


def emit_counters(
    metrics: Metrics, counters: Mapping[str, float], *, function: str, level: MetricsLevel | None = None
) -> dict[str, float]:
    """Add the counters ``function`` publishes at ``level`` as Count metrics; return the others.

    The caller writes what is returned as fields of its own structured log line, so every counter stays
    queryable whatever the level.
    """
    lvl = metrics_level() if level is None else level
    rest: dict[str, float] = {}
    for name, value in counters.items():
        if publishes(function, name, lvl):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        else:
            rest[name] = value
    return rest
