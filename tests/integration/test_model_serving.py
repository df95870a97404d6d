"""EvaluateSignalsFunction gating with a published model, on the moto server over HTTP.

The registry is S3 + KMS on the server, the model is trained on the real FTX month and published with
its ``model.onnx``; the handler is the real ``functions/evaluate_signals/app.py``, wired from the
environment only (``MODEL_BUCKET``, ``MODEL_SIGNING_KEY_ID``, ``MODEL_REFRESH_SECONDS``). Its decisions
must carry the model's id, ``prob_source="model"`` and the probability LightGBM itself gives for the
stored feature row; a newly published model takes over at the next pointer check, not before.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import uuid
from typing import Any

import boto3
import numpy as np
import pytest

from huracan.adapters.kms_signer import KmsSigner
from huracan.adapters.repository import Repository
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.bars import BarArrays
from huracan.core.features import MODEL_FEATURES, model_features
from huracan.core.strategies import signals_history
from huracan.learning.train import MetaLabelLearner
from huracan.registry import Calibration, MetaLabelModel, ModelRegistry
from huracan.serving import onnx_artifacts
from tests.integration._stack import aws_endpoint, create_resources
from tests.integration.test_evaluate_signals import APP, Ctx, Stream, bar_payload, signal_payload
from tests.unit.test_serving_onnx import serving_dataset, train_serving_model

TOL = 1e-6


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def models(ftx_month: BarArrays) -> dict[str, MetaLabelModel]:
    X, y = serving_dataset(ftx_month)
    return {
        "A": MetaLabelModel.from_lightgbm(
            train_serving_model(X[:20_000], y[:20_000], rounds=40), calibration=Calibration.sigmoid(-2.5, 1.2)
        ),
        "B": MetaLabelModel.from_lightgbm(
            train_serving_model(X[20_000:40_000], y[20_000:40_000], rounds=40, seed=3),
            calibration=Calibration.isotonic([0.2, 0.5, 0.8], [0.1, 0.55, 0.9]),
        ),
    }


@pytest.fixture()
def env(request, monkeypatch):
    with aws_endpoint(request) as endpoint:
        resources = create_resources(endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        kms = boto3.client("kms", endpoint_url=endpoint)
        bucket = f"models-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": resources["AWS_REGION"]})
        key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        resources.update(MODEL_BUCKET=bucket, MODEL_SIGNING_KEY_ID=key_id, MODEL_REFRESH_SECONDS="300")
        for k, v in resources.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("HURACAN_MODEL_PATH", raising=False)
        monkeypatch.setenv("HURACAN_PROFILE", "demo")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "HuracanTest")
        yield resources


def load_app(env: dict[str, str]) -> Any:
    spec = importlib.util.spec_from_file_location(f"evaluate_signals_serving_{uuid.uuid4().hex}", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def batches(bars: BarArrays, start: int, count: int, size: int = 40) -> list[tuple[list[dict], list[dict]]]:
    """Consecutive batches of real bars with the strategies' signals; the first is warm-up bars only."""
    sigs = signals_history(bars)
    stream = Stream()
    out = [([stream.record(bar_payload(bars, i)) for i in range(start - 100, start)], [])]
    i = start
    while len(out) < count + 1:
        records: list[dict] = []
        payloads: list[dict] = []
        while len(payloads) < 3 or len(records) < size:
            records.append(stream.record(bar_payload(bars, i)))
            for j in np.flatnonzero(sigs.bar_idx == i):
                payload = signal_payload(bars, sigs, int(j))
                records.append(stream.record(payload))
                payloads.append(payload)
            i += 1
        out.append((records, payloads))
    return out


def decisions(env: dict[str, str], payloads: list[dict]) -> list[Any]:
    repo = Repository(bind_tables(TableSettings.from_env(env)))
    out = [repo.get_decision(p["signal_id"]) for p in payloads]
    assert all(d is not None for d in out)
    return out


def feature_rows(ds: list[Any]) -> np.ndarray:
    rows = []
    for d in ds:
        feats = json.loads(d.features_json)
        rows.append([np.nan if feats[n] is None else feats[n] for n in MODEL_FEATURES])
    return np.asarray(rows, dtype=np.float64)


def test_published_model_gates_signals_and_a_new_one_takes_over_after_the_refresh(env, models, ftx_month):
    registry = ModelRegistry(
        f"s3://{env['MODEL_BUCKET']}/models",
        signer=KmsSigner(env["MODEL_SIGNING_KEY_ID"]),
        extra_artifacts=onnx_artifacts,
    )
    app = load_app(env)
    clock = Clock()
    app.model_provider.clock = clock
    warm, *runs = batches(ftx_month, start=2000, count=4)
    assert app.lambda_handler({"Records": warm[0]}, Ctx()) == {"batchItemFailures": []}

    # Nothing published: the documented prior, no model id
    records, payloads = runs[0]
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    for d, p in zip(decisions(env, payloads), payloads, strict=True):
        assert d.prob_source == "prior" and d.model_id is None and d.prob == pytest.approx(p["confidence"])

    # A is published and seen at the next check: decisions carry its id and its LightGBM probability
    a_id = registry.register_model(models["A"], "abc123", "snap_a", {"auc": 0.55})
    clock.now += 300
    records, payloads = runs[1]
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    ds = decisions(env, payloads)
    assert {d.model_id for d in ds} == {a_id} and {d.prob_source for d in ds} == {"model"}
    want = models["A"].predict_proba(feature_rows(ds))
    assert np.max(np.abs(np.array([d.prob for d in ds]) - want)) <= TOL
    assert app.model_provider.loads == 1

    # B is published; until the next check the container keeps A, then switches
    b_id = registry.register_model(models["B"], "abc123", "snap_b", {"auc": 0.56})
    clock.now += 100
    records, payloads = runs[2]
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    assert {d.model_id for d in decisions(env, payloads)} == {a_id}
    clock.now += 200
    records, payloads = runs[3]
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    ds = decisions(env, payloads)
    assert {d.model_id for d in ds} == {b_id} and {d.prob_source for d in ds} == {"model"}
    want = models["B"].predict_proba(feature_rows(ds))
    assert np.max(np.abs(np.array([d.prob for d in ds]) - want)) <= TOL
    assert app.model_provider.loads == 2 and app.model_provider.last_error is None


