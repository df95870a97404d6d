"""The cost baseline and the lift over it, per mode: a mechanical AUC earns no lift, a real edge does."""

from __future__ import annotations

import numpy as np

from huracan.core.config import load_config
from huracan.core.features import FEATURE_INDEX, MODEL_FEATURES
from huracan.learning.baseline import fit_baseline, lift_by_mode, mode_of, terms_from_engine
from huracan.learning.evaluate import BootstrapPlan, auc_point

TERMS = terms_from_engine(load_config("seed"))


def _rows(n: int, seed: int):
    """Seed-profile-like rows: a scalp cannot win once spread >= 2 bps; runners win more; ``edge`` is a real
    (planted) feature that moves runners' odds only."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(MODEL_FEATURES)))
    runner = rng.random(n) < 0.4
    X[:, FEATURE_INDEX["is_runner"]] = runner.astype(float)
    spread = rng.gamma(2.0, 0.8, size=n)
    X[:, FEATURE_INDEX["spread_bps"]] = spread
    X[:, FEATURE_INDEX["spread_estimated"]] = 1.0
    X[:, FEATURE_INDEX["side"]] = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    edge = X[:, FEATURE_INDEX["trend_eff_15"]]
    p = np.where(runner, 1 / (1 + np.exp(-(1.2 + 1.0 * edge))), np.where(spread >= 2.0, 0.0, 0.55))
    y = (rng.random(n) < p).astype(float)
    return X, y, runner, p


def test_mechanical_auc_earns_no_lift_and_a_real_edge_does_in_its_mode():
    X, y, _, p_true = _rows(8000, 1)
    train, test = slice(0, 5000), slice(5000, None)
    base = fit_baseline(X[train], y[train], MODEL_FEATURES, TERMS)
    b = base.predict(X[test])
    modes = mode_of(X[test], MODEL_FEATURES)
    plan = BootstrapPlan(n_boot=200, block_len=1)
    # the cost arithmetic alone ranks pooled rows well (the impossible scalps, runners vs scalps)
    assert auc_point(b, y[test]) > 0.7
    # Given a "model" that knows only what the baseline knows (spread, mode): no lift in any mode
    mech = b + 1e-9 * np.random.default_rng(0).random(len(b))
    lifts = lift_by_mode(mech, b, y[test], modes, plan)
    assert set(lifts) == {"all", "scalp", "runner"}
    for k, v in lifts.items():
        assert v.lift.lo <= 0 <= v.lift.hi or abs(v.lift.value) < 0.01, (k, v)
        assert v.auc.n == v.baseline_auc.n == v.lift.n
    assert lifts["runner"].auc.n == int((modes == "runner").sum())
    # Given the true probabilities (a real edge on runners only): lift on runners, none on scalps
    true = lift_by_mode(p_true[test], b, y[test], modes, plan)
    assert true["runner"].lift.lo > 0.1, true["runner"]
    assert true["scalp"].lift.lo <= 0.01, true["scalp"]
    assert true["all"].lift.lo > 0
    assert true["runner"].lift.lo <= true["runner"].lift.value <= true["runner"].lift.hi


def test_a_mode_with_one_class_gets_a_constant_baseline():
    X, y, runner, _ = _rows(600, 2)
    y = np.where(runner, 1.0, y)  # every runner wins
    base = fit_baseline(X, y, MODEL_FEATURES, TERMS)
    pr = base.predict(X[runner])
    assert "runner" not in base.models and np.all(pr == 1.0)
