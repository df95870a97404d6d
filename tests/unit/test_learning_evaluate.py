"""Metrics and their bootstrap intervals: the weighted formulas equal the textbook ones on resampled rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from huracan.learning.evaluate import (
    BootstrapPlan,
    auc_point,
    block_length,
    bootstrap_mean,
    debiased_ece,
    ece_noise_floor,
    equal_count_bins,
    evaluate_oos,
)


def _data(n: int, seed: int, strength: float = 1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-strength * x))
    y = (rng.random(n) < p).astype(float)
    pnl = np.where(y == 1, 30.0, -30.0) - 12.0
    return np.round(p, 2), y, pnl  # rounding creates ties, which the AUC must count as one half


def test_auc_matches_sklearn_with_ties():
    p, y, _ = _data(3000, 0)
    assert auc_point(p, y) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_bootstrap_weights_reproduce_metrics_of_explicitly_resampled_rows():
    # Given block-bootstrap weights (how often each row was drawn)
    p, y, pnl = _data(800, 1)
    plan = BootstrapPlan(n_boot=3, block_len=25, seed=7, batch=3)
    w = next(plan.weights(len(p)))
    assert np.all(w.sum(axis=1) == len(p))
    m = evaluate_oos(p, y, pnl, threshold=0.5, plan=BootstrapPlan(n_boot=1, block_len=1))
    assert m.auc.value == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert m.brier.value == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert m.log_loss.value == pytest.approx(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15)), abs=1e-9)
    # Then the weighted AUC of each replicate equals sklearn's AUC on the rows repeated by their weights
    from huracan.learning.evaluate import _auc_stat

    got = _auc_stat(p, y)(w)
    for b in range(3):
        rows = np.repeat(np.arange(len(p)), w[b].astype(int))
        assert got[b] == pytest.approx(roc_auc_score(y[rows], p[rows]), abs=1e-12)


def test_ece_uses_equal_count_bins_and_detects_miscalibration():
    p, y, pnl = _data(5000, 2)
    bins = equal_count_bins(p)
    assert np.bincount(bins).tolist() == [500] * 10
    plan = BootstrapPlan(n_boot=100, block_len=1)
    good = evaluate_oos(p, y, pnl, threshold=0.5, plan=plan)
    shifted = evaluate_oos(np.clip(p + 0.1, 0, 1), y, pnl, threshold=0.5, plan=plan)
    # the calibrated predictions' plug-in ECE sits under the noise floor of perfect calibration, the shifted
    # ones far above; the bias-corrected ECE is below the plug-in one
    assert good.ece_plugin is not None and good.ece_plugin <= good.ece_floor
    assert good.ece.value < good.ece_plugin
    assert shifted.ece.value > 0.08
    # hand computation of the plug-in ECE on the same bins
    hand = sum(abs(y[bins == b].sum() - p[bins == b].sum()) for b in range(10)) / len(p)
    assert good.ece_plugin == pytest.approx(hand, abs=1e-12)


@pytest.mark.parametrize("n", [200, 400, 1000, 5000])
@pytest.mark.parametrize("shift", [0.0, 0.03, 0.1])
def test_ece_intervals_contain_their_estimates(n, shift):
    # Given calibrated and shifted predictions at nightly and larger sizes (the plug-in ECE's percentile
    # interval used to sit entirely above its own point, e.g. "0.049 [0.057, 0.127]")
    p, y, pnl = _data(n, 10 + n)
    q = np.clip(p + shift, 0, 1)
    m = evaluate_oos(q, y, pnl, threshold=0.5, plan=BootstrapPlan(n_boot=200, block_len=5))
    # Then the bias-corrected ECE lies inside its own interval, and so does the standalone estimator's
    assert m.ece.lo <= m.ece.value <= m.ece.hi, m.ece
    e = debiased_ece(q, y, BootstrapPlan(n_boot=200, block_len=5, seed=3))
    assert e.lo <= e.value <= e.hi and e.n == n
    # and a large shift is seen at every size
    if shift == 0.1:
        assert m.ece.value > 0.05


def test_per_row_thresholds_keep_each_mode_at_its_own():
    p, y, pnl = _data(2000, 4)
    thr = np.where(np.arange(2000) % 2 == 0, 0.45, 0.8)
    m = evaluate_oos(p, y, pnl, threshold=thr, thresholds={"scalp": 0.45, "runner": 0.8}, plan=BootstrapPlan(n_boot=20))
    assert m.trades_kept == int((p > thr).sum()) != int((p > 0.45).sum())
    assert m.pnl_kept_bps.value == pytest.approx(pnl[p > thr].mean())
    assert m.threshold is None and "scalp 0.45, runner 0.80" in m.threshold_text


def test_noise_floor_shrinks_with_n():
    p_small = np.full(500, 0.4)
    p_large = np.full(50_000, 0.4)
    assert ece_noise_floor(p_large) < ece_noise_floor(p_small) / 5


def test_trading_figures_and_intervals():
    p, y, pnl = _data(4000, 3, strength=2.0)
    m = evaluate_oos(p, y, pnl, threshold=0.5, plan=BootstrapPlan(n_boot=200, block_len=10))
    kept = p > 0.5
    assert m.trades_kept == int(kept.sum())
    assert m.precision.value == pytest.approx(y[kept].mean())
    assert m.precision.n == m.trades_kept
    assert m.pnl_kept_bps.value == pytest.approx(pnl[kept].mean())
    assert m.pnl_all_bps.value == pytest.approx(pnl.mean())
    assert m.pnl_kept_minus_all_bps.lo > 0  # a real edge: kept trades beat all signals
    for e in (m.auc, m.brier, m.log_loss, m.ece, m.pnl_all_bps):
        assert e.lo <= e.value <= e.hi or e is m.ece  # ECE's bootstrap is biased up; the rest bracket the point
        assert e.n == len(p)


def test_paired_champion_difference_is_zero_against_itself():
    p, y, pnl = _data(2000, 4)
    m = evaluate_oos(p, y, pnl, threshold=0.5, plan=BootstrapPlan(n_boot=50), champion_p=p)
    assert m.auc_minus_champion is not None
    assert m.auc_minus_champion.value == 0 and m.auc_minus_champion.lo == 0 and m.auc_minus_champion.hi == 0


def test_block_length_and_bootstrap_mean():
    t = np.arange(0, 10_000 * 60, 60)
    assert block_length(t, 1800) == 30
    assert block_length(t[:1], 1800) == 1
    est = bootstrap_mean(np.ones(100), BootstrapPlan(n_boot=20))
    assert (est.value, est.lo, est.hi, est.n) == (1.0, 1.0, 1.0, 100)
