"""Probability calibration, fitted only on scores the model did not train on.

The meta-label gate compares a probability with a threshold and the cost gate turns it into an expected
return, so "0.6" must mean a 60 % win rate. Boosted trees with class reweighting do not give that, hence a
calibrator from raw booster probability to probability:

- **sigmoid** (Platt): two parameters, cannot overfit a small set;
- **isotonic**: monotone and free-form, needs the data.

Which one is **chosen by cross-validated log loss** on the calibration rows (:func:`choose_calibration`):
the rows, in time order, are cut into ``CV_FOLDS`` contiguous blocks; each calibrator is fitted on the
other blocks and scored on the held-out one; the lower mean held-out log loss wins (sigmoid on a tie: the
simpler one). A fixed sample-size switch (it used to be isotonic from 1,000 rows) ignores how much signal the
scores carry: on unseen data isotonic at ~1,000 rows twice made steps that did not hold, which the held-out
log loss sees and a row count cannot.

The pipeline fits it on the *out-of-fold* predictions of the purged k-fold scores (each from a model that
never saw that row or any row overlapping it) and never on the out-of-sample test, which is then an honest
check of the calibration too. The result is the registry's :class:`~huracan.registry.model.Calibration`,
exported as ``{"kind": "sigmoid", "a", "b"}`` (``p = 1 / (1 + exp(a·raw + b))``) or
``{"kind": "isotonic", "x", "y"}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression

from huracan.core.bars import FloatArray
from huracan.registry.model import Calibration

__all__ = [
    "CV_FOLDS",
    "PROB_FLOOR",
    "SIGMOID_C",
    "CalibrationChoice",
    "choose_calibration",
    "fit_calibration",
    "fit_isotonic",
    "fit_sigmoid",
]

#: Contiguous time blocks of the calibration rows for the held-out comparison of the two calibrators.
CV_FOLDS = 5
#: Isotonic steps are kept inside [PROB_FLOOR, 1 - PROB_FLOOR]: a bin that happened to hold only losses
#: must not tell Hamilton a trade is certain to lose (and log loss would be infinite on the next win).
PROB_FLOOR = 1e-3
_KINDS = ("sigmoid", "isotonic")


#: Platt's L2 penalty on the slope, as sklearn's ``LogisticRegression(C=1e4)`` (which this used to call) puts it:
#: ``0.5·a² / C`` beside the summed log loss; it only keeps the slope finite when the scores separate the classes.
SIGMOID_C = 1e4


def fit_sigmoid(raw: FloatArray, y: FloatArray, *, tol: float = 1e-10, max_iter: int = 100) -> Calibration:
    """Platt scaling on the raw probability; sign convention of the registry (``a`` < 0 when scores rank).

    Why by hand: it is a two-parameter convex problem, which Newton's method with a step-halving line search
    solves to machine precision in a handful of 2x2 solves. sklearn's ``LogisticRegression`` (lbfgs, same
    objective) stopped at a gradient tolerance of 1e-4 and cost ~50 ms a fit in its generic machinery; the
    nightly fits this six times (five CV blocks and the final one), so it was a tenth of a backtest's month.
    """
    x = np.asarray(raw, dtype=np.float64).reshape(-1)
    t = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(x) != len(t) or len(x) == 0:
        raise ValueError("a sigmoid needs one label per score and at least one score")
    ridge = 1.0 / SIGMOID_C

    def loss(w: float, c: float) -> float:
        z = w * x + c
        # log(1 + e^z) - t·z, stable for large |z|
        return float(np.sum(np.logaddexp(0.0, z) - t * z) + 0.5 * ridge * w * w)

    mean = float(np.clip(t.mean(), 1e-6, 1 - 1e-6))
    w, c = 0.0, float(np.log(mean / (1 - mean)))
    current = loss(w, c)
    for _ in range(max_iter):
        p = 0.5 * (1.0 + np.tanh(0.5 * (w * x + c)))  # the logistic function without overflow
        r = p - t
        g = np.array([float(r @ x) + ridge * w, float(r.sum())])
        s = p * (1.0 - p)
        sx = float(s @ x)
        hess = np.array([[float(s @ (x * x)) + ridge, sx], [sx, float(s.sum()) + 1e-12]])
        step = np.linalg.solve(hess, g)
        shrink = 1.0
        while True:  # halve until the loss does not rise (Newton can overshoot on near-separable data)
            nw, nc = w - shrink * float(step[0]), c - shrink * float(step[1])
            trial = loss(nw, nc)
            if trial <= current or shrink < 1e-6:
                break
            shrink *= 0.5
        moved = shrink * float(np.max(np.abs(step)))
        w, c, current = nw, nc, min(trial, current)
        if moved < tol:
            break
    return Calibration.sigmoid(a=-w, b=-c)


def fit_isotonic(raw: FloatArray, y: FloatArray) -> Calibration:
    """Isotonic regression on the raw probability, exported as its breakpoints (flat beyond the ends)."""
    iso = IsotonicRegression(out_of_bounds="clip", y_min=PROB_FLOOR, y_max=1.0 - PROB_FLOOR)
    iso.fit(np.asarray(raw, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return Calibration.isotonic(iso.X_thresholds_, iso.y_thresholds_)


@dataclass(frozen=True, slots=True)
class CalibrationChoice:
    """Which calibrator won, on what evidence: mean held-out log loss of each over ``folds`` blocks of ``n`` rows."""

    kind: str
    log_loss: dict[str, float]
    folds: int
    n: int


def _log_loss(p: FloatArray, y: FloatArray) -> float:
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)))


def _fit(kind: str, raw: FloatArray, y: FloatArray) -> Calibration:
    return fit_isotonic(raw, y) if kind == "isotonic" else fit_sigmoid(raw, y)


def choose_calibration(raw: FloatArray, y: FloatArray, *, folds: int = CV_FOLDS) -> CalibrationChoice:
    """The calibrator with the lower held-out log loss over contiguous blocks of time-ordered rows."""
    r = np.asarray(raw, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    n = len(r)
    edges = np.linspace(0, n, folds + 1).astype(int)
    losses: dict[str, list[float]] = {k: [] for k in _KINDS}
    used = 0
    for k in range(folds):
        held = np.zeros(n, dtype=bool)
        held[edges[k] : edges[k + 1]] = True
        if not held.any() or len(np.unique(t[~held])) < 2:
            continue  # a block whose complement holds one class cannot fit either calibrator
        used += 1
        for kind in _KINDS:
            cal = _fit(kind, r[~held], t[~held])
            losses[kind].append(_log_loss(cal.apply(r[held]), t[held]))
    mean = {k: float(np.mean(v)) if v else float("nan") for k, v in losses.items()}
    best = "isotonic" if used and mean["isotonic"] < mean["sigmoid"] else "sigmoid"
    return CalibrationChoice(kind=best, log_loss=mean, folds=used, n=n)


def fit_calibration(
    raw: FloatArray, y: FloatArray, *, kind: str | None = None
) -> tuple[Calibration, CalibrationChoice]:
    """The calibrator ``kind`` (default: chosen by :func:`choose_calibration`), fitted on all rows.

    Both classes must be present. Returns the calibrator and the evidence for its kind.
    """
    r = np.asarray(raw, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    if len(r) != len(t) or len(r) == 0:
        raise ValueError("calibration needs one label per score and at least one score")
    if len(np.unique(t)) < 2:
        raise ValueError("calibration data holds a single class")
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"calibration kind must be one of {_KINDS}, got {kind!r}")
    choice = choose_calibration(r, t) if kind is None else CalibrationChoice(kind=kind, log_loss={}, folds=0, n=len(r))
    return _fit(choice.kind, r, t), choice
