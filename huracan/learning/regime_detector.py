"""A trained regime detector that replaces the rule only when it forecasts the coming regime better.

What is learned: the regime gate wants to know what the market will be like *while the trade is open*, not
what it was. So the label of bar ``i`` is the **forward-realized regime**: the same rule as
:class:`huracan.core.regime.RuleRegime`, applied to the feature row of bar ``i + H``. With ``H = 15`` that
row's ``ret_15`` / ``rv_15`` / ``trend_eff_15`` are exactly the realized return, volatility and trend
efficiency of the next 15 bars, classified by the rule's thresholds. The features are bar ``i``'s row.

The baseline is the rule itself applied at bar ``i`` (what the gate uses today: "the next 15 minutes look
like the last 15"). Both are scored on the same last ``test_fraction`` of bars, after a purge of ``H`` bars
plus an embargo, so no training label's window reaches the test.

RANGE is most bars (≈ 85 % on the FTX month), so a plain multiclass booster learns to answer RANGE always:
more accurate than the rule, and useless (a runner, allowed only in TREND, would never pass). The decision
therefore divides each class probability by ``prior ** alpha``; ``alpha`` is picked on a validation slice
at the end of the training bars (never the test) as the one with the best balanced accuracy (mean
per-class recall) among those whose accuracy is at least the rule's there. The detector **replaces the
rule** only when, on the test bars, its accuracy beats the rule's with the paired block-bootstrap interval
of the difference above 0, its balanced accuracy is not below the rule's, *and* that balanced accuracy
beats chance by :data:`CHANCE_MARGIN` (a detector that names one regime always is not a detector).

Publishing (:func:`publish_regime_detector`): a detector that replaces the rule becomes the champion of
its own registry name, ``regime_detector`` (files in :mod:`huracan.registry.detector`, plus ``model.onnx``
so Lambda serves it without LightGBM); one that does not is stored as a candidate with its reasons and
never served. Its readiness is independent of the meta-label model's.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from huracan.core.bars import BarArrays, FloatArray, IntArray
from huracan.core.features import BAR_FEATURES, BAR_SEC, features_history
from huracan.core.regime import REGIMES, RuleRegime, regime_names
from huracan.learning.cv import purge_before
from huracan.learning.evaluate import BootstrapPlan, Estimate, bootstrap_mean
from huracan.registry.detector import REGIME_DETECTOR_NAME, DetectorSpec, detector_files
from huracan.registry.model import FILE_FEATURES, FILE_MODEL, model_id_for, sha256_hex
from huracan.registry.registry import ModelRegistry

__all__ = [
    "DEFAULT_REGIME_PARAMS",
    "RegimeDetectorReport",
    "TrainedRegimeDetector",
    "bars_snapshot_id",
    "detector_card",
    "forward_regime_labels",
    "publish_regime_detector",
    "train_regime_detector",
]

DEFAULT_REGIME_PARAMS: dict[str, Any] = {
    "objective": "multiclass",
    "num_class": len(REGIMES),
    "learning_rate": 0.1,
    "num_leaves": 15,
    "max_depth": 4,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.9,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
    "seed": 0,
}


@dataclass(frozen=True, slots=True)
class ForwardRegimes:
    """Rows with a usable forward window: features at ``i``, forward label, the rule's call at ``i``."""

    rows: IntArray
    X: FloatArray
    y: npt.NDArray[np.int8]
    rule_now: npt.NDArray[np.int8]
    t_entry: IntArray
    t_exit: IntArray


def forward_regime_labels(
    bars: BarArrays, *, horizon: int = 15, rule: RuleRegime | None = None, history: FloatArray | None = None
) -> ForwardRegimes:
    """Forward-realized regime of every bar whose next ``horizon`` bars exist without a gap."""
    r = rule or RuleRegime()
    f = features_history(bars) if history is None else history
    n = len(bars)
    if n <= horizon:
        raise ValueError(f"{n} bars are too few for a {horizon}-bar forward window")
    i = np.arange(n - horizon, dtype=np.int64)
    j = i + horizon
    ok = np.isfinite(f[i, 0]) & np.isfinite(f[j, 0]) & (bars.ts[j] - bars.ts[i] == horizon * BAR_SEC)
    i, j = i[ok], j[ok]
    X = f[i][:, : len(BAR_FEATURES)]
    return ForwardRegimes(
        rows=i,
        X=X,
        y=r.codes(f[j]),
        rule_now=r.codes(X),
        t_entry=bars.ts[i] + BAR_SEC,
        t_exit=bars.ts[j] + BAR_SEC,
    )


