"""Calibrators: the kind is chosen by held-out log loss, the JSON form is the registry's, and held-out ECE drops."""

from __future__ import annotations

import numpy as np
import pytest

from huracan.learning.calibrate import PROB_FLOOR, SIGMOID_C, fit_calibration, fit_sigmoid
from huracan.learning.evaluate import BootstrapPlan, evaluate_oos
from huracan.registry.model import Calibration


def _distorted(n: int, seed: int):
    """True p, labels from it, and a monotone but badly calibrated score (what a reweighted booster gives)."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-(rng.normal(size=n) - 1.0)))
    y = (rng.random(n) < p).astype(float)
    raw = np.sqrt(p)
    return raw, y


def test_kind_is_chosen_by_held_out_log_loss():
    # Given scores a sigmoid of the raw score fits exactly, and scores only a step function fits
    rng = np.random.default_rng(0)
    raw = rng.random(3000)
    smooth_y = (rng.random(3000) < 1 / (1 + np.exp(-(6 * raw - 3)))).astype(float)
    step_y = (rng.random(3000) < np.where(raw > 0.5, 0.9, np.where(raw > 0.45, 0.1, 0.5))).astype(float)
    # When the kind is left to the data
    smooth_cal, smooth = fit_calibration(raw, smooth_y)
    step_cal, step = fit_calibration(raw, step_y)
    # Then each wins where it fits, on the evidence it records (mean held-out log loss over 5 time blocks)
    assert smooth.kind == "sigmoid" == smooth_cal.kind, smooth
    assert smooth.log_loss["sigmoid"] <= smooth.log_loss["isotonic"]
    assert step.kind == "isotonic" == step_cal.kind, step
    assert step.log_loss["isotonic"] < step.log_loss["sigmoid"]
    assert (step.folds, step.n) == (5, 3000)
    # and a kind can still be forced
    assert fit_calibration(raw, step_y, kind="sigmoid")[0].kind == "sigmoid"


def test_calibration_fitted_on_one_half_improves_ece_on_the_other():
    raw, y = _distorted(20_000, 1)
    plan = BootstrapPlan(n_boot=20)
    pnl = np.zeros(len(y))
    for n_fit, kind in ((800, "sigmoid"), (10_000, "isotonic")):
        cal, _ = fit_calibration(raw[:n_fit], y[:n_fit], kind=kind)
        before = evaluate_oos(raw[10_000:], y[10_000:], pnl[10_000:], threshold=0.5, plan=plan).ece.value
        after = evaluate_oos(cal.apply(raw[10_000:]), y[10_000:], pnl[10_000:], threshold=0.5, plan=plan).ece.value
        assert before > 0.15 and after < 0.03, (cal.kind, before, after)


def test_json_forms_round_trip_and_stay_inside_the_floor():
    raw, y = _distorted(5000, 2)
    iso, _ = fit_calibration(raw, y, kind="isotonic")
    d = iso.to_dict()
    assert d["kind"] == "isotonic" and min(d["y"]) >= PROB_FLOOR and max(d["y"]) <= 1 - PROB_FLOOR
    np.testing.assert_array_equal(Calibration.from_dict(d).apply(raw), iso.apply(raw))
    sig = fit_calibration(raw[:500], y[:500], kind="sigmoid")[0].to_dict()
    assert set(sig) == {"kind", "a", "b"} and sig["a"] < 0


def _platt_objective(w: float, c: float, x: np.ndarray, t: np.ndarray) -> float:
    z = w * x + c
    return float(np.sum(np.logaddexp(0.0, z) - t * z) + 0.5 * w * w / SIGMOID_C)


def test_sigmoid_is_the_minimum_of_the_penalised_log_loss():
    """Newton's answer is the optimum: no nearby (slope, intercept) does better, on ranked, flat and separated data."""
    rng = np.random.default_rng(7)
    cases = []
    for strength in (0.0, 2.0, 12.0):
        x = rng.uniform(0.2, 0.7, 800)
        cases.append((x, (rng.uniform(size=800) < 1 / (1 + np.exp(-strength * (x - 0.45)))).astype(float)))
    sep = np.r_[np.zeros(15), np.ones(15)]
    cases.append((sep * 0.3 + 0.2, sep))  # perfectly separated: only the penalty keeps the slope finite
    for x, t in cases:
        cal = fit_sigmoid(x, t)
        w, c = -cal.a, -cal.b
        assert np.isfinite(w) and np.isfinite(c)
        best = _platt_objective(w, c, x, t)
        for dw, dc in ((1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-2, -1e-2), (-1e-2, 1e-2)):
            assert best <= _platt_objective(w + dw, c + dc, x, t) + 1e-12
        p = cal.apply(x)
        assert abs(float(p.mean()) - float(t.mean())) < 1e-6  # the intercept's score equation: mean fit = mean label


def test_sigmoid_refuses_mismatched_input():
    with pytest.raises(ValueError, match="one label per score"):
        fit_sigmoid(np.array([0.1, 0.2]), np.array([1.0]))