def test_a_tampered_model_onnx_is_refused_and_the_prior_kept(env, models, ftx_month):
    registry = ModelRegistry(
        f"s3://{env['MODEL_BUCKET']}/models",
        signer=KmsSigner(env["MODEL_SIGNING_KEY_ID"]),
        extra_artifacts=onnx_artifacts,
    )
    a_id = registry.register_model(models["A"], "abc123", "snap_a", {"auc": 0.55})
    key = f"models/meta_label/{a_id.removeprefix('sha256:')}/model.onnx"
    s3 = boto3.client("s3")
    body = bytearray(s3.get_object(Bucket=env["MODEL_BUCKET"], Key=key)["Body"].read())
    body[len(body) // 3] ^= 0x01
    s3.put_object(Bucket=env["MODEL_BUCKET"], Key=key, Body=bytes(body))

    app = load_app(env)
    warm, (records, payloads) = batches(ftx_month, start=5000, count=1)
    assert app.lambda_handler({"Records": warm[0]}, Ctx()) == {"batchItemFailures": []}
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    assert {d.prob_source for d in decisions(env, payloads)} == {"prior"}
    assert "model.onnx" in str(app.model_provider.last_error)


def test_settings_declaring_an_extra_feature_serve_a_model_trained_on_it(env, models, ftx_month, tmp_path, monkeypatch):
    """``HURACAN_CONFIG`` declares ``extra_features = ["my_edge"]``: the handler's providers take the model's input
    columns from it, so a model trained on ``my_edge`` gates (the probability LightGBM gives for the stored row,
    ``my_edge`` included), and so does one trained without it, picking its own columns."""
    config = tmp_path / "mine.toml"
    config.write_text('extra_features = ["my_edge"]\n', "utf-8")
    monkeypatch.setenv("HURACAN_CONFIG", str(config))
    names = model_features(("my_edge",))
    X, y = serving_dataset(ftx_month)
    edge = np.where(y == 1, 1.0, -1.0) + np.random.default_rng(5).normal(0, 1.0, len(y))
    with_edge = MetaLabelModel.from_lightgbm(
        MetaLabelLearner(num_boost_round=30).fit(np.column_stack([X, edge])[:20_000], y[:20_000], names, seed=0),
        calibration=Calibration.sigmoid(-2.0, 1.0),
    )
    registry = ModelRegistry(
        f"s3://{env['MODEL_BUCKET']}/models",
        signer=KmsSigner(env["MODEL_SIGNING_KEY_ID"]),
        extra_artifacts=onnx_artifacts,
    )
    a_id = registry.register_model(models["A"], "abc123", "snap_a", {"auc": 0.55})
    app = load_app(env)
    clock = Clock()
    app.model_provider.clock = clock
    warm, *runs = batches(ftx_month, start=3000, count=2)
    assert app.lambda_handler({"Records": warm[0]}, Ctx()) == {"batchItemFailures": []}
    rng = np.random.default_rng(1)

    def with_features(records: list[dict], payloads: list[dict]) -> tuple[list[dict], list[dict]]:
        """The same batch, each signal carrying a ``my_edge`` value."""
        out, sent = [], []
        for r in records:
            payload = json.loads(base64.b64decode(r["kinesis"]["data"]))
            if payload["type"] == "signal":
                payload["features"] = {"my_edge": round(float(rng.normal()), 6)}
                sent.append(payload)
            data = base64.b64encode(json.dumps(payload).encode()).decode()
            out.append({**r, "kinesis": {**r["kinesis"], "data": data}})
        assert len(sent) == len(payloads)
        return out, sent

    def rows(ds: list[Any]) -> np.ndarray:
        docs = [json.loads(d.features_json) for d in ds]
        return np.array([[np.nan if f[n] is None else f[n] for n in names] for f in docs], dtype=np.float64)

    # the model trained without the extra serves on the wider row
    records, payloads = with_features(*runs[0])
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    ds = decisions(env, payloads)
    assert {d.model_id for d in ds} == {a_id} and {d.prob_source for d in ds} == {"model"}
    got = rows(ds)
    assert [json.loads(d.features_json)["my_edge"] for d in ds] == [p["features"]["my_edge"] for p in payloads]
    want = models["A"].predict_proba(got[:, : len(MODEL_FEATURES)])
    assert np.max(np.abs(np.array([d.prob for d in ds]) - want)) <= TOL

    # the model trained on it takes over at the next check, and sees it
    e_id = registry.register_model(with_edge, "abc123", "snap_e", {"auc": 0.6})
    clock.now += 300
    records, payloads = with_features(*runs[1])
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    ds = decisions(env, payloads)
    assert {d.model_id for d in ds} == {e_id} and {d.prob_source for d in ds} == {"model"}
    want = with_edge.predict_proba(rows(ds))
    assert np.max(np.abs(np.array([d.prob for d in ds]) - want)) <= TOL
    assert app.model_provider.last_error is None and app.model_provider.input_features == names
