"""The readiness verdict: each check passes and fails on its own evidence, and says why."""

from __future__ import annotations

from dataclasses import replace

import pytest

from huracan.learning.baseline import ModeLift
from huracan.learning.evaluate import Estimate, OOSMetrics
from huracan.learning.readiness import ReadinessPolicy, readiness_verdict

POLICY = ReadinessPolicy()


def _metrics(**change) -> OOSMetrics:
    base = OOSMetrics(
        auc=Estimate(0.60, 0.57, 0.63, 5000),
        brier=Estimate(0.24, 0.23, 0.25, 5000),
        log_loss=Estimate(0.67, 0.66, 0.68, 5000),
        ece=Estimate(0.015, 0.01, 0.03, 5000),
        ece_floor=0.02,
        base_rate=Estimate(0.45, 0.43, 0.47, 5000),
        threshold=0.45,
        precision=Estimate(0.52, 0.50, 0.54, 3000),
        trades_kept=3000,
        kept_share=0.6,
        pnl_kept_bps=Estimate(-2.0, -3.0, -1.0, 3000),
        pnl_all_bps=Estimate(-6.0, -7.0, -5.0, 5000),
        pnl_kept_minus_all_bps=Estimate(4.0, 3.0, 5.0, 5000),
    )
    return replace(base, **change)


def test_a_clear_edge_is_ready():
    v = readiness_verdict(_metrics(), n_samples=25_000, policy=POLICY)
    assert v.ready and v.reasons == [] and v.summary.startswith("READY")
    assert [c.name for c in v.checks] == ["samples", "edge_auc", "edge_pnl", "calibrated"]


@pytest.mark.parametrize(
    ("change", "n", "failed"),
    [
        ({}, 999, "samples"),
        ({"auc": Estimate(0.52, 0.49, 0.55, 5000)}, 25_000, "edge_auc"),
        ({"pnl_kept_minus_all_bps": Estimate(1.0, -0.5, 2.5, 5000)}, 25_000, "edge_pnl"),
        ({"trades_kept": 0}, 25_000, "edge_pnl"),
        ({"trades_kept": 4990}, 25_000, "edge_pnl"),  # blocked only 10: value unmeasured
        ({"ece": Estimate(0.06, 0.04, 0.07, 5000)}, 25_000, "calibrated"),
    ],
)
def test_each_failed_check_blocks_with_its_reason(change, n, failed):
    v = readiness_verdict(_metrics(**change), n_samples=n, policy=POLICY)
    assert not v.ready
    assert [c.name for c in v.checks if not c.passed] == [failed]
    assert v.reasons == [v.check(failed).detail]


def test_no_edge_is_said_plainly():
    v = readiness_verdict(_metrics(auc=Estimate(0.50, 0.48, 0.52, 5000)), n_samples=25_000, policy=POLICY)
    assert "no edge found" in v.summary
    assert "includes 0.5" in v.check("edge_auc").detail
    # an interval wholly below 0.5 is no edge either, and is not said to include 0.5
    below = readiness_verdict(_metrics(auc=Estimate(0.46, 0.40, 0.49, 5000)), n_samples=25_000, policy=POLICY)
    assert "no edge found" in below.summary and "lies below 0.5" in below.summary
    assert "includes 0.5" not in below.check("edge_auc").detail


def test_ece_limit_binds_at_nightly_sizes():
    # the bias-corrected ECE is held to 0.05 at every n: a noise floor of 0.07 no longer lets 0.06 through
    m = _metrics(ece=Estimate(0.06, 0.04, 0.09, 300), ece_floor=0.07)
    assert not readiness_verdict(m, n_samples=1500, policy=POLICY).check("calibrated").passed
    ok = replace(m, ece=Estimate(0.045, 0.01, 0.08, 300))
    assert readiness_verdict(ok, n_samples=1500, policy=POLICY).check("calibrated").passed


def test_lift_over_the_cost_baseline_replaces_auc_above_one_half():
    # Given an AUC well above 0.5 that the cost arithmetic alone reaches too
    mech = ModeLift(
        auc=Estimate(0.79, 0.76, 0.82, 5000),
        baseline_auc=Estimate(0.785, 0.75, 0.81, 5000),
        lift=Estimate(0.005, -0.01, 0.02, 5000),
    )
    v = readiness_verdict(_metrics(auc=mech.auc), n_samples=25_000, policy=POLICY, lift=mech)
    # Then it is not an edge, and the summary says why
    assert not v.ready and [c.name for c in v.checks if not c.passed] == ["edge_lift"]
    assert "beyond the cost arithmetic" in v.summary and "0.785" in v.check("edge_lift").detail
    real = replace(mech, lift=Estimate(0.04, 0.02, 0.06, 5000))
    assert readiness_verdict(_metrics(auc=mech.auc), n_samples=25_000, policy=POLICY, lift=real).ready
    # and a "lift" over a baseline that ranks worse than chance is not an edge while the AUC includes 0.5
    chance = ModeLift(
        auc=Estimate(0.546, 0.499, 0.589, 848),
        baseline_auc=Estimate(0.482, 0.435, 0.530, 848),
        lift=Estimate(0.064, 0.025, 0.107, 848),
    )
    v = readiness_verdict(_metrics(auc=chance.auc), n_samples=25_000, policy=POLICY, lift=chance)
    assert not v.ready and "worse than chance" in v.check("edge_lift").detail


def test_champion_comparison_and_stability():
    worse = _metrics(
        champion_auc=Estimate(0.63, 0.60, 0.66, 5000),
        auc_minus_champion=Estimate(-0.03, -0.045, -0.015, 5000),
        champion_brier=Estimate(0.23, 0.22, 0.24, 5000),
        brier_minus_champion=Estimate(0.01, 0.005, 0.015, 5000),
    )
    v = readiness_verdict(worse, n_samples=25_000, policy=POLICY, importance_change=0.5)
    assert not v.ready and not v.check("vs_champion").passed
    # stability is reported but never blocks on its own
    assert not v.check("stability").passed and not v.check("stability").blocking
    level = replace(
        worse,
        auc_minus_champion=Estimate(-0.002, -0.01, 0.006, 5000),
        brier_minus_champion=Estimate(0.0005, -0.001, 0.002, 5000),
    )
    v2 = readiness_verdict(level, n_samples=25_000, policy=POLICY, importance_change=0.5)
    assert v2.ready and v2.check("vs_champion").passed


def test_constant_predictions_are_named_not_shown_as_a_certain_half():
    # Given a model whose every prediction is the same: AUC 0.5 with a zero-width interval
    v = readiness_verdict(_metrics(auc=Estimate(0.5, 0.5, 0.5, 120)), n_samples=25_000, policy=POLICY)
    assert not v.ready and "no edge found" in v.summary
    assert "every prediction the same" in v.summary and "[0.500, 0.500]" not in v.summary
    assert "[0.500, 0.500]" not in v.check("edge_auc").detail


def test_nothing_kept_is_said_not_printed_as_nan():
    nan = float("nan")
    m = _metrics(
        pnl_kept_bps=Estimate(nan, nan, nan, 0),
        pnl_kept_minus_all_bps=Estimate(nan, nan, nan, 24),
        trades_kept=0,
    )
    detail = readiness_verdict(m, n_samples=25_000, policy=POLICY).check("edge_pnl").detail
    assert "nan" not in detail and "nothing kept" in detail
