"""RegistryModelProvider on a folder registry: load once, re-check on a schedule, refuse bad versions."""

from __future__ import annotations

import json
import logging

import lightgbm as lgb
import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.features import MODEL_FEATURES, model_features
from huracan.learning.train import MetaLabelLearner
from huracan.registry import Calibration, MetaLabelModel, ModelRegistry
from huracan.serving import RegistryModelProvider, export_onnx, onnx_artifacts, provider_from_env
from huracan.serving.challengers import RegistryChallengerProvider
from tests.unit.test_serving_onnx import serving_dataset, train_serving_model

TOL = 1e-6


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def data(ftx_month: BarArrays) -> tuple[np.ndarray, np.ndarray]:
    return serving_dataset(ftx_month)


@pytest.fixture(scope="module")
def models(data) -> dict[str, MetaLabelModel]:
    X, y = data
    return {
        "A": MetaLabelModel.from_lightgbm(
            train_serving_model(X[:20_000], y[:20_000], rounds=40), calibration=Calibration.sigmoid(-2.0, 1.0)
        ),
        "B": MetaLabelModel.from_lightgbm(
            train_serving_model(X[10_000:30_000], y[10_000:30_000], rounds=40, seed=1),
            calibration=Calibration.isotonic([0.3, 0.5, 0.7], [0.1, 0.5, 0.9]),
        ),
    }


def publish(registry: ModelRegistry, model: MetaLabelModel) -> str:
    return registry.register_model(model, code_git_sha="abc123", data_snapshot_id="snap", metrics={"auc": 0.5})


def test_registration_hook_writes_a_signed_onnx_outside_the_model_id(tmp_path, models):
    registry = ModelRegistry(tmp_path, extra_artifacts=onnx_artifacts)
    model_id = publish(registry, models["A"])
    assert model_id == models["A"].model_id, "model.onnx does not change the id (DESIGN §5)"
    folder = tmp_path / "meta_label" / model_id.split(":")[1]
    manifest = json.loads((folder / "manifest.json").read_bytes())
    assert "model.onnx" in manifest["files"] and (folder / "model.onnx").is_file()
    assert registry.verify_model(model_id)
    (folder / "model.onnx").write_bytes((folder / "model.onnx").read_bytes()[:-1] + b"\x00")
    assert not registry.verify_model(model_id), "the signed manifest covers model.onnx"
    with pytest.raises(ValueError, match="reserved"):
        ModelRegistry(tmp_path / "x").register_model(
            models["B"], "abc", "snap", {}, extra_files={"calibration.json": b"{}"}
        )


def test_no_published_model_means_the_prior(tmp_path):
    provider = RegistryModelProvider(ModelRegistry(tmp_path), clock=Clock())
    assert provider() is None and provider.last_error is None


def test_loads_once_refreshes_on_schedule_and_switches(tmp_path, models, data):
    X, _ = data
    registry = ModelRegistry(tmp_path, extra_artifacts=onnx_artifacts)
    clock = Clock()
    provider = RegistryModelProvider(lambda: ModelRegistry(tmp_path), refresh_seconds=60, clock=clock)
    assert provider() is None
    publish(registry, models["A"])
    assert provider() is None, "within the refresh interval the pointer is not read again"
    clock.now += 60
    got = provider()
    assert got is not None and got[0] == models["A"].model_id
    assert np.max(np.abs(got[1](X) - models["A"].predict_proba(X))) <= TOL
    checks, loads = provider.checks, provider.loads
    for _ in range(5):
        clock.now += 61
        assert provider() is not None
    assert provider.loads == loads == 1 and provider.checks == checks + 5, "same pointer: no reload"

    publish(registry, models["B"])
    clock.now += 30
    assert provider()[0] == models["A"].model_id  # type: ignore[index]
    clock.now += 30
    model_id, predict = provider()  # type: ignore[misc]
    assert model_id == models["B"].model_id and provider.loads == 2
    assert np.max(np.abs(predict(X) - models["B"].predict_proba(X))) <= TOL


def test_refused_versions_keep_the_served_model(tmp_path, models, caplog):
    registry = ModelRegistry(tmp_path, extra_artifacts=onnx_artifacts)
    publish(registry, models["A"])
    provider = RegistryModelProvider(ModelRegistry(tmp_path), refresh_seconds=0, clock=Clock())
    assert provider()[0] == models["A"].model_id  # type: ignore[index]

    # a version published without model.onnx cannot be served: refused, A kept
    plain = ModelRegistry(tmp_path)
    publish(plain, models["B"])
    caplog.set_level(logging.ERROR)
    assert provider()[0] == models["A"].model_id  # type: ignore[index]
    assert "model.onnx" in str(provider.last_error) and "refused" in caplog.text

    # a model.onnx exported from another booster, even though signed: refused
    other = MetaLabelModel.from_lightgbm(
        lgb.Booster(model_str=models["A"].booster_text), calibration=Calibration.sigmoid(-1.0, 0.0)
    )
    wrong = export_onnx(lgb.Booster(model_str=models["B"].booster_text))
    publish_id = ModelRegistry(tmp_path).register_model(other, "abc", "snap", {}, extra_files={"model.onnx": wrong})
    assert provider()[0] == models["A"].model_id  # type: ignore[index]
    assert "not exported from" in str(provider.last_error) and publish_id in str(provider.last_error)

    # a flipped byte in the served file of a proper version: refused
    good = ModelRegistry(tmp_path, extra_artifacts=onnx_artifacts)
    third = MetaLabelModel.from_lightgbm(lgb.Booster(model_str=models["B"].booster_text))
    third_id = publish(good, third)
    path = tmp_path / "meta_label" / third_id.split(":")[1] / "model.onnx"
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))
    assert provider()[0] == models["A"].model_id  # type: ignore[index]
    assert "sha256 mismatch" in str(provider.last_error)

    # restored: served from the next check on
    path.write_bytes(onnx_artifacts(third)["model.onnx"])
    assert provider()[0] == third_id  # type: ignore[index]
    assert provider.last_error is None


