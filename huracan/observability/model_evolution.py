"""How the models changed across training sessions (the seed's ``model_evolution``).

Definitions:

- ``model_improvement``: AUC of the day's (latest) session minus the AUC of the session before it. Each
  session is scored on its own out-of-sample window, so one delta is noisy; the intervals shown next to
  it in the report say how noisy.
- ``feature_importance_stability``: the share of importance that moved between the last two sessions,
  ``½ Σ_f |share_new(f) − share_old(f)|`` over normalised importances (the definition the trainer's
  readiness check uses; re-implemented here so the report does not need LightGBM).
- ``training_frequency`` / ``models_exported``: sessions / exports dated that UTC day.
- ``model_validation``: the share of all exports up to the report time whose validation is known to have
  passed (unknown counts as not passed: "100 %" needs evidence).
- ``hamilton_adoption``: days from the latest export until Hamilton's first live trade on that model; if
  Hamilton has not used it yet, the days elapsed so far (a lower bound, flagged ``adopted=False``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from huracan.core.timeutil import epoch_s
from huracan.observability.records import LiveTrade, ModelExport, ShadowTrade, TrainingSessionRecord
from huracan.observability.targets import MetricValue, evaluate

__all__ = [
    "Adoption",
    "evolution_metric_values",
    "export_history",
    "feature_importance_stability",
    "hamilton_adoption",
    "importance_changes",
    "importance_evolution",
    "model_improvement",
    "model_usage",
    "model_validation",
    "models_exported",
    "normalise",
    "sessions_until",
    "training_frequency",
]

_DAY_S = 86400.0


def normalise(values: Mapping[str, float]) -> dict[str, float]:
    """Non-negative shares summing to 1 (all zero when nothing is positive)."""
    pos = {k: max(float(v), 0.0) for k, v in values.items()}
    total = sum(pos.values())
    return {k: (v / total if total > 0 else 0.0) for k, v in pos.items()}


def feature_importance_stability(new: Mapping[str, float], old: Mapping[str, float]) -> float:
    a, b = normalise(new), normalise(old)
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def sessions_until(sessions: Iterable[TrainingSessionRecord], day: str) -> list[TrainingSessionRecord]:
    """Sessions dated on or before ``day``, oldest first."""
    return sorted((s for s in sessions if s.date <= day), key=lambda s: (s.date, s.created_at or ""))


def model_improvement(sessions: Sequence[TrainingSessionRecord], day: str) -> float | None:
    """Latest session's AUC minus the previous session's (both on or before ``day``); None if unknown."""
    with_auc = [s for s in sessions_until(sessions, day) if s.auc is not None]
    if len(with_auc) < 2 or with_auc[-1].date != day:
        return None
    return float(with_auc[-1].auc or 0.0) - float(with_auc[-2].auc or 0.0)


def importance_evolution(sessions: Sequence[TrainingSessionRecord], top: int = 8) -> dict[str, list[float]]:
    """Feature -> normalised share per session (oldest first), for the ``top`` features of the latest."""
    with_imp = [s for s in sorted(sessions, key=lambda s: (s.date, s.created_at or "")) if s.importance]
    if not with_imp:
        return {}
    latest = normalise(with_imp[-1].importance)
    keep = [f for f, _ in sorted(latest.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    shares = [normalise(s.importance) for s in with_imp]
    return {f: [sh.get(f, 0.0) for sh in shares] for f in keep}


def importance_changes(sessions: Sequence[TrainingSessionRecord]) -> list[tuple[str, float, float]]:
    """(feature, old share, new share) between the last two sessions with importances, biggest move first."""
    with_imp = [s for s in sorted(sessions, key=lambda s: (s.date, s.created_at or "")) if s.importance]
    if len(with_imp) < 2:
        return []
    old, new = normalise(with_imp[-2].importance), normalise(with_imp[-1].importance)
    rows = [(f, old.get(f, 0.0), new.get(f, 0.0)) for f in set(old) | set(new)]
    return sorted(rows, key=lambda r: (-abs(r[2] - r[1]), r[0]))


def training_frequency(sessions: Iterable[TrainingSessionRecord], day: str) -> int:
    return sum(1 for s in sessions if s.date == day)


def export_history(exports: Iterable[ModelExport], as_of: str | None = None) -> list[ModelExport]:
    """Exports (oldest first), only those made at or before ``as_of`` when given."""
    rows = [e for e in exports if as_of is None or epoch_s(e.created_at) <= epoch_s(as_of)]
    return sorted(rows, key=lambda e: (e.created_at, e.model_id))


def models_exported(exports: Iterable[ModelExport], day: str) -> int:
    return sum(1 for e in exports if e.created_at[:10] == day)


def model_validation(exports: Iterable[ModelExport], as_of: str) -> tuple[float | None, int]:
    """(share validated, n exports) over every export up to ``as_of``."""
    rows = export_history(exports, as_of)
    if not rows:
        return None, 0
    return sum(1 for e in rows if e.validated is True) / len(rows), len(rows)


@dataclass(frozen=True, slots=True)
class Adoption:
    """Is Hamilton on the latest export? ``share_current`` is over live trades opened after that export."""

    model_id: str
    exported_at: str
    first_use: str | None
    lag_days: float
    adopted: bool
    live_after_export: int
    on_current: int

    @property
    def share_current(self) -> float | None:
        return self.on_current / self.live_after_export if self.live_after_export else None


def hamilton_adoption(exports: Iterable[ModelExport], live: Iterable[LiveTrade], as_of: str) -> Adoption | None:
    """How long Hamilton took to trade on the latest export (None before the first export)."""
    history = export_history(exports, as_of)
    if not history:
        return None
    latest = history[-1]
    t_export = epoch_s(latest.created_at)
    after = [t for t in live if t.ts_open is not None and t_export <= epoch_s(t.ts_open) <= epoch_s(as_of)]
    on_it = sorted((t for t in after if t.model_id == latest.model_id), key=lambda t: str(t.ts_open))
    first = on_it[0].ts_open if on_it else None
    lag = (epoch_s(first) if first else epoch_s(as_of)) - t_export
    return Adoption(
        model_id=latest.model_id,
        exported_at=latest.created_at,
        first_use=first,
        lag_days=lag / _DAY_S,
        adopted=first is not None,
        live_after_export=len(after),
        on_current=len(on_it),
    )


def model_usage(shadow: Iterable[ShadowTrade], live: Iterable[LiveTrade]) -> dict[str, dict[str, int]]:
    """model_id -> {"shadow": n, "live": n}; trades without a model are under ``"(prior)"``."""
    s = Counter(t.model_id or "(prior)" for t in shadow)
    v = Counter(t.model_id or "(none)" for t in live)
    return {m: {"shadow": s.get(m, 0), "live": v.get(m, 0)} for m in sorted(set(s) | set(v))}


def evolution_metric_values(
    sessions: Sequence[TrainingSessionRecord],
    exports: Sequence[ModelExport],
    live: Sequence[LiveTrade],
    day: str,
    as_of: str,
) -> list[MetricValue]:
    """The seed's learning and export metrics for ``day`` against their bands."""
    upto = sessions_until(sessions, day)
    today = [s for s in upto if s.date == day]
    latest = today[-1] if today else None
    with_imp = [s for s in upto if s.importance]
    stability = (
        feature_importance_stability(with_imp[-1].importance, with_imp[-2].importance)
        if len(with_imp) >= 2 and with_imp[-1].date == day
        else None
    )
    validation, n_exports = model_validation(exports, as_of)
    adoption = hamilton_adoption(exports, live, as_of)
    return [
        evaluate("training_frequency", float(len(today)), n=len(today)),
        evaluate("training_data_size", float(latest.n) if latest else None, n=latest.n if latest else None),
        evaluate("model_improvement", model_improvement(sessions, day)),
        evaluate("feature_importance_stability", stability),
        evaluate("models_exported", float(models_exported(exports, day))),
        evaluate("model_validation", validation, n=n_exports),
        evaluate(
            "hamilton_adoption",
            adoption.lag_days if adoption else None,
            n=adoption.live_after_export if adoption else None,
            note=""
            if adoption is None
            else ("first live trade on it after" if adoption.adopted else "not used yet; days so far"),
        ),
    ]
