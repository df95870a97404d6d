"""Known-answer tests of the learner on real price paths (the FTX month's features).

Planted edge: the WIN probability of each signal is sigmoid(strength · z(feature)) by construction, so the
best attainable AUC on the test window is the AUC of those true probabilities; the pipeline must come within
0.02 of it, be calibrated (ECE <= 0.03) and promote. Null: labels drawn from the base rate, independent of
every feature (``null_labels``); the attainable AUC is then 0.5 within noise and the pipeline must promote in
at most 5 % of seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from huracan.core.features import features_history
from huracan.learning.evaluate import auc_point
from huracan.learning.pipeline import TrainingConfig, run_training
from huracan.learning.planted import null_labels, planted_edge_dataset
from huracan.learning.train import DEFAULT_PARAMS, MetaLabelLearner


@pytest.fixture(scope="module")
def history(ftx_month):
    return features_history(ftx_month)


@pytest.mark.parametrize(
    ("feature", "strength", "seed"),
    [("trend_eff_15", 0.5, 11), ("rv_60_bps", 1.0, 12), ("volume_ratio_60", 0.8, 13)],
)
def test_planted_edge_is_recovered_calibrated_and_promoted(ftx_month, history, feature, strength, seed):
    # Given signals on every bar of the real month whose success depends on one real feature
    planted = planted_edge_dataset(ftx_month, strength=strength, feature=feature, seed=seed, history=history)
    # When one training session runs
    result = run_training(planted.dataset, TrainingConfig(seed=seed, num_threads=1))
    report = result.report
    attainable = planted.attainable_auc(result.test_rows)
    # Then the out-of-sample AUC is within 0.02 of the attainable one, calibrated, and the model is ready
    assert attainable > 0.6
    assert abs(report.metrics.auc.value - attainable) <= 0.02, (report.metrics.auc, attainable)
    assert report.metrics.ece.value <= 0.03
    assert report.verdict.ready, report.summary()
    # and the planted feature is what the model leans on
    assert report.importance.top(1)[0][0] == feature
    assert max(report.importance.permutation, key=report.importance.permutation.__getitem__) == feature


def test_null_single_seed_says_no_edge(ftx_month, history):
    planted = planted_edge_dataset(ftx_month, strength=0.5, stride=2, seed=5, history=history)
    null = null_labels(planted.dataset, seed=5)
    # the draw kept labels and P&L together (a WIN earns what wins earned)
    np.testing.assert_array_equal(null.y == 1, null.pnl_bps > -20)
    report = run_training(null, TrainingConfig(num_threads=1)).report
    assert not report.verdict.ready
    assert "no edge found" in report.verdict.summary or not report.verdict.check("edge_pnl").passed


@pytest.mark.slow
def test_null_promotes_in_at_most_5_percent_of_20_seeds(ftx_month, history):
    # Small trees and few rounds keep 20 sessions near 30 s; the decision rule is the production one.
    # One thread: the machine's cores are shared, and LightGBM's OpenMP threads spin when oversubscribed.
    small = MetaLabelLearner(params={**DEFAULT_PARAMS, "num_leaves": 7, "max_depth": 3}, num_boost_round=60)
    promoted = 0
    auc_lo = []
    for seed in range(20):
        planted = planted_edge_dataset(ftx_month, strength=0.5, stride=2, seed=100 + seed, history=history)
        null = null_labels(planted.dataset, seed=seed)
        config = TrainingConfig(learner=small, n_boot=200, permutation_repeats=1, seed=seed, num_threads=1)
        report = run_training(null, config).report
        promoted += report.verdict.ready
        auc_lo.append(report.metrics.auc.lo)
    assert promoted <= 1, f"promoted {promoted}/20 null runs"
    # the AUC intervals are not degenerate: they sit around 0.5, not far below it
    assert 0.45 < float(np.median(auc_lo)) < 0.5


def _block_means(y: np.ndarray, rows: int) -> np.ndarray:
    """Each row's block mean of ``y``: what a feature tracking slow variation can learn about a label."""
    out = np.empty(len(y))
    for start in range(0, len(y), rows):
        out[start : start + rows] = y[start : start + rows].mean()
    return out


def test_null_labels_leave_nothing_to_attain(ftx_month, history):
    # Given a strong planted edge, with labels that also drift slowly over the month
    planted = planted_edge_dataset(ftx_month, strength=1.0, stride=2, seed=21, history=history)
    ds = planted.dataset
    assert planted.attainable_auc(np.arange(len(ds))) > 0.65
    # When its labels are nulled
    null = null_labels(ds, seed=3)
    n1 = null.y.sum()
    n0 = len(null) - n1
    se = np.sqrt((n0 + n1 + 1) / (12 * n0 * n1))  # the AUC's standard error under no dependence
    # Then the true probabilities attain 0.5 within noise, and so does anything that tracks the original
    # labels' slow drift (what the old within-block shuffle left for a model to find)
    assert abs(auc_point(planted.true_p, null.y) - 0.5) < 3 * se
    assert abs(auc_point(_block_means(ds.y, 240), null.y) - 0.5) < 3 * se
    # and every feature on its own attains 0.5 within noise too
    for j in range(null.X.shape[1]):
        x = np.nan_to_num(null.X[:, j], nan=0.0)
        assert abs(auc_point(x, null.y) - 0.5) < 4 * se, null.feature_names[j]
    # while the base rate is kept
    assert abs(null.y.mean() - ds.y.mean()) < 4 * np.sqrt(ds.y.mean() * (1 - ds.y.mean()) / len(ds))
