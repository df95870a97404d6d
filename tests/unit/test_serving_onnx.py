"""ONNX export and the onnxruntime predictor against LightGBM, on the real FTX month.

The model is trained the way the nightly job trains (``MetaLabelLearner``) on ``features_history`` of
the month plus the four signal features; equality is asserted on every bar of the month, NaN rows
included, and on probe rows that sit on each split threshold. Also holds the helpers the other serving
tests import (``serving_dataset``, ``train_serving_model``).
"""

from __future__ import annotations

import hashlib
import json

import lightgbm as lgb
import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.features import BAR_FEATURES, MODEL_FEATURES, features_history
from huracan.learning.train import MetaLabelLearner
from huracan.registry import Calibration, MetaLabelModel
from huracan.serving import OnnxExportError, OnnxPredictor, export_onnx, onnx_artifacts
from huracan.serving.onnx_export import MAX_ABS_DIFF, META_LIGHTGBM_SHA256, probe_rows

TOL = 1e-6  # the task's bar; the export itself guarantees MAX_ABS_DIFF


def serving_dataset(bars: BarArrays, horizon: int = 15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``MODEL_FEATURES`` rows for a signal at every bar (random side / confidence / mode) and its label.

    The label is "the side's return over the next ``horizon`` bars is positive": a stand-in for the
    triple-barrier outcome that needs no simulator, on real prices.
    """
    feats = features_history(bars)
    n = len(feats)
    rng = np.random.default_rng(seed)
    side = rng.choice([-1.0, 1.0], n)
    i15 = BAR_FEATURES.index("ret_15_bps")
    X = np.column_stack(
        [feats, side, side * feats[:, i15], rng.uniform(0.3, 1.0, n), rng.integers(0, 2, n).astype(np.float64)]
    )
    logc = np.log(bars.close)
    y = np.zeros(n)
    y[:-horizon] = side[:-horizon] * (logc[horizon:] - logc[:-horizon]) > 0
    return X, y


def train_serving_model(X: np.ndarray, y: np.ndarray, *, rounds: int = 120, seed: int = 0) -> lgb.Booster:
    return MetaLabelLearner(num_boost_round=rounds).fit(X, y, MODEL_FEATURES, seed=seed)


@pytest.fixture(scope="module")
def data(ftx_month: BarArrays) -> tuple[np.ndarray, np.ndarray]:
    return serving_dataset(ftx_month)


@pytest.fixture(scope="module")
def booster(data) -> lgb.Booster:
    X, y = data
    return train_serving_model(X[:30_000], y[:30_000])


@pytest.fixture(scope="module")
def onnx_bytes(booster, data) -> bytes:
    return export_onnx(booster, check_rows=data[0])


def test_onnx_equals_lightgbm_on_every_bar_of_the_real_month(booster, onnx_bytes, data):
    X, _ = data
    assert np.isnan(X).any(), "the month's warm-up rows exercise the missing-value branches"
    predictor = OnnxPredictor(onnx_bytes)
    assert predictor.feature_names == MODEL_FEATURES
    got, want = predictor.raw_proba(X), booster.predict(X)
    assert got.shape == want.shape == (len(X),)
    assert np.max(np.abs(got - want)) <= MAX_ABS_DIFF < TOL
    np.testing.assert_allclose(predictor.raw_score(X), booster.predict(X, raw_score=True), rtol=0, atol=1e-12)
    assert predictor.predict_proba(X[:0]).shape == (0,)


def test_threshold_probes_take_lightgbm_branches(booster, onnx_bytes):
    """Rows on and one ulp either side of every threshold: where float32 thresholds go wrong."""
    probes = probe_rows(booster.dump_model(), len(MODEL_FEATURES), rows=4000, seed=3)
    assert np.isnan(probes).any()
    got = OnnxPredictor(onnx_bytes).raw_score(probes)
    np.testing.assert_allclose(got, booster.predict(probes, raw_score=True), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "calibration",
    [
        Calibration.sigmoid(-3.1, 1.4),
        Calibration.isotonic([0.2, 0.45, 0.5, 0.8], [0.05, 0.3, 0.6, 0.9]),
        Calibration.sigmoid(-0.9, 0.05, input="raw_score"),
        Calibration.isotonic([-1.0, 0.0, 1.5], [0.1, 0.5, 0.95], input="raw_score"),
    ],
)
def test_calibrated_predictions_match_the_registry_model(booster, onnx_bytes, data, calibration):
    X, _ = data
    model = MetaLabelModel.from_lightgbm(booster, calibration=calibration)
    files = {**model.files(), "model.onnx": onnx_bytes}
    predictor = OnnxPredictor.from_files(files, model_id=model.model_id)
    assert predictor.model_id == model.model_id and predictor.calibration == calibration
    got, want = predictor.predict_proba(X), model.predict_proba(X)
    assert np.max(np.abs(got - want)) <= TOL
    assert np.all((got >= 0) & (got <= 1))


def test_graph_records_its_source_booster(booster, onnx_bytes):
    model = MetaLabelModel.from_lightgbm(booster)
    predictor = OnnxPredictor(onnx_bytes)
    assert predictor.lightgbm_sha256 == hashlib.sha256(model.booster_text.encode()).hexdigest()
    assert onnx_artifacts(model) == {"model.onnx": onnx_bytes}, "the export is deterministic"
    import onnx

    graph = onnx.load_from_string(onnx_bytes)
    meta = {p.key: p.value for p in graph.metadata_props}
    assert meta[META_LIGHTGBM_SHA256] == predictor.lightgbm_sha256
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_predictor_refuses_wrong_shapes_and_names(onnx_bytes):
    predictor = OnnxPredictor(onnx_bytes)
    with pytest.raises(ValueError, match="shape"):
        predictor.predict_proba(np.zeros((3, len(MODEL_FEATURES) - 1)))
    with pytest.raises(ValueError, match="do not match"):
        OnnxPredictor(onnx_bytes, feature_names=tuple(reversed(MODEL_FEATURES)))
    with pytest.raises(ValueError, match="features"):
        OnnxPredictor(onnx_bytes, feature_names=MODEL_FEATURES[:3])


def _train(X: np.ndarray, y: np.ndarray, **params: object) -> lgb.Booster:
    base = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 50, "verbose": -1, "num_threads": 1}
    return lgb.train({**base, **params}, lgb.Dataset(X, y), num_boost_round=5)


def test_models_without_an_exact_onnx_form_are_refused(data):
    X, y = data
    X, y = X[100:5000], y[100:5000]
    with pytest.raises(OnnxExportError, match="missing_type"):
        export_onnx(_train(X, y, zero_as_missing=True))
    Xc = X.copy()
    Xc[:, -1] = y * 3 + np.arange(len(y)) % 2  # a label-revealing integer column, declared categorical
    cat = lgb.train(
        {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 20, "verbose": -1, "num_threads": 1},
        lgb.Dataset(Xc, y, categorical_feature=[Xc.shape[1] - 1]),
        num_boost_round=5,
    )
    assert any('"=="' in json.dumps(t) for t in cat.dump_model()["tree_info"])
    with pytest.raises(OnnxExportError, match="numerical"):
        export_onnx(cat)
    with pytest.raises(OnnxExportError, match="binary"):
        export_onnx(_train(X, y, objective="regression"))
    with pytest.raises(OnnxExportError, match="num_class"):
        export_onnx(_train(X, (X[:, 0] > 0).astype(float) + (X[:, 1] > 0), objective="multiclass", num_class=3))


def test_constant_and_scaled_sigmoid_models_export(data):
    """A booster whose trees never split (all constants) and a non-unit sigmoid still agree exactly."""
    X, y = data
    X, y = X[100:3000], y[100:3000]
    flat = _train(X, y, min_data_in_leaf=10_000)
    assert all("leaf_value" in t["tree_structure"] for t in flat.dump_model()["tree_info"])
    scaled = _train(X, y, sigmoid=2.5)
    for b in (flat, scaled):
        got = OnnxPredictor(export_onnx(b), feature_names=[f"Column_{i}" for i in range(X.shape[1])])
        np.testing.assert_allclose(got.raw_proba(X), b.predict(X), rtol=0, atol=1e-12)
