"""One training session end to end on real price paths: artifact, calibration, champion, report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from huracan.core.features import FEATURE_INDEX, features_history
from huracan.learning.pipeline import Champion, TrainingConfig, run_training
from huracan.learning.planted import planted_edge_dataset
from huracan.registry.model import FILE_CALIBRATION, MetaLabelModel

CFG = TrainingConfig(num_threads=1, n_boot=300)


@pytest.fixture(scope="module")
def history(ftx_month):
    return features_history(ftx_month)


@pytest.fixture(scope="module")
def planted(ftx_month, history):
    return planted_edge_dataset(ftx_month, strength=0.8, stride=2, seed=21, history=history)


@pytest.fixture(scope="module")
def result(planted):
    return run_training(planted.dataset, CFG)


def test_artifact_round_trips_through_the_registry_files(planted, result):
    # Given the trained artifact, serialised to the registry's three files and read back
    files = result.model.files()
    cal = json.loads(files[FILE_CALIBRATION])
    # the kind the held-out log loss chose, on its recorded evidence
    choice = result.report.calibration_choice
    assert cal["kind"] == choice.kind == result.report.calibration_kind
    assert choice.folds == 5 and choice.n == result.report.n_calibration
    other = "isotonic" if choice.kind == "sigmoid" else "sigmoid"
    assert choice.log_loss[choice.kind] <= choice.log_loss[other]
    again = MetaLabelModel.from_files(files)
    # Then it predicts exactly the probabilities the evaluation used, with the same id
    X_test = planted.dataset.X[result.test_rows]
    np.testing.assert_allclose(again.predict_proba(X_test), result.test_proba, rtol=0, atol=1e-12)
    assert again.model_id == result.model.model_id
    assert list(again.feature_names) == list(planted.dataset.feature_names)


def test_rows_used_for_training_exclude_the_test_window(planted, result):
    ds = planted.dataset
    assert not result.used_in_training[result.test_rows].any()
    assert result.used_in_training[result.split.final_train].all()
    assert ds.t_exit[result.used_in_training].max() < ds.t_entry[result.test_rows].min()


def test_report_is_json_and_records_what_went_in(planted, result):
    report = result.report
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["snapshot_id"] == planted.dataset.snapshot_id()
    assert doc["params"]["is_unbalance"] is True
    assert doc["features"] == list(planted.dataset.feature_names)
    assert doc["metrics"]["ece_binning"].startswith("10 equal-count bins")
    assert doc["metrics"]["auc"]["n"] == report.n_test
    assert doc["embargo_sec"] >= planted.dataset.max_timeout_sec
    assert len(doc["folds"]) == CFG.n_folds and all(f["purged"] + f["embargoed"] > 0 for f in doc["folds"])
    assert doc["verdict"]["ready"] is True and doc["verdict"]["reasons"] == []
    assert "READY" in report.summary()


def test_same_data_and_seed_give_the_same_model_id(planted, result):
    again = run_training(planted.dataset, CFG)
    assert again.model.model_id == result.model.model_id


def test_calibration_improves_ece_on_held_out_data(ftx_month, history):
    # Given a rare WIN class (base rate ~ 25 %), which class reweighting turns into inflated raw scores
    rare = planted_edge_dataset(ftx_month, strength=0.8, base=-1.2, stride=2, seed=22, history=history)
    report = run_training(rare.dataset, CFG).report
    # Then on the untouched test window the calibrated ECE is far below the raw booster's
    assert report.metrics.base_rate.value < 0.3
    assert report.raw_ece.value > 0.1
    assert report.metrics.ece.value < report.raw_ece.value / 4
    assert report.metrics.ece.value <= 0.03
    # every figure carries its n and an interval containing it: ECE, raw ECE, out-of-fold and per-fold AUC
    for e in (report.metrics.ece, report.raw_ece, report.oof_auc, *(f.valid_auc for f in report.folds)):
        assert e.lo <= e.value <= e.hi and e.n > 0, e
    assert report.oof_auc.n == sum(f.n_valid for f in report.folds)
    assert [f.valid_auc.n for f in report.folds] == [f.n_valid for f in report.folds]


def test_small_sets_choose_sigmoid_calibration(ftx_month, history):
    small = planted_edge_dataset(ftx_month, strength=1.0, stride=40, seed=23, history=history)
    result = run_training(small.dataset, CFG)
    cal = json.loads(result.model.files()[FILE_CALIBRATION])
    assert result.report.n_calibration < 1000
    assert cal["kind"] == "sigmoid" and set(cal) == {"kind", "a", "b"}
    assert cal["a"] < 0  # registry convention p = 1 / (1 + exp(a * raw + b)): higher raw, higher p


def test_a_worse_challenger_is_not_promoted(ftx_month, history):
    # Given an edge planted on the volume ratio (the one feature no other column can reconstruct),
    # a champion that knows the true win probabilities of the test rows (the best possible model),
    # and a challenger that sees the volume ratio only through noise: a real but weaker edge
    planted = planted_edge_dataset(
        ftx_month, strength=0.8, feature="volume_ratio_60", stride=2, seed=24, history=history
    )
    ds = planted.dataset
    j = FEATURE_INDEX["volume_ratio_60"]
    rng = np.random.default_rng(0)
    rank = np.argsort(np.argsort(ds.X[:, j])) / len(ds)
    X = ds.X.copy()
    X[:, j] = rank + rng.normal(0, 0.3, len(ds))
    noisy = type(ds)(**{**{f: getattr(ds, f) for f in ds.__dataclass_fields__}, "X": X})
    # the test window is the last rows, so the oracle answers with the last true probabilities
    oracle = Champion(predict_proba=lambda rows: planted.true_p[-len(rows) :], model_id="sha256:oracle")
    # When the challenger is trained without and with the champion to beat
    alone = run_training(noisy, CFG).report
    against = run_training(noisy, CFG, champion=oracle).report
    # Then it would have been promoted on its own, yet is refused next to the better champion
    assert alone.verdict.ready, alone.summary()
    assert not against.verdict.ready
    check = against.verdict.check("vs_champion")
    assert not check.passed and "worse than the champion" in check.detail
    assert against.metrics.auc_minus_champion is not None and against.metrics.auc_minus_champion.hi < 0
    assert against.champion_model_id == "sha256:oracle"


def test_champion_from_a_registry_model_and_importance_change(planted, result):
    # Given the published model as champion, retraining on the same data is not worse and moves no importance
    champ = Champion.from_model(result.model, planted.dataset.feature_names)
    again = run_training(planted.dataset, CFG, champion=champ).report
    assert again.verdict.check("vs_champion").passed
    assert again.metrics.auc_minus_champion is not None and again.metrics.auc_minus_champion.value == 0
    assert again.importance.change_vs_champion_gain == pytest.approx(0.0, abs=1e-12)
    assert again.verdict.check("stability").passed and again.verdict.ready


def test_bars_add_the_regime_detector(ftx_month, history, planted):
    report = run_training(planted.dataset, CFG, bars=ftx_month, bar_history=history).report
    assert report.regime is not None
    assert report.regime.n_test > 5000
    assert "regime detector" in report.summary()
    assert "detector" not in json.loads(json.dumps(report.to_dict()))["regime"]


def test_the_pnl_check_keeps_each_mode_at_its_deployed_threshold(planted):
    # Given the planted rows split into scalps and runners, with each mode's deployed gate threshold
    from dataclasses import replace as dc_replace

    from huracan.core.config import load_config
    from huracan.learning.baseline import terms_from_engine

    ds = planted.dataset
    X = ds.X.copy()
    X[1::2, FEATURE_INDEX["is_runner"]] = 1.0
    mixed = type(ds)(**{**{f: getattr(ds, f) for f in ds.__dataclass_fields__}, "X": X})
    terms = terms_from_engine(load_config("demo"))  # scalp 0.62, runner 0.80
    result = run_training(mixed, dc_replace(CFG, modes=terms))
    m = result.report.metrics
    # Then the kept rows are those above their own mode's threshold, not above the training default
    runner = X[result.test_rows, FEATURE_INDEX["is_runner"]] == 1.0
    thr = np.where(runner, 0.80, 0.62)
    assert m.trades_kept == int((result.test_proba > thr).sum()) != int((result.test_proba > CFG.threshold).sum())
    assert m.thresholds == {"scalp": 0.62, "runner": 0.80}
    assert "scalp 0.62, runner 0.80" in result.report.verdict.check("edge_pnl").detail
    # and the lift is reported per mode
    assert set(result.report.lift) == {"all", "scalp", "runner"}
