"""Promotion on forward evidence: a planted edge is promoted on decisions made after it was trained, a null
challenger is not, nothing is promoted before it has forward decisions, and failures/expiries retire."""

from __future__ import annotations

import numpy as np
import pytest

from huracan.core.features import FEATURE_INDEX, features_history
from huracan.learning.forward import ForwardRows, ForwardRule, compare_forward, judge_forward
from huracan.learning.pipeline import TrainingConfig, run_training
from huracan.learning.planted import PlantedEdge, null_labels, planted_edge_dataset

RULE = ForwardRule()
FAST = ForwardRule(n_boot=100)  # the same rule with fewer bootstrap replicates, to keep the nightly loops short
DAY = 86_400
_CONF = FEATURE_INDEX["confidence"]


@pytest.fixture(scope="module")
def history(ftx_month):
    return features_history(ftx_month)


def _nights(pe: PlantedEdge, y: np.ndarray, train_days: int, seed: int) -> list[str]:
    """Train a challenger on the first ``train_days``, then judge it each night on the decisions since."""
    ds = pe.dataset
    t0 = int(ds.t_entry[0])
    trained_until = t0 + train_days * DAY
    train = np.flatnonzero(ds.t_exit < trained_until)
    sub = ds.subset(train)
    sub = type(sub)(**{**{f: getattr(sub, f) for f in sub.__dataclass_fields__}, "y": y[train]})
    result = run_training(sub, TrainingConfig(num_threads=1, n_boot=100, permutation_repeats=1, seed=seed))
    fwd = np.flatnonzero(ds.t_entry >= trained_until)
    p_c = result.model.predict_proba(ds.X[fwd])
    actions = []
    last = int(ds.t_exit[fwd].max())
    for night, at in enumerate(range(trained_until + DAY, last + DAY, DAY), start=1):
        known = ds.t_exit[fwd] <= at  # outcomes known by this night
        rows = ForwardRows.build(
            y=y[fwd][known],
            pnl_bps=ds.pnl_bps[fwd][known],
            threshold=0.55,
            incumbent_p=ds.X[fwd][known, _CONF],  # no champion: the prior (the signal's confidence) gates
            challenger_p=p_c[known],
            t_entry=ds.t_entry[fwd][known],
            modes=np.full(int(known.sum()), "scalp"),
        )
        cmp = compare_forward(rows, rule=FAST, embargo_sec=ds.max_timeout_sec, seed=night)
        v = judge_forward(cmp, nights=night, rule=FAST)
        actions.append(v.action)
        if v.action != "keep":
            break
    return actions


def test_a_planted_edge_is_promoted_on_forward_evidence(ftx_month, history):
    # Given an edge planted in the real month (~500 signals a day) and a challenger trained on its first 10 days
    pe = planted_edge_dataset(ftx_month, strength=0.6, stride=3, seed=31, history=history)
    actions = _nights(pe, pe.dataset.y, train_days=10, seed=1)
    # Then it is promoted on the decisions after its training window, within days, and not on the first night
    assert actions[-1] == "promote", actions
    assert 1 < len(actions) <= 20


def test_a_null_challenger_is_not_promoted(ftx_month, history):
    # Given labels independent of every feature (fixed seeds), forward and backward
    pe = planted_edge_dataset(ftx_month, strength=0.6, stride=3, seed=32, history=history)
    for seed in (1, 2):
        y = null_labels(pe.dataset, seed=seed).y
        actions = _nights(pe, y, train_days=10, seed=seed)
        # Then no night promotes it; it expires or fails, or is still waiting when the month ends
        assert "promote" not in actions, (seed, actions)


def test_no_promotion_without_forward_decisions():
    # Given a perfect challenger that has scored decisions whose outcomes are not known yet (none forward)
    empty = ForwardRows.build([], [], 0.5, [], [], [], [])
    v = judge_forward(compare_forward(empty), nights=1, rule=RULE)
    assert v.action == "keep" and "no forward evidence yet" in v.reasons[0]
    # and with a handful of perfectly ranked forward decisions: still no evidence to promote on
    y = np.array([0.0, 1.0] * 20)
    few = ForwardRows.build(y, np.where(y == 1, 30.0, -30.0), 0.5, np.full(40, 0.6), y, np.arange(40), ["scalp"] * 40)
    v = judge_forward(compare_forward(few), nights=3, rule=RULE)
    assert v.action == "keep" and v.comparison.n == 40


def _synthetic(n: int, seed: int, challenger_strength: float, incumbent_strength: float) -> ForwardRows:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-x))
    y = (rng.random(n) < p).astype(float)
    noise = rng.normal(size=n)
    chal = 1 / (1 + np.exp(-(challenger_strength * x + noise)))
    inc = 1 / (1 + np.exp(-(incumbent_strength * x + noise)))
    return ForwardRows.build(y, np.where(y == 1, 30.0, -30.0), 0.5, inc, chal, np.arange(n) * 60, ["runner"] * n)


def test_a_worse_challenger_fails_and_a_stalled_one_expires():
    worse = judge_forward(compare_forward(_synthetic(3000, 1, 0.2, 2.0)), nights=2, rule=RULE)
    assert worse.action == "retire" and any("failed" in r for r in worse.reasons)
    same = judge_forward(compare_forward(_synthetic(3000, 2, 1.0, 1.0)), nights=RULE.max_nights, rule=RULE)
    assert same.action == "retire" and any("expired" in r for r in same.reasons)
    better = judge_forward(compare_forward(_synthetic(3000, 3, 2.0, 0.2)), nights=2, rule=RULE)
    assert better.action == "promote" and better.comparison.pnl_diff_bps.value >= 0


def test_the_rule_spends_its_yearly_alpha_over_every_look():
    # at most two live challengers, one look a night each: 730 looks share 0.05
    assert RULE.alpha_look == pytest.approx(0.05 / 730)
    assert 3.7 < RULE.z_crit < 3.9
