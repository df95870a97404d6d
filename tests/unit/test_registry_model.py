"""MetaLabelModel, Calibration and MetaLabelGate on small LightGBM models trained on the real FTX month.

Also holds the tiny training helpers the other registry tests import (``make_dataset``, ``train_booster``).
"""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from dataclasses import FrozenInstanceError

import lightgbm as lgb
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from huracan.core.bars import BarArrays
from huracan.registry import Calibration, MetaLabelGate, MetaLabelModel, MissingFeatureError
from huracan.registry.model import PREDICTION_FILES, CalibrationInput, canonical_json, model_id_for

FEATURES = ("ret_1", "ret_5", "ret_15", "rv_15", "vol_ratio_60")


def make_dataset(bars: BarArrays, step: int = 5, horizon: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """A few return features per bar (bars <= i only) and the label "close 15 bars later is higher"."""
    logc = np.log(bars.close)
    r = np.diff(logc, prepend=logc[0])
    cs = np.cumsum(r)
    idx = np.arange(100, len(logc) - horizon - 1, step)
    rv = sliding_window_view(r, 15).std(axis=1, ddof=1)  # rv[j] covers r[j..j+14]
    vol_mean = sliding_window_view(bars.volume, 60).mean(axis=1)  # vol_mean[j] covers volume[j..j+59]
    X = np.column_stack(
        [
            cs[idx] - cs[idx - 1],
            cs[idx] - cs[idx - 5],
            cs[idx] - cs[idx - 15],
            rv[idx - 14],
            bars.volume[idx] / np.maximum(vol_mean[idx - 60], 1e-9),
        ]
    )
    y = (logc[idx + horizon] > logc[idx]).astype(np.float64)
    return X, y


def train_booster(X: np.ndarray, y: np.ndarray, *, seed: int = 7, rounds: int = 15, leaves: int = 7) -> lgb.Booster:
    params = {
        "objective": "binary",
        "num_leaves": leaves,
        "min_data_in_leaf": 50,
        "learning_rate": 0.1,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "deterministic": True,
        "num_threads": 1,
        "verbose": -1,
    }
    return lgb.train(params, lgb.Dataset(X, y, feature_name=list(FEATURES)), num_boost_round=rounds)


@pytest.fixture(scope="module")
def data(ftx_month: BarArrays) -> tuple[np.ndarray, np.ndarray]:
    return make_dataset(ftx_month)


@pytest.fixture(scope="module")
def booster(data: tuple[np.ndarray, np.ndarray]) -> lgb.Booster:
    X, y = data
    return train_booster(X[:6000], y[:6000])


# --- MetaLabelModel -----------------------------------------------------------------------------------


def test_wrapped_booster_predicts_what_lightgbm_predicts(booster, data):
    X, _ = data
    model = MetaLabelModel.from_lightgbm(booster)
    assert model.feature_names == FEATURES
    assert model.calibration.kind == "identity"
    np.testing.assert_allclose(model.predict_proba(X[6000:]), booster.predict(X[6000:]), rtol=0, atol=1e-12)
    assert model.predict_proba(X[:0]).shape == (0,)


def test_wrapped_classifier_matches_predict_proba_column_one(data):
    X, y = data
    clf = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, min_child_samples=50, verbose=-1, n_jobs=1)
    clf.fit(X[:4000], y[:4000])
    model = MetaLabelModel.from_lightgbm(clf, feature_names=FEATURES)
    np.testing.assert_allclose(
        model.predict_proba(X[4000:5000]), np.asarray(clf.predict_proba(X[4000:5000]))[:, 1], atol=1e-12
    )


def test_sigmoid_and_isotonic_calibration_match_scikit_learn(booster, data):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    X, y = data
    clf = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, min_child_samples=50, verbose=-1, n_jobs=1)
    clf.fit(X[:4000], y[:4000])
    X_cal, y_cal, X_test = X[4000:6000], y[4000:6000], X[6000:]
    # LightGBM >= 4 gives LGBMClassifier a decision_function, which scikit-learn calibrates in preference
    # to predict_proba: the calibrator's input is the raw score.
    inp: CalibrationInput = "raw_score" if hasattr(clf, "decision_function") else "probability"
    for method in ("sigmoid", "isotonic"):
        cal = CalibratedClassifierCV(FrozenEstimator(clf), method=method).fit(X_cal, y_cal)
        fitted = cal.calibrated_classifiers_[0].calibrators[0]
        if method == "sigmoid":
            calibration = Calibration.sigmoid(fitted.a_, fitted.b_, input=inp)
        else:
            calibration = Calibration.isotonic(fitted.X_thresholds_, fitted.y_thresholds_, input=inp)
        assert Calibration.from_dict(calibration.to_dict()) == calibration
        model = MetaLabelModel.from_lightgbm(clf, calibration=calibration, feature_names=FEATURES)
        np.testing.assert_allclose(model.predict_proba(X_test), np.asarray(cal.predict_proba(X_test))[:, 1], atol=1e-9)
        assert calibration.kind == method


