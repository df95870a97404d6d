"""Learning-progress and export figures from known training sessions, exports and live trades."""

from __future__ import annotations

import pytest

from huracan.observability.model_evolution import (
    evolution_metric_values,
    feature_importance_stability,
    hamilton_adoption,
    importance_changes,
    importance_evolution,
    model_improvement,
    model_usage,
    model_validation,
    models_exported,
)
from huracan.observability.records import (
    LiveTrade,
    ModelExport,
    ShadowTrade,
    TrainingSessionRecord,
    export_from_card,
    session_from_document,
)
from huracan.observability.targets import METRIC_NAMES, TARGETS, TargetBand, band_status, evaluate

M1, M3 = "sha256:" + "1" * 64, "sha256:" + "3" * 64
SESSIONS = [
    TrainingSessionRecord("2024-01-01", 1200, 0.60, 0.04, 0.24, "ready", model_id=M1, importance={"a": 6, "b": 3, "c": 1}),
    TrainingSessionRecord("2024-01-02", 2000, 0.62, 0.05, 0.23, "not ready", reasons=("ECE above target",),
                          importance={"a": 4, "b": 2, "c": 2}),
    TrainingSessionRecord("2024-01-03", 3000, 0.635, 0.02, 0.22, "ready", model_id=M3, importance={"a": 2, "b": 2, "c": 4}),
]  # fmt: skip
EXPORTS = [
    ModelExport(M1, "2024-01-01T00:30:00Z", 1, True),
    ModelExport(M3, "2024-01-03T00:30:00Z", 2, True),
]
LIVE = [
    LiveTrade("L1", "2024-01-03T06:30:00Z", model_id=M1),
    LiveTrade("L2", "2024-01-03T12:30:00Z", model_id=M3),
    LiveTrade("L3", "2024-01-03T18:00:00Z", model_id=M3),
    LiveTrade("L0", "2024-01-02T18:00:00Z", model_id=M1),
]


def test_model_improvement_is_auc_delta_to_previous_session() -> None:
    assert model_improvement(SESSIONS, "2024-01-03") == pytest.approx(0.015, abs=1e-12)
    assert model_improvement(SESSIONS, "2024-01-02") == pytest.approx(0.02, abs=1e-12)
    assert model_improvement(SESSIONS, "2024-01-01") is None  # nothing to compare with
    assert model_improvement(SESSIONS, "2024-01-04") is None  # no session that day


def test_importance_stability_and_changes() -> None:
    # 01-02 shares a .5 b .25 c .25; 01-03 a .25 b .25 c .5 -> half of |-.25| + 0 + |.25|
    assert feature_importance_stability(SESSIONS[2].importance, SESSIONS[1].importance) == 0.25
    assert feature_importance_stability({"a": 1}, {"b": 1}) == 1.0
    assert importance_changes(SESSIONS) == [("a", 0.5, 0.25), ("c", 0.25, 0.5), ("b", 0.25, 0.25)]
    evo = importance_evolution(SESSIONS, top=2)
    assert evo == {"c": [0.1, 0.25, 0.5], "a": [0.6, 0.5, 0.25]}


def test_exports_validation_and_adoption() -> None:
    assert models_exported(EXPORTS, "2024-01-03") == 1
    assert models_exported(EXPORTS, "2024-01-02") == 0
    assert model_validation(EXPORTS, "2024-01-03T23:00:00Z") == (1.0, 2)
    assert model_validation([*EXPORTS, ModelExport("x", "2024-01-03T01:00:00Z")], "2024-01-03T23:00:00Z") == (2 / 3, 3)
    assert model_validation(EXPORTS, "2023-12-31T00:00:00Z") == (None, 0)
    a = hamilton_adoption(EXPORTS, LIVE, "2024-01-03T23:00:00Z")
    assert a is not None
    assert (a.model_id, a.first_use, a.adopted) == (M3, "2024-01-03T12:30:00Z", True)
    assert a.lag_days == pytest.approx(0.5)
    assert (a.live_after_export, a.on_current, a.share_current) == pytest.approx((3, 2, 2 / 3))
    # before Hamilton used it: a lower bound, not adopted
    b = hamilton_adoption(EXPORTS, LIVE, "2024-01-03T06:30:00Z")
    assert b is not None and not b.adopted and b.lag_days == pytest.approx(0.25)


def test_model_usage_counts_every_trade() -> None:
    shadow = [
        ShadowTrade("s1", "t", "d", "X", "scalp", "long", 1.0, model_id=M3),
        ShadowTrade("s2", "t", "d", "X", "scalp", "long", 1.0, model_id=None),
        ShadowTrade("s3", "t", "d", "X", "scalp", "long", 1.0, model_id=M3),
    ]
    assert model_usage(shadow, LIVE[:3]) == {
        "(prior)": {"shadow": 1, "live": 0},
        M1: {"shadow": 0, "live": 1},
        M3: {"shadow": 2, "live": 2},
    }