def test_input_columns_are_mapped_by_name(tmp_path, models, data):
    """A model over a subset / another order of MODEL_FEATURES gets its columns picked by name."""
    X, y = data
    order = [3, 0, 7, 16, 12]
    names = [MODEL_FEATURES[i] for i in order]
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 50, "verbose": -1, "num_threads": 1},
        lgb.Dataset(X[:8000][:, order], y[:8000], feature_name=names),
        num_boost_round=10,
    )
    model = MetaLabelModel.from_lightgbm(booster)
    publish(ModelRegistry(tmp_path, extra_artifacts=onnx_artifacts), model)
    got = RegistryModelProvider(ModelRegistry(tmp_path), clock=Clock())()
    assert got is not None
    np.testing.assert_allclose(got[1](X), model.predict_proba(X[:, order]), rtol=0, atol=TOL)

    narrow = RegistryModelProvider(ModelRegistry(tmp_path), clock=Clock(), input_features=MODEL_FEATURES[:5])
    assert narrow() is None and "does not compute" in str(narrow.last_error)


def test_a_model_trained_on_extra_features_serves_once_the_service_names_its_columns(tmp_path, models, data):
    """Settings declaring ``extra_features`` make the service's matrix ``model_features(extras)``: a model trained
    on them is served (its columns picked by name), champion or challenger, and one trained without them still
    serves on that matrix. A service that does not compute the extra refuses such a model, naming it."""
    X, y = data
    names = model_features(("my_edge",))
    edge = np.where(y == 1, 1.0, -1.0) + np.random.default_rng(0).normal(0, 1.0, len(y))
    wide = np.column_stack([X, edge])
    fitted = [
        MetaLabelModel.from_lightgbm(MetaLabelLearner(num_boost_round=20).fit(wide[a:b], y[a:b], names, seed=0))
        for a, b in ((0, 15_000), (15_000, 30_000))
    ]
    assert fitted[0].feature_names == names
    registry = ModelRegistry(tmp_path, extra_artifacts=onnx_artifacts)

    # a model without extras, on the wider matrix
    publish(registry, models["A"])
    provider = RegistryModelProvider(ModelRegistry(tmp_path), clock=Clock(), refresh_seconds=0)
    provider.use_input_features(names)
    got = provider()
    assert got is not None and got[0] == models["A"].model_id
    np.testing.assert_allclose(got[1](wide[:500]), models["A"].predict_proba(X[:500]), rtol=0, atol=TOL)

    # the champion with the extra
    e_id = publish(registry, fitted[0])
    blind = RegistryModelProvider(ModelRegistry(tmp_path), clock=Clock())
    assert blind() is None and "does not compute" in str(blind.last_error) and "my_edge" in str(blind.last_error)
    got = provider()
    assert got is not None and got[0] == e_id
    np.testing.assert_allclose(got[1](wide[:500]), fitted[0].predict_proba(wide[:500]), rtol=0, atol=TOL)

    # a challenger with the extra, scored in shadow
    c_id = registry.register_model(fitted[1], "abc123", "snap_c", {"auc": 0.5}, stage="challenger")
    registry.set_challengers("meta_label", [{"model_id": c_id}], [])
    shadow = RegistryChallengerProvider(ModelRegistry(tmp_path), clock=Clock(), refresh_seconds=0)
    assert shadow() == [] and "my_edge" in shadow.refused[c_id]
    shadow.use_input_features(names)
    ((cid, predict),) = shadow()
    assert cid == c_id
    np.testing.assert_allclose(predict(wide[:500]), fitted[1].predict_proba(wide[:500]), rtol=0, atol=TOL)


def test_provider_from_env(tmp_path):
    assert provider_from_env({}) is None
    p = provider_from_env({"HURACAN_MODEL_PATH": str(tmp_path), "MODEL_REFRESH_SECONDS": "5"})
    assert p is not None and p.refresh_seconds == 5.0 and p.registry.base_path == str(tmp_path)
    s3 = provider_from_env({"MODEL_BUCKET": "bkt", "MODEL_NAME": "other"})
    assert s3 is not None and s3.name == "other" and s3.refresh_seconds == 60.0
    assert not isinstance(s3._registry, ModelRegistry), "built on first use (the S3 path is tested on moto)"
    with pytest.raises(ValueError, match="MODEL_REFRESH_SECONDS"):
        provider_from_env({"MODEL_BUCKET": "bkt", "MODEL_REFRESH_SECONDS": "soon"})