def test_calibration_json_round_trip_and_validation():
    iso = Calibration.isotonic([0.1, 0.5, 0.9], [0.0, 0.4, 1.0])
    assert Calibration.from_dict(iso.to_dict()) == iso
    # flat beyond the ends, linear between points
    np.testing.assert_allclose(iso.apply(np.array([0.0, 0.3, 0.95])), [0.0, 0.2, 1.0])
    sig = Calibration.sigmoid(-4.0, 2.0)
    np.testing.assert_allclose(sig.apply(np.array([0.5])), [0.5])
    assert np.all(np.isfinite(sig.apply(np.array([-1e6, 1e6]))))
    with pytest.raises(ValueError, match="sorted"):
        Calibration.isotonic([0.5, 0.1], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Calibration.isotonic([0.1, 0.5], [0.1, 1.2])
    with pytest.raises(ValueError, match="finite"):
        Calibration.sigmoid(float("nan"), 0.0)
    with pytest.raises(ValueError, match="unknown calibration kind"):
        Calibration.from_dict({"kind": "beta"})
    with pytest.raises(ValueError, match="identity calibration must take probabilities"):
        Calibration(input="raw_score")
    assert Calibration.sigmoid(1.0, 0.0).to_dict() == {"kind": "sigmoid", "a": 1.0, "b": 0.0}
    assert Calibration.sigmoid(1.0, 0.0, input="raw_score").to_dict()["input"] == "raw_score"


def test_raw_score_calibration_is_applied_to_log_odds(booster, data):
    X = data[0][6000:6500]
    # sigmoid(-(a * margin + b)) with a=-1, b=0 is the booster's own probability
    model = MetaLabelModel.from_lightgbm(booster, calibration=Calibration.sigmoid(-1.0, 0.0, input="raw_score"))
    np.testing.assert_allclose(model.predict_proba(X), booster.predict(X), atol=1e-12)


def test_model_refuses_inputs_that_would_misalign_columns(booster, data):
    text = booster.model_to_string()
    with pytest.raises(ValueError, match="do not match the booster"):
        MetaLabelModel(booster_text=text, feature_names=tuple(reversed(FEATURES)))
    with pytest.raises(ValueError, match="uses 5 features but 4"):
        MetaLabelModel(booster_text=text, feature_names=FEATURES[:4])
    with pytest.raises(ValueError, match="unique"):
        MetaLabelModel(booster_text=text, feature_names=("a", "a", "b", "c", "d"))
    model = MetaLabelModel.from_lightgbm(booster)
    with pytest.raises(ValueError, match=r"shape \(m, 5\)"):
        model.predict_proba(data[0][:3, :4])
    with pytest.raises(TypeError, match="expected a MetaLabelModel"):
        MetaLabelModel.from_lightgbm(object())


def test_regression_booster_is_not_a_meta_label_model(data):
    X, y = data
    reg = lgb.train({"objective": "regression", "verbose": -1, "num_threads": 1}, lgb.Dataset(X[:2000], y[:2000]), 3)
    with pytest.raises(ValueError, match="binary probability model"):
        MetaLabelModel.from_lightgbm(reg, feature_names=FEATURES)


def test_model_id_is_the_documented_hash_and_is_deterministic(booster, data):
    X, y = data
    model = MetaLabelModel.from_lightgbm(booster)
    files = model.files()
    assert sorted(files) == list(PREDICTION_FILES)
    # sha256sum calibration.json features.json model.lgb.txt | sha256sum
    listing = "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(files))
    assert model.model_id == "sha256:" + hashlib.sha256(listing.encode()).hexdigest()
    assert model.model_id == model_id_for({n: hashlib.sha256(b).hexdigest() for n, b in files.items()})
    # the same training gives the same id; metadata is not identity
    again = MetaLabelModel.from_lightgbm(
        train_booster(X[:6000], y[:6000]), metadata={"created_at": "2022-02-01T00:00:00Z"}
    )
    assert again.model_id == model.model_id
    # anything that changes predictions changes the id
    other_seed = MetaLabelModel.from_lightgbm(train_booster(X[:6000], y[:6000], seed=8))
    calibrated = MetaLabelModel.from_lightgbm(booster, calibration=Calibration.sigmoid(-3.0, 1.5))
    renamed = MetaLabelModel.from_lightgbm(booster, feature_metadata={"spec": "v2"})
    assert len({model.model_id, other_seed.model_id, calibrated.model_id, renamed.model_id}) == 4
    assert files["calibration.json"] == canonical_json({"kind": "identity"})


def test_pickle_round_trip_keeps_predictions_and_id(booster, data):
    X, _ = data
    model = MetaLabelModel.from_lightgbm(booster, calibration=Calibration.sigmoid(-3.0, 1.5), metadata={"version": 3})
    model.predict_proba(X[:2])  # a live booster must not end up in the pickle
    blob = pickle.dumps(model)
    assert b"lightgbm" not in blob
    back = pickle.loads(blob)
    assert back.model_id == model.model_id and back.metadata == {"version": 3}
    np.testing.assert_array_equal(back.predict_proba(X[:500]), model.predict_proba(X[:500]))


def test_importing_the_registry_pulls_in_no_pandas_sklearn_boto3_or_lightgbm(booster, tmp_path):
    (tmp_path / "model.lgb.txt").write_text(booster.model_to_string())
    code = (
        "import sys, pathlib\n"
        "from huracan.registry import MetaLabelGate, MetaLabelModel, ModelRegistry\n"
        "from huracan.registry.model import FILE_MODEL, FILE_CALIBRATION, FILE_FEATURES, canonical_json\n"
        f"p = pathlib.Path({str(tmp_path)!r})\n"
        "files = {FILE_MODEL: (p / FILE_MODEL).read_bytes(), FILE_CALIBRATION: canonical_json({'kind': 'identity'}),\n"
        f"         FILE_FEATURES: canonical_json({{'names': {list(FEATURES)!r}, 'metadata': {{}}}})}}\n"
        "m = MetaLabelModel.from_files(files)\n"
        "gate = MetaLabelGate(m, 0.5)\n"
        "print(sorted(k for k in ('pandas', 'sklearn', 'boto3', 'botocore', 'lightgbm') if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- MetaLabelGate -----------------------------------------------------------------------------------


def test_gate_reads_features_by_name_and_matches_batch(booster, data):
    X, _ = data
    model = MetaLabelModel.from_lightgbm(booster)
    probs = model.predict_proba(X[6000:6200])
    threshold = float(np.median(probs))
    gate = MetaLabelGate(model=model, threshold=threshold)
    rows = [dict(zip(reversed(FEATURES), reversed(row), strict=True)) | {"unused": 1.0} for row in X[6000:6200]]
    single = [gate.evaluate(r) for r in rows]
    batch = gate.evaluate_many(rows)
    by_vector = gate.evaluate_many(X[6000:6200])
    assert single == batch == by_vector
    assert [d.prob for d in single] == pytest.approx(list(probs), abs=1e-12)
    passed = np.array([d.passed for d in single])
    assert passed.any() and not passed.all()
    np.testing.assert_array_equal(passed, probs > threshold)
    assert gate.evaluate(X[6000]) == single[0]
    assert gate.evaluate_many([]) == []


def test_gate_decision_shape_and_text(booster):
    gate = MetaLabelGate(model=MetaLabelModel.from_lightgbm(booster), threshold=0.45)
    ok = gate.decide(0.78)
    assert ok.to_dict() == {
        "gate": "meta_label",
        "passed": True,
        "prob": 0.78,
        "threshold": 0.45,
        "model_id": gate.model.model_id,
        "text": "✓ meta_label_gate: PASS (prob 0.78 > threshold 0.45)",
    }
    at = gate.decide(0.45)
    assert not at.passed and at.text == "✗ meta_label_gate: FAIL (prob 0.45 <= threshold 0.45)"
    near = gate.decide(0.4512)
    assert near.passed and near.text == "✓ meta_label_gate: PASS (prob 0.451 > threshold 0.450)"
    with pytest.raises(FrozenInstanceError):
        ok.passed = False  # type: ignore[misc]


def test_gate_refuses_broken_input(booster):
    gate = MetaLabelGate(model=booster, threshold=0.5)
    full = dict.fromkeys(FEATURES, 0.0)
    with pytest.raises(MissingFeatureError, match=r"missing feature\(s\) \['rv_15'\]") as exc:
        gate.evaluate({k: v for k, v in full.items() if k != "rv_15"})
    assert exc.value.missing == ["rv_15"]
    with pytest.raises(ValueError, match="'ret_5' is not a number"):
        gate.evaluate(full | {"ret_5": "fast"})
    with pytest.raises(ValueError, match="vector of 5 features"):
        gate.evaluate([0.0, 1.0])
    with pytest.raises(ValueError, match="threshold"):
        MetaLabelGate(model=booster, threshold=1.5)
    # None is LightGBM's missing value (NaN), which the trees route like any missing value
    assert 0.0 < gate.evaluate(full | {"rv_15": None}).prob < 1.0
