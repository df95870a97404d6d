"""Probability calibration, fitted only on scores the model did not train on.

The meta-label gate compares a probability with a threshold and the cost gate turns it into an expected
return, so "0.6" must mean a 60 % win rate. Boosted trees with class reweighting do not give that, hence a
calibrator from raw booster probability to probability:

- **sigmoid** (Platt) below ``switch`` samples (seed: 1,000): two parameters, cannot overfit a small set;
- **isotonic** at or above it: monotone and free-form, needs the data.

The pipeline fits it on the *out-of-fold* predictions of the purged walk-forward CV (each from a model that
never saw that row or any row overlapping it) and never on the out-of-sample test, which is then an honest
check of the calibration too. The result is the registry's :class:`~huracan.registry.model.Calibration`,
exported as ``{"kind": "sigmoid", "a", "b"}`` (``p = 1 / (1 + exp(a·raw + b))``) or
``{"kind": "isotonic", "x", "y"}``.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from huracan.core.bars import FloatArray
from huracan.registry.model import Calibration

__all__ = ["ISOTONIC_MIN_SAMPLES", "PROB_FLOOR", "fit_calibration", "fit_isotonic", "fit_sigmoid"]

ISOTONIC_MIN_SAMPLES = 1000
#: Isotonic steps are kept inside [PROB_FLOOR, 1 - PROB_FLOOR]: a bin that happened to hold only losses
#: must not tell Hamilton a trade is certain to lose (and log loss would be infinite on the next win).
PROB_FLOOR = 1e-3


def fit_sigmoid(raw: FloatArray, y: FloatArray) -> Calibration:
    """Platt scaling on the raw probability; sign convention of the registry (``a`` < 0 when scores rank)."""
    lr = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    lr.fit(np.asarray(raw, dtype=np.float64).reshape(-1, 1), np.asarray(y, dtype=np.int64))
    return Calibration.sigmoid(a=-float(lr.coef_[0, 0]), b=-float(lr.intercept_[0]))


def fit_isotonic(raw: FloatArray, y: FloatArray) -> Calibration:
    """Isotonic regression on the raw probability, exported as its breakpoints (flat beyond the ends)."""
    iso = IsotonicRegression(out_of_bounds="clip", y_min=PROB_FLOOR, y_max=1.0 - PROB_FLOOR)
    iso.fit(np.asarray(raw, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return Calibration.isotonic(iso.X_thresholds_, iso.y_thresholds_)


def fit_calibration(raw: FloatArray, y: FloatArray, *, switch: int = ISOTONIC_MIN_SAMPLES) -> Calibration:
    """Sigmoid below ``switch`` held-out samples, isotonic at or above; both classes must be present."""
    r = np.asarray(raw, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    if len(r) != len(t) or len(r) == 0:
        raise ValueError("calibration needs one label per score and at least one score")
    if len(np.unique(t)) < 2:
        raise ValueError("calibration data holds a single class")
    return fit_isotonic(r, t) if len(r) >= switch else fit_sigmoid(r, t)
