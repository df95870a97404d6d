"""Feature importance shares and the stability metric against the champion."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from huracan.learning.importance import compute_importance, importance_change, normalise


def test_importance_change_is_the_share_of_importance_that_moved():
    a = {"x": 3.0, "y": 1.0}
    assert importance_change(a, a) == 0.0
    assert importance_change(a, {"z": 5.0}) == pytest.approx(1.0)
    assert importance_change({"x": 0.5, "y": 0.5}, {"x": 0.8, "y": 0.2}) == pytest.approx(0.3)
    assert importance_change(a, {"y": 1.0, "x": 1.0}) == importance_change({"y": 1.0, "x": 1.0}, a)
    assert normalise({"x": -1.0, "y": 0.0}) == {"x": 0.0, "y": 0.0}


def test_gain_and_permutation_credit_the_informative_feature():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, 3))
    y = (rng.random(6000) < 1 / (1 + np.exp(-2 * X[:, 1]))).astype(float)
    params = {"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": 0, "num_leaves": 7}
    booster = lgb.train(params, lgb.Dataset(X[:4000], y[:4000], feature_name=["a", "b", "c"]), 40)
    rep = compute_importance(booster, X[4000:], y[4000:], ["a", "b", "c"], champion_gain={"b": 1.0})
    assert rep.top(1)[0][0] == "b" and rep.gain["b"] > 0.7
    assert rep.permutation["b"] > 0.9 and rep.permutation_auc_drop["b"] > 0.1
    assert sum(rep.gain.values()) == pytest.approx(1.0)
    assert rep.change_vs_champion_gain == pytest.approx(1 - rep.gain["b"])
    assert rep.change_vs_champion_permutation is None
