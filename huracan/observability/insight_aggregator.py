""" "What did we learn? Are models ready?" (the seed's ``insight_aggregator``): one day's figures together.

:func:`build_daily_summary` is the single entry point the nightly Lambda, ``huracan report`` and the demo
call with the day's records; everything in :class:`DailySummary` is computed from them by the pure
functions of the sibling modules, so the report, the notification and the EMF metrics cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from huracan.core.counterfactual import GatePerformance
from huracan.observability.health import HealthInputs, HealthReport, system_health
from huracan.observability.live_feed import FeedEvent, activity_events
from huracan.observability.market_context_logger import ContextGroup, market_context
from huracan.observability.metrics_computer import (
    CalibrationBin,
    GateCounts,
    ShadowMetrics,
    ThresholdRecommendation,
    calibration_bins,
    equity_curve,
    expected_calibration_error,
    gate_counts,
    gate_funnel,
    gate_outcomes,
    pass_rate_trend,
    shadow_metric_values,
    shadow_metrics,
    threshold_recommendations,
)
from huracan.observability.model_evolution import (
    Adoption,
    evolution_metric_values,
    export_history,
    hamilton_adoption,
    importance_changes,
    importance_evolution,
    model_usage,
    sessions_until,
)
from huracan.observability.records import (
    ChallengerLook,
    DecisionRow,
    LiveTrade,
    ModelExport,
    ShadowTrade,
    TrainingSessionRecord,
)
from huracan.observability.shadow_live import Divergence, DivergenceSummary, divergences, summarise_divergence
from huracan.observability.targets import TARGETS, MetricValue

__all__ = ["DailySummary", "Readiness", "build_daily_summary", "model_readiness"]


@dataclass(frozen=True, slots=True)
class Readiness:
    """Is the latest model ready for Hamilton, and why (the trainer's verdict plus the seed's bands)."""

    session_date: str | None
    ready: bool | None
    published_model_id: str | None
    checks: tuple[tuple[str, bool | None, str], ...]
    reasons: tuple[str, ...]


def model_readiness(sessions: Sequence[TrainingSessionRecord], day: str) -> Readiness:
    upto = sessions_until(sessions, day)
    if not upto:
        return Readiness(None, None, None, (), ("no training session yet",))
    s = upto[-1]
    band = TARGETS["training_data_size"].band
    prev = [x for x in upto[:-1] if x.auc is not None]
    improving: bool | None = None if s.auc is None or not prev else s.auc >= float(prev[-1].auc or 0.0)
    checks = (
        ("trainer verdict", s.ready, s.verdict),
        ("sufficient training data", s.n >= (band.min or 0), f"n={s.n} (target at least {band.min:g})"),
        (
            "properly calibrated",
            None if s.ece is None else s.ready or "ece" not in " ".join(s.reasons).lower(),
            "ECE n/a" if s.ece is None else f"ECE {s.ece:.4f}",
        ),
        (
            "metrics improving",
            improving,
            "AUC n/a" if s.auc is None else f"AUC {s.auc:.3f}" + (f" vs {prev[-1].auc:.3f}" if prev else ""),
        ),
    )
    return Readiness(s.date, s.ready, s.model_id, checks, s.reasons)


@dataclass(frozen=True, slots=True)
class DailySummary:
    """Everything the report shows for one UTC day, as seen at ``as_of``."""

    day: str
    as_of: str
    shadow: ShadowMetrics
    metrics: tuple[MetricValue, ...]
    equity: list[tuple[str, float]]
    calibration: list[CalibrationBin]
    calibration_ece: float | None
    gates: list[GateCounts]
    funnel: list[tuple[str, int]]
    pass_rate_trend: dict[str, dict[str, float | None]]
    gate_performance: GatePerformance
    recommendations: list[ThresholdRecommendation]
    sessions: list[TrainingSessionRecord]
    importance: dict[str, list[float]]
    importance_change: list[tuple[str, float, float]]
    exports: list[ModelExport]
    adoption: Adoption | None
    model_usage: dict[str, dict[str, int]]
    readiness: Readiness
    divergence: list[Divergence]
    divergence_summary: DivergenceSummary
    context: dict[str, list[ContextGroup]]
    health: HealthReport
    feed: list[FeedEvent]
    signals: int
    live_trades: int
    #: challengers served in shadow and their last forward look (champion vs challenger, same decisions)
    challengers: list[ChallengerLook] = field(default_factory=list)

    def metric(self, name: str, key: str = "") -> MetricValue:
        for m in self.metrics:
            if m.name == name and m.key == key:
                return m
        raise KeyError(f"{name}{'.' + key if key else ''}")


def build_daily_summary(
    day: str,
    as_of: str,
    *,
    decisions: Sequence[DecisionRow] = (),
    shadow: Sequence[ShadowTrade] = (),
    live: Sequence[LiveTrade] = (),
    sessions: Sequence[TrainingSessionRecord] = (),
    exports: Sequence[ModelExport] = (),
    health_inputs: HealthInputs | None = None,
    modes: Sequence[str] = ("scalp", "runner"),
    challengers: Sequence[ChallengerLook] = (),
) -> DailySummary:
    """The day's figures. ``decisions`` may span earlier days (for the pass-rate trend) and ``shadow``
    may include older trades (the open-past-timeout scan and linked live trades); each figure picks the
    rows it needs by ``day``."""
    today_dec = [d for d in decisions if d.day == day]
    today_tr = [t for t in shadow if t.day == day]
    sm = shadow_metrics(shadow, day)
    metrics = (*shadow_metric_values(sm, modes), *evolution_metric_values(sessions, exports, live, day, as_of))
    bins = calibration_bins(today_tr)
    rows, unmatched = divergences(live, shadow)
    return DailySummary(
        day=day,
        as_of=as_of,
        shadow=sm,
        metrics=metrics,
        equity=equity_curve(today_tr),
        calibration=bins,
        calibration_ece=expected_calibration_error(bins),
        gates=gate_counts(today_dec),
        funnel=gate_funnel(today_dec),
        pass_rate_trend=pass_rate_trend(d for d in decisions if d.day <= day),
        gate_performance=gate_outcomes(today_dec, shadow),
        recommendations=threshold_recommendations(today_dec, shadow),
        sessions=sessions_until(sessions, day),
        importance=importance_evolution(sessions_until(sessions, day)),
        importance_change=importance_changes(sessions_until(sessions, day)),
        exports=export_history(exports, as_of),
        adoption=hamilton_adoption(exports, live, as_of),
        model_usage=model_usage(today_tr, live),
        readiness=model_readiness(sessions, day),
        divergence=rows,
        divergence_summary=summarise_divergence(rows, unmatched),
        context=market_context(today_tr),
        health=system_health(decisions, shadow, day, as_of, health_inputs),
        feed=activity_events(
            today_dec,
            today_tr,
            [s for s in sessions if s.date == day],
            [e for e in exports if e.created_at[:10] == day],
        ),
        signals=len(today_dec),
        live_trades=len(live),
        challengers=list(challengers),
    )