@dataclass(frozen=True, slots=True)
class TrainedRegimeDetector:
    """A multiclass booster over ``BAR_FEATURES``; ``classify`` satisfies ``RegimeClassifier``."""

    booster_text: str
    feature_names: tuple[str, ...] = BAR_FEATURES
    classes: tuple[str, ...] = REGIMES
    horizon: int = 15
    class_scale: tuple[float, ...] = (1.0, 1.0, 1.0)
    _booster: list[lgb.Booster] = field(default_factory=list, repr=False, compare=False)

    def _get(self) -> lgb.Booster:
        if not self._booster:
            self._booster.append(lgb.Booster(model_str=self.booster_text))
        return self._booster[0]

    def codes(self, features: FloatArray, *, num_threads: int = 0) -> npt.NDArray[np.int8]:
        """Regime code per row; ``num_threads`` 0 is LightGBM's default (every core), training passes its own."""
        f = np.asarray(features, dtype=np.float64)[:, : len(self.feature_names)]
        proba = np.asarray(self._get().predict(np.ascontiguousarray(f), num_threads=num_threads), dtype=np.float64)
        out: npt.NDArray[np.int8] = np.argmax(proba * np.asarray(self.class_scale), axis=1).astype(np.int8)
        return out

    def classify(self, features: FloatArray) -> npt.NDArray[np.str_]:
        return regime_names(self.codes(features))

    @property
    def spec(self) -> DetectorSpec:
        return DetectorSpec(self.feature_names, self.classes, self.class_scale, self.horizon)

    def files(self) -> dict[str, bytes]:
        """The registry's three prediction files (the decision's ``class_scale`` is in ``features.json``)."""
        return detector_files(self.booster_text, self.spec)

    @property
    def model_id(self) -> str:
        """The id the registry gives this detector (same rule as a meta-label model's)."""
        return model_id_for({fn: sha256_hex(data) for fn, data in self.files().items()})

    @staticmethod
    def from_files(files: Mapping[str, bytes]) -> TrainedRegimeDetector:
        spec = DetectorSpec.from_bytes(files[FILE_FEATURES])
        return TrainedRegimeDetector(
            booster_text=files[FILE_MODEL].decode("utf-8"),
            feature_names=spec.feature_names,
            classes=spec.classes,
            horizon=spec.horizon,
            class_scale=spec.class_scale,
        )

    def to_dict(self) -> dict[str, Any]:
        """The artifact: booster text plus what is needed to read its output."""
        return {
            "booster_text": self.booster_text,
            "feature_names": list(self.feature_names),
            "classes": list(self.classes),
            "horizon": self.horizon,
            "class_scale": list(self.class_scale),
        }


@dataclass(frozen=True, slots=True)
class RegimeDetectorReport:
    """Out-of-sample comparison of the trained detector with the rule, and the decision."""

    n_train: int
    n_test: int
    horizon: int
    accuracy: float
    rule_accuracy: float
    accuracy_gain: Estimate
    balanced_accuracy: float
    rule_balanced_accuracy: float
    class_share_test: dict[str, float]
    alpha: float
    replaces_rule: bool
    detail: str
    params: dict[str, Any]
    detector: TrainedRegimeDetector | None = field(default=None, repr=False)


def _balanced_accuracy(y: npt.NDArray[np.int8], pred: npt.NDArray[np.int8]) -> float:
    recalls = [float(np.mean(pred[y == c] == c)) for c in range(len(REGIMES)) if np.any(y == c)]
    return float(np.mean(recalls)) if recalls else float("nan")