def test_evolution_metric_values_against_bands() -> None:
    vals = {v.name: v for v in evolution_metric_values(SESSIONS, EXPORTS, LIVE, "2024-01-03", "2024-01-03T23:00:00Z")}
    assert (vals["training_frequency"].value, vals["training_frequency"].status) == (1.0, "in band")
    assert (vals["training_data_size"].value, vals["training_data_size"].status) == (3000.0, "in band")
    assert vals["model_improvement"].value == pytest.approx(0.015) and vals["model_improvement"].status == "in band"
    assert vals["feature_importance_stability"].value == 0.25
    assert vals["feature_importance_stability"].status == "in band"
    assert (vals["models_exported"].value, vals["model_validation"].value) == (1.0, 1.0)
    assert vals["hamilton_adoption"].value == pytest.approx(0.5)
    assert vals["hamilton_adoption"].status == "in band"
    nxt = {v.name: v for v in evolution_metric_values(SESSIONS, EXPORTS, LIVE, "2024-01-04", "2024-01-04T23:00:00Z")}
    assert nxt["models_exported"].status == "below target"
    assert nxt["training_frequency"].status == "below target"
    assert nxt["hamilton_adoption"].status == "in band"  # first used 0.5 days after export


def test_targets_are_the_seeds() -> None:
    assert set(METRIC_NAMES) >= {
        "shadow_trades_daily", "shadow_win_rate.scalp", "shadow_win_rate.runner", "shadow_pnl_daily",
        "training_data_size", "model_improvement", "feature_importance_stability", "models_exported",
        "model_validation", "hamilton_adoption", "training_frequency",
    }  # fmt: skip
    assert TARGETS["shadow_trades_daily"].band == TargetBand(20, 50, 200)
    assert TARGETS["shadow_win_rate.scalp"].band == TargetBand(0.70, 0.74, 0.78)
    assert TARGETS["shadow_win_rate.runner"].band == TargetBand(0.87, 0.90, 0.95)
    assert TARGETS["shadow_pnl_daily"].band == TargetBand(50, 100, 200)
    assert TARGETS["training_data_size"].band == TargetBand(1000, 5000, 50000)
    assert TARGETS["feature_importance_stability"].band == TargetBand(max=0.30)
    assert band_status(20, TARGETS["shadow_trades_daily"].band) == "in band"  # inclusive
    assert band_status(19, TARGETS["shadow_trades_daily"].band) == "below target"
    assert band_status(201, TARGETS["shadow_trades_daily"].band) == "above target"
    assert band_status(None, TARGETS["shadow_trades_daily"].band) == "no data"
    assert evaluate("shadow_win_rate", 0.8, key="scalp").status == "above target"
    with pytest.raises(KeyError):
        evaluate("no_such_metric", 1.0)


def test_session_from_model_card_and_training_report() -> None:
    card = {
        "model_id": M3, "stage": "champion", "created_at": "2024-01-03T00:30:00Z", "version": 2,
        "metrics": {"auc": {"value": 0.63, "lo": 0.6, "hi": 0.66, "n": 900}, "ece": 0.02, "brier": 0.22,
                    "n_samples": 3000, "importance": {"a": 1.0, "b": 3.0}},
        "readiness": {"ready": True, "checks": [], "summary": "READY"},
    }  # fmt: skip
    s = session_from_document(card)
    assert (s.date, s.n, s.auc, s.auc_ci, s.ece, s.verdict, s.model_id) == (
        "2024-01-03", 3000, 0.63, (0.6, 0.66), 0.02, "ready", M3,
    )  # fmt: skip
    assert dict(s.importance) == {"a": 1.0, "b": 3.0}
    exp = export_from_card(card)
    assert exp is not None and (exp.model_id, exp.version, exp.validated, exp.auc) == (M3, 2, True, 0.63)
    candidate = {**card, "stage": "candidate", "readiness": {"ready": False, "checks": [
        {"name": "ece", "passed": False, "blocking": True, "detail": "ECE 0.07 > 0.03"},
        {"name": "stability", "passed": False, "blocking": False, "detail": "moved"}]}}  # fmt: skip
    c = session_from_document(candidate)
    assert (c.verdict, c.reasons, c.model_id, c.candidate_id) == ("not ready", ("ECE 0.07 > 0.03",), None, M3)
    assert export_from_card(candidate) is None
    report = {
        "n_samples": 5000, "created_at": "2024-01-04T00:10:00Z",
        "metrics": {"auc": {"value": 0.7, "lo": 0.68, "hi": 0.72, "n": 1000}, "brier": {"value": 0.2, "lo": 0.19, "hi": 0.21, "n": 1000}},
        "verdict": {"ready": False, "reasons": ["no edge"]}, "importance": {"gain": {"x": 0.7, "y": 0.3}},
    }  # fmt: skip
    r = session_from_document(report)
    assert (r.n, r.auc, r.brier_ci, r.reasons, dict(r.importance)) == (
        5000,
        0.7,
        (0.19, 0.21),
        ("no edge",),
        {"x": 0.7, "y": 0.3},
    )
