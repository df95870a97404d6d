"""The nightly's challenger glue: forward rows are the decisions after training that the challenger scored;
a clear forward edge is promoted (the champion switches), no evidence keeps it, and the state is recorded."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from huracan.core.features import MODEL_FEATURES
from huracan.core.timeutil import from_epoch_s
from huracan.learning.challengers import enlist, forward_rows, review_challengers
from huracan.learning.forward import ForwardRule
from huracan.registry import MetaLabelModel, ModelRegistry
from huracan.service.entities import DecisionOutcome, DecisionRecord

T0 = 1_641_340_800  # 2022-01-05T00:00:00Z
RULE = ForwardRule(n_boot=100)


def _challenger(registry: ModelRegistry) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, len(MODEL_FEATURES)))
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1},
        lgb.Dataset(X, (rng.random(300) < 0.5).astype(int), feature_name=list(MODEL_FEATURES)),
        num_boost_round=3,
    )
    model = MetaLabelModel.from_lightgbm(booster)
    return registry.register_model(model, code_git_sha="x", data_snapshot_id="s", metrics={}, stage="challenger")


class Decisions:
    """Decisions by day, as the decisions table (or its settled S3 copies) gives them."""

    def __init__(self, rows):
        self.rows = rows

    def decisions_with_outcomes_on_day(self, day, *, only_unresolved=False):
        return iter([r for r in self.rows if r[0].day == day])


def _decisions(cid: str, n: int, seed: int, edge: bool, start: int = T0 - 86_400):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = start + i * 600
        p = rng.random()
        win = rng.random() < (p if edge else 0.45)
        ts = from_epoch_s(t)
        rec = DecisionRecord(
            signal_id=f"s{i}",
            day=ts[:10],
            ts=ts,
            symbol="BTC-PERP",
            side="long",
            mode="scalp",
            strategy="t",
            confidence=0.7,
            price=1.0,
            features_json="{}",
            gates={},
            passed=False,
            blocked_by=("meta_label_gate",),
            prob=float(rng.random()),
            prob_source="prior",
            regime="TREND",
            regime_source="rule",
            model_id=None,
            config_version="v",
            expected_return_bps=None,
            cost_bps=None,
            shadow_id=None,
            expires_at_epoch=None,
            challenger_probs={cid: float(p)},
        )
        pnl = 30.0 if win else -30.0
        out.append((rec, DecisionOutcome(f"s{i}", "TP" if win else "SL", "WIN" if win else "LOSS", 1.0, pnl, pnl)))
    return out


def test_forward_rows_are_after_training_and_scored_by_that_challenger(tmp_path):
    rows = _decisions("sha256:" + "a" * 64, 400, 1, edge=True)
    fwd = forward_rows(rows, "sha256:" + "a" * 64, from_epoch_s(T0), {"scalp": 0.62})
    assert len(fwd) == sum(1 for r, _ in rows if r.ts >= from_epoch_s(T0)) < 400
    assert np.all(fwd.threshold == 0.62)
    assert len(forward_rows(rows, "sha256:" + "b" * 64, from_epoch_s(T0), {})) == 0


def test_a_forward_edge_is_promoted_and_no_evidence_is_kept(tmp_path):
    registry = ModelRegistry(tmp_path)
    cid = _challenger(registry)
    assert enlist(registry, "meta_label", cid, from_epoch_s(T0), RULE)[0]
    # Night 1: no decisions after training yet -> kept, not promoted
    source = Decisions(_decisions(cid, 144, 2, edge=True))  # the day before training only
    [look] = review_challengers(
        registry,
        source,
        name="meta_label",
        last_day="2022-01-05",
        event_time=from_epoch_s(T0 + 86_400),
        thresholds={"scalp": 0.55},
        embargo_sec=900,
        rule=RULE,
    )
    assert look["action"] == "keep" and "no forward evidence yet" in look["reasons"][0]
    assert registry.latest() is None
    # Night 5: 4 days of forward decisions where the challenger ranks outcomes and the prior does not
    source = Decisions(_decisions(cid, 144 * 5, 3, edge=True))
    [look] = review_challengers(
        registry,
        source,
        name="meta_label",
        last_day="2022-01-08",
        event_time=from_epoch_s(T0 + 4 * 86_400),
        thresholds={"scalp": 0.55},
        embargo_sec=900,
        rule=RULE,
    )
    assert look["action"] == "promote", look["reasons"]
    assert look["nights"] == 2 and look["look"]["n"] > 500
    assert registry.load_latest_model()[0] == cid
    state = registry.challengers("meta_label")
    assert state["live"] == [] and state["retired"][-1]["outcome"] == "promoted"


def test_a_null_challenger_is_not_promoted(tmp_path):
    registry = ModelRegistry(tmp_path)
    cid = _challenger(registry)
    enlist(registry, "meta_label", cid, from_epoch_s(T0), RULE)
    source = Decisions(_decisions(cid, 144 * 8, 4, edge=False))
    [look] = review_challengers(
        registry,
        source,
        name="meta_label",
        last_day="2022-01-11",
        event_time=from_epoch_s(T0 + 7 * 86_400),
        thresholds={"scalp": 0.55},
        embargo_sec=900,
        rule=RULE,
    )
    assert look["action"] == "keep" and registry.latest() is None
    assert registry.challengers("meta_label")["live"][0]["nights"] == 1
