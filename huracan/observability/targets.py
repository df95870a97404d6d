"""The seed's Key Metrics and their target bands, as data (``seed/ARCHITECTURE.md``, "Key Metrics").

Every figure in a report is shown against one of these, so the names are the seed's exactly. The seed
writes some targets in words; each is turned into a number here and the wording kept beside it:

- ``training_frequency`` "Daily (00:00 UTC)" -> at least one training session per day (``min: 1``);
- ``models_exported`` "Daily" -> at least one model exported per day (``min: 1``);
- ``model_validation`` "100%" -> the share of exported models that passed validation is 1.0 (``min: 1``);
- ``hamilton_adoption`` "Within 1 day of export" -> days from the latest export until Hamilton's first
  live trade on it (``max: 1``).

Bands are inclusive: a value equal to ``min`` or ``max`` is in the band.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "METRIC_NAMES",
    "TARGETS",
    "BandStatus",
    "MetricTarget",
    "MetricValue",
    "TargetBand",
    "band_status",
    "evaluate",
    "target_for",
]

BandStatus = Literal["in band", "below target", "above target", "no data"]


@dataclass(frozen=True, slots=True)
class TargetBand:
    """``min`` / ``ideal`` / ``max`` as the seed writes them; any may be absent."""

    min: float | None = None
    ideal: float | None = None
    max: float | None = None

    def text(self) -> str:
        parts = [
            f"{k} {v:g}" for k, v in (("min", self.min), ("ideal", self.ideal), ("max", self.max)) if v is not None
        ]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class MetricTarget:
    """One seed metric: its description, unit, band, and the seed's wording when the seed used words."""

    name: str
    description: str
    unit: str
    band: TargetBand
    seed_target: str


@dataclass(frozen=True, slots=True)
class MetricValue:
    """A measured figure against its target; ``key`` adds the qualifier (e.g. the mode) to ``name``."""

    name: str
    key: str
    value: float | None
    band: TargetBand
    status: BandStatus
    unit: str
    n: int | None = None
    note: str = ""


def band_status(value: float | None, band: TargetBand) -> BandStatus:
    if value is None:
        return "no data"
    if band.min is not None and value < band.min:
        return "below target"
    if band.max is not None and value > band.max:
        return "above target"
    return "in band"


def _t(name: str, description: str, unit: str, band: TargetBand, seed_target: str) -> MetricTarget:
    return MetricTarget(name, description, unit, band, seed_target)


#: Metric name (``shadow_win_rate.<mode>`` for the per-mode bands) -> target.
TARGETS: Final[dict[str, MetricTarget]] = {
    t.name: t
    for t in (
        _t(
            "shadow_trades_daily",
            "Number of shadow trades executed per day",
            "count",
            TargetBand(20, 50, 200),
            "{min: 20, ideal: 50, max: 200}",
        ),
        _t(
            "shadow_win_rate.scalp",
            "Win rate of shadow trades (paper only), scalp mode",
            "ratio",
            TargetBand(0.70, 0.74, 0.78),
            "scalp: {min: 0.70, ideal: 0.74, max: 0.78}",
        ),
        _t(
            "shadow_win_rate.runner",
            "Win rate of shadow trades (paper only), runner mode",
            "ratio",
            TargetBand(0.87, 0.90, 0.95),
            "runner: {min: 0.87, ideal: 0.90, max: 0.95}",
        ),
        _t(
            "shadow_pnl_daily",
            "Daily P&L from shadow trades (simulated)",
            "bps",
            TargetBand(50, 100, 200),
            "{min: 50, ideal: 100, max: 200}  # bps, not GBP",
        ),
        _t(
            "training_frequency",
            "How often models are retrained",
            "sessions/day",
            TargetBand(min=1),
            "Daily (00:00 UTC)",
        ),
        _t(
            "model_improvement",
            "AUC improvement per training session",
            "AUC",
            TargetBand(min=0.005, ideal=0.01),
            "{min: 0.005, ideal: 0.01}  # +0.5% to +1%",
        ),
        _t(
            "training_data_size",
            "Number of samples used for training",
            "samples",
            TargetBand(1000, 5000, 50000),
            "{min: 1000, ideal: 5000, max: 50000}",
        ),
        _t(
            "feature_importance_stability",
            "How much feature importance changes",
            "share moved",
            TargetBand(max=0.30),
            "{max: 0.30}  # <30% change per update",
        ),
        _t(
            "models_exported",
            "Models exported to Hamilton",
            "models/day",
            TargetBand(min=1),
            "Daily",
        ),
        _t(
            "model_validation",
            "All exported models pass validation",
            "share",
            TargetBand(min=1.0),
            "100%",
        ),
        _t(
            "hamilton_adoption",
            "Is Hamilton using latest models?",
            "days",
            TargetBand(max=1.0),
            "Within 1 day of export",
        ),
    )
}

METRIC_NAMES: Final[tuple[str, ...]] = tuple(TARGETS)


def target_for(name: str, key: str = "") -> MetricTarget:
    """The target of ``name`` (``key`` selects a per-mode band, e.g. ``shadow_win_rate`` + ``scalp``)."""
    full = f"{name}.{key}" if key and f"{name}.{key}" in TARGETS else name
    try:
        return TARGETS[full]
    except KeyError:
        raise KeyError(f"no target for metric {full!r}; known: {', '.join(METRIC_NAMES)}") from None


def evaluate(name: str, value: float | None, *, key: str = "", n: int | None = None, note: str = "") -> MetricValue:
    """``value`` against the seed's band for ``name`` (and ``key``)."""
    t = target_for(name, key)
    return MetricValue(name, key, value, t.band, band_status(value, t.band), t.unit, n, note)