#: Balanced accuracy a replacing detector must beat chance (1/3 for three regimes) by: one that answers
#: RANGE (nearly) always scores exactly 1/3 and, served, would block every runner signal; on nights when
#: the rule itself is near chance it could otherwise win on plain accuracy alone.
CHANCE_MARGIN = 0.02

ALPHAS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _pick_alpha(proba: FloatArray, prior: FloatArray, y: npt.NDArray[np.int8], rule: npt.NDArray[np.int8]) -> float:
    """Best balanced accuracy among the alphas whose accuracy is at least the rule's (else 0)."""
    rule_acc = float(np.mean(rule == y))
    best, best_ba = 0.0, -1.0
    for a in ALPHAS:
        pred = np.argmax(proba * prior**-a, axis=1).astype(np.int8)
        if float(np.mean(pred == y)) >= rule_acc:
            ba = _balanced_accuracy(y, pred)
            if ba > best_ba:
                best, best_ba = a, ba
    return best


def _fit(p: dict[str, Any], X: FloatArray, y: npt.NDArray[np.int8], rounds: int) -> lgb.Booster:
    data = lgb.Dataset(X, label=y.astype(np.float64), feature_name=list(BAR_FEATURES), params={"verbosity": -1})
    return lgb.train(p, data, num_boost_round=rounds)


