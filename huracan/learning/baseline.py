"""The mechanical baseline: what the cost arithmetic alone predicts, and the model's lift over it, per mode.

An AUC above 0.5 is not an edge when the label itself is made by arithmetic the features can see. A seed
scalp wins 13 bps gross against 10 bps of fees plus the estimated spread, so a scalp whose spread estimate
is 2 bps or more *cannot* win, and ``spread_bps`` is a model feature; runners (win rate ~0.8) pooled with
scalps (~0.44) and ``is_runner`` as a feature add more. A model that learns only that scores a fine AUC and
knows nothing about the market.

The baseline is fitted on that arithmetic alone — per mode (its barrier distances and threshold are the
mode's), a logistic regression on the spread (the configured default where unknown), whether it was
estimated, the side, the net win margin ``tp − 2·fee − spread`` and whether that margin leaves a WIN
possible at all — on the same training rows as the model, and scored on the same test rows. The engine then
reports every AUC **per mode beside the baseline's**, and the readiness verdict asks for the *lift* (model
AUC minus baseline AUC on the same rows, paired bootstrap interval) rather than AUC > 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from huracan.core.bars import FloatArray
from huracan.learning.evaluate import BootstrapPlan, Estimate, _auc_stat, _estimates

__all__ = ["MODES", "Baseline", "ModeLift", "ModeTerms", "fit_baseline", "lift_by_mode", "mode_of", "terms_from_engine"]

MODES: tuple[str, ...] = ("scalp", "runner")
_MIN_ROWS = 20


@dataclass(frozen=True, slots=True)
class ModeTerms:
    """A mode's deployed gate threshold and the cost arithmetic of its label."""

    threshold: float
    tp_bps: float
    sl_bps: float
    fee_bps_per_side: float = 5.0
    default_spread_bps: float = 2.0
    breakeven_band_bps: float = 1.0


def terms_from_engine(engine: Any) -> dict[str, ModeTerms]:
    """Per mode of an :class:`~huracan.core.config.EngineConfig`: its ``meta_label_threshold``, barriers, costs."""
    c = engine.costs
    return {
        m: ModeTerms(
            threshold=float(engine.mode(m).meta_label_threshold),
            tp_bps=float(engine.mode(m).tp_bps),
            sl_bps=float(engine.mode(m).sl_bps),
            fee_bps_per_side=float(c.fee_bps_per_side),
            default_spread_bps=float(c.default_spread_bps),
            breakeven_band_bps=float(c.breakeven_band_bps),
        )
        for m in MODES
        if m in engine.modes
    }


def mode_of(X: FloatArray, feature_names: tuple[str, ...]) -> np.ndarray:
    """``"runner"`` / ``"scalp"`` per row, from the ``is_runner`` feature (the one place a row names its mode)."""
    runner = np.asarray(X[:, feature_names.index("is_runner")]) == 1.0
    return np.where(runner, "runner", "scalp")


def _design(X: FloatArray, names: tuple[str, ...], t: ModeTerms | None) -> FloatArray:
    spread_raw = X[:, names.index("spread_bps")]
    default = t.default_spread_bps if t is not None else 2.0
    spread = np.where(np.isfinite(spread_raw), spread_raw, default)
    est = np.nan_to_num(X[:, names.index("spread_estimated")], nan=1.0)
    side = X[:, names.index("side")]
    cols = [spread, spread**2, est, side]
    if t is not None:
        margin = t.tp_bps - 2 * t.fee_bps_per_side - spread
        cols += [margin, (margin <= t.breakeven_band_bps).astype(np.float64)]
    return np.column_stack(cols)


@dataclass(frozen=True, slots=True)
class Baseline:
    """One logistic regression per mode on the cost arithmetic (a constant where a mode cannot be fitted)."""

    feature_names: tuple[str, ...]
    terms: Mapping[str, ModeTerms]
    models: Mapping[str, Any]
    constants: Mapping[str, float]

    def predict(self, X: FloatArray) -> FloatArray:
        """P(win) per row from its mode's arithmetic alone."""
        modes = mode_of(X, self.feature_names)
        out = np.empty(len(X))
        for m in MODES:
            sel = modes == m
            if not sel.any():
                continue
            model = self.models.get(m)
            if model is None:
                out[sel] = self.constants.get(m, 0.5)
                continue
            mean, scale, lr = model
            Z = (_design(X[sel], self.feature_names, self.terms.get(m)) - mean) / scale
            out[sel] = lr.predict_proba(Z)[:, 1]
        return out


def fit_baseline(
    X: FloatArray, y: FloatArray, feature_names: tuple[str, ...], terms: Mapping[str, ModeTerms] | None = None
) -> Baseline:
    """Fit the per-mode baseline on training rows ``X``, ``y`` (nothing else of the model's is seen)."""
    terms = dict(terms or {})
    modes = mode_of(X, feature_names)
    models: dict[str, Any] = {}
    constants: dict[str, float] = {}
    overall = float(np.mean(y)) if len(y) else 0.5
    for m in MODES:
        sel = modes == m
        ym = y[sel]
        constants[m] = float(ym.mean()) if len(ym) else overall
        if len(ym) < _MIN_ROWS or len(np.unique(ym)) < 2:
            continue
        D = _design(X[sel], feature_names, terms.get(m))
        mean, scale = D.mean(axis=0), D.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        lr = LogisticRegression(C=1.0, max_iter=1000)
        lr.fit((D - mean) / scale, ym.astype(np.int64))
        models[m] = (mean, scale, lr)
    return Baseline(feature_names=feature_names, terms=terms, models=models, constants=constants)


@dataclass(frozen=True, slots=True)
class ModeLift:
    """On one mode's test rows: the model's AUC, the baseline's, and their paired difference (the lift)."""

    auc: Estimate
    baseline_auc: Estimate
    lift: Estimate

    def to_dict(self) -> dict[str, dict[str, float | int]]:
        return {"auc": self.auc.to_dict(), "baseline_auc": self.baseline_auc.to_dict(), "lift": self.lift.to_dict()}

    def text(self) -> str:
        a, b, d = self.auc, self.baseline_auc, self.lift
        return (
            f"AUC {a.value:.3f} [{a.lo:.3f}, {a.hi:.3f}] vs cost baseline {b.value:.3f} [{b.lo:.3f}, {b.hi:.3f}]: "
            f"lift {d.value:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}] (n={a.n})"
        )


def _paired(p: FloatArray, base: FloatArray, y: FloatArray, plan: BootstrapPlan) -> ModeLift:
    auc_m, auc_b = _auc_stat(p, y), _auc_stat(base, y)
    e = _estimates({"m": auc_m, "b": auc_b, "d": lambda w: auc_m(w) - auc_b(w)}, len(p), plan)
    return ModeLift(auc=e["m"], baseline_auc=e["b"], lift=e["d"])


def lift_by_mode(
    p: FloatArray, base: FloatArray, y: FloatArray, modes: np.ndarray, plan: BootstrapPlan
) -> dict[str, ModeLift]:
    """``all`` (pooled rows) and each mode present: AUC, baseline AUC and lift with paired intervals."""
    p, base, y = (np.asarray(a, dtype=np.float64) for a in (p, base, y))
    out = {"all": _paired(p, base, y, plan)}
    for m in MODES:
        sel = modes == m
        if sel.sum() >= 2:
            out[m] = _paired(p[sel], base[sel], y[sel], plan)
    return out
