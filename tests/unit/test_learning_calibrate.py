"""Calibrators: the kind switches at 1,000 samples, the JSON form is the registry's, and held-out ECE drops."""

from __future__ import annotations

import numpy as np

from huracan.learning.calibrate import PROB_FLOOR, fit_calibration
from huracan.learning.evaluate import BootstrapPlan, evaluate_oos
from huracan.registry.model import Calibration


def _distorted(n: int, seed: int):
    """True p, labels from it, and a monotone but badly calibrated score (what a reweighted booster gives)."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-(rng.normal(size=n) - 1.0)))
    y = (rng.random(n) < p).astype(float)
    raw = np.sqrt(p)
    return raw, y


def test_kind_switches_at_the_sample_threshold():
    raw, y = _distorted(2000, 0)
    assert fit_calibration(raw[:999], y[:999]).kind == "sigmoid"
    assert fit_calibration(raw[:1000], y[:1000]).kind == "isotonic"


def test_calibration_fitted_on_one_half_improves_ece_on_the_other():
    raw, y = _distorted(20_000, 1)
    plan = BootstrapPlan(n_boot=20)
    pnl = np.zeros(len(y))
    for n_fit in (800, 10_000):  # sigmoid and isotonic
        cal = fit_calibration(raw[:n_fit], y[:n_fit])
        before = evaluate_oos(raw[10_000:], y[10_000:], pnl[10_000:], threshold=0.5, plan=plan).ece.value
        after = evaluate_oos(cal.apply(raw[10_000:]), y[10_000:], pnl[10_000:], threshold=0.5, plan=plan).ece.value
        assert before > 0.15 and after < 0.03, (cal.kind, before, after)


def test_json_forms_round_trip_and_stay_inside_the_floor():
    raw, y = _distorted(5000, 2)
    iso = fit_calibration(raw, y)
    d = iso.to_dict()
    assert d["kind"] == "isotonic" and min(d["y"]) >= PROB_FLOOR and max(d["y"]) <= 1 - PROB_FLOOR
    np.testing.assert_array_equal(Calibration.from_dict(d).apply(raw), iso.apply(raw))
    sig = fit_calibration(raw[:500], y[:500]).to_dict()
    assert set(sig) == {"kind", "a", "b"} and sig["a"] < 0