def train_regime_detector(
    bars: BarArrays,
    *,
    horizon: int = 15,
    test_fraction: float = 0.2,
    num_boost_round: int = 60,
    params: dict[str, Any] | None = None,
    plan: BootstrapPlan | None = None,
    history: FloatArray | None = None,
) -> RegimeDetectorReport:
    """Train on the earlier bars, compare with the rule on the last ``test_fraction``, decide."""
    data = forward_regime_labels(bars, horizon=horizon, history=history)
    m = len(data.rows)
    n_test = round(m * test_fraction)
    if n_test < 1 or m - n_test < 10 * len(REGIMES):
        raise ValueError(f"{m} labelled bars are too few to train and test a regime detector")
    test = np.arange(m - n_test, m, dtype=np.int64)
    embargo = horizon * BAR_SEC
    train = purge_before(
        np.arange(m - n_test, dtype=np.int64), data.t_entry, data.t_exit, int(data.t_entry[test[0]]), embargo
    ).kept
    p = dict(DEFAULT_REGIME_PARAMS if params is None else params)
    # LightGBM's predict ignores the training parameters: without this it scores on every core, and the
    # detector may be trained beside other fits (the training session runs them at the same time).
    threads = int(p.get("num_threads", 0))
    if len(np.unique(data.y[train])) < 2:
        raise ValueError("training bars hold a single regime: nothing to learn")
    # alpha from a purged validation slice at the end of the training bars
    n_val = max(1, len(train) // 5)
    val = train[-n_val:]
    fit_rows = purge_before(train[:-n_val], data.t_entry, data.t_exit, int(data.t_entry[val[0]]), embargo).kept
    prior = np.maximum(np.bincount(data.y[train], minlength=len(REGIMES)) / len(train), 1e-6)
    alpha = 0.0
    if len(fit_rows) > 0 and len(np.unique(data.y[fit_rows])) >= 2:
        probe = _fit(p, data.X[fit_rows], data.y[fit_rows], num_boost_round)
        proba_val = np.asarray(probe.predict(data.X[val], num_threads=threads), dtype=np.float64)
        alpha = _pick_alpha(proba_val, prior, data.y[val], data.rule_now[val])
    booster = _fit(p, data.X[train], data.y[train], num_boost_round)
    scale = tuple(float(v) for v in prior**-alpha)
    det = TrainedRegimeDetector(booster_text=booster.model_to_string(), horizon=horizon, class_scale=scale)
    pred = det.codes(data.X[test], num_threads=threads)
    y, rule = data.y[test], data.rule_now[test]
    hit_model = (pred == y).astype(np.float64)
    hit_rule = (rule == y).astype(np.float64)
    bplan = plan or BootstrapPlan(n_boot=300, block_len=horizon)
    gain = bootstrap_mean(hit_model - hit_rule, bplan)
    ba, rba = _balanced_accuracy(y, pred), _balanced_accuracy(y, rule)
    above_chance = ba >= 1.0 / len(REGIMES) + CHANCE_MARGIN
    replaces = bool(gain.lo > 0) and ba >= rba and above_chance
    acc, racc = float(hit_model.mean()), float(hit_rule.mean())
    why = (
        "replaces the rule"
        if replaces
        else (
            "the rule stays (no significant accuracy gain)"
            if gain.lo <= 0
            else (
                "the rule stays (balanced accuracy lower)"
                if ba < rba
                else "the rule stays (balanced accuracy no better than always naming one regime)"
            )
        )
    )
    detail = (
        f"detector accuracy {acc:.3f} vs rule {racc:.3f} on {n_test} test bars (gain {gain.value:+.3f} "
        f"[{gain.lo:+.3f}, {gain.hi:+.3f}]), balanced accuracy {ba:.3f} vs {rba:.3f}: {why}"
    )
    return RegimeDetectorReport(
        n_train=len(train),
        n_test=n_test,
        horizon=horizon,
        accuracy=acc,
        rule_accuracy=racc,
        accuracy_gain=gain,
        balanced_accuracy=ba,
        rule_balanced_accuracy=rba,
        class_share_test={name: float(np.mean(y == c)) for c, name in enumerate(REGIMES)},
        alpha=alpha,
        replaces_rule=replaces,
        detail=detail,
        params=p,
        detector=det,
    )


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None


def detector_card(report: RegimeDetectorReport) -> dict[str, Any]:
    """The detector's model card ``metrics`` (plain JSON; NaN as None, which model cards require)."""
    g = report.accuracy_gain
    return {
        "n_train": report.n_train,
        "n_test": report.n_test,
        "horizon": report.horizon,
        "accuracy": _finite(report.accuracy),
        "rule_accuracy": _finite(report.rule_accuracy),
        "accuracy_gain": {"value": _finite(g.value), "lo": _finite(g.lo), "hi": _finite(g.hi)},
        "balanced_accuracy": _finite(report.balanced_accuracy),
        "rule_balanced_accuracy": _finite(report.rule_balanced_accuracy),
        "class_share_test": {k: _finite(v) for k, v in report.class_share_test.items()},
        "alpha": report.alpha,
        "replaces_rule": report.replaces_rule,
    }


def bars_snapshot_id(bars: BarArrays) -> str:
    """What the detector learned from: a hash of the bars' times and closes (the detector needs no rows)."""
    h = hashlib.sha256(np.ascontiguousarray(bars.ts).tobytes())
    h.update(np.ascontiguousarray(bars.close, dtype=np.float64).tobytes())
    return f"bars:{len(bars)}:{h.hexdigest()[:16]}"


def publish_regime_detector(
    registry: ModelRegistry,
    report: RegimeDetectorReport,
    *,
    code_git_sha: str,
    data_snapshot_id: str,
    created_at: str | None = None,
    windows: Mapping[str, Any] | None = None,
    name: str = REGIME_DETECTOR_NAME,
) -> str:
    """Store the report's detector: the champion (served) if it replaces the rule, else a candidate.

    ``model.onnx`` is exported and proven against LightGBM first (raises
    :class:`~huracan.serving.onnx_export.OnnxExportError` before anything is uploaded if it cannot be).
    """
    from huracan.serving.onnx_export import regime_onnx_artifacts

    det = report.detector
    if det is None:
        raise ValueError("the report carries no detector to publish")
    reasons = [] if report.replaces_rule else [report.detail]
    return registry.register_files(
        det.files(),
        code_git_sha=code_git_sha,
        data_snapshot_id=data_snapshot_id,
        metrics=detector_card(report),
        notes=report.detail,
        name=name,
        stage="champion" if report.replaces_rule else "candidate",
        readiness={"ready": report.replaces_rule, "summary": report.detail, "reasons": reasons},
        windows=windows,
        created_at=created_at,
        extra_files=regime_onnx_artifacts(det.booster_text, det.feature_names),
    )
