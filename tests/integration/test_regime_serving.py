"""EvaluateSignalsFunction classifying regimes with a published detector, on the moto server over HTTP.

The detector is trained on the real FTX month and published to the S3 + KMS registry under its own name
(``models/regime_detector/<sha256>/...`` + ``latest.json``), with ``model.onnx``. The handler is the real
``functions/evaluate_signals/app.py`` wired from the environment only: until a detector that replaces the
rule is published (a candidate does not count) decisions say ``regime_source="rule"``; after the next
pointer check they say ``detector:<model_id>`` and carry the detector's regime for the stored feature row,
which differs from the rule's on some signals. A tampered ``model.onnx`` is refused and the rule stays.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator

import boto3
import numpy as np
import pytest

from huracan.adapters.kms_signer import KmsSigner
from huracan.core.bars import BarArrays
from huracan.core.features import BAR_FEATURES, features_history
from huracan.core.regime import RuleRegime
from huracan.core.strategies import signals_history
from huracan.learning.regime_detector import RegimeDetectorReport, publish_regime_detector, train_regime_detector
from huracan.registry import ModelRegistry
from huracan.registry.detector import REGIME_DETECTOR_NAME
from tests.integration._stack import aws_endpoint, create_resources
from tests.integration.test_evaluate_signals import Ctx
from tests.integration.test_model_serving import Clock, batches, decisions, load_app


@pytest.fixture()
def env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The stack's tables and queues plus a model bucket and a KMS signing key, in the environment only."""
    with aws_endpoint(request) as endpoint:
        resources = create_resources(endpoint)
        bucket = f"models-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": resources["AWS_REGION"]},  # type: ignore[typeddict-item]
        )
        kms = boto3.client("kms", endpoint_url=endpoint)
        key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        resources.update(MODEL_BUCKET=bucket, MODEL_SIGNING_KEY_ID=key_id, MODEL_REFRESH_SECONDS="300")
        for k, v in resources.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("HURACAN_MODEL_PATH", raising=False)
        monkeypatch.setenv("HURACAN_PROFILE", "demo")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "HuracanTest")
        yield resources


@pytest.fixture(scope="module")
def report(ftx_month: BarArrays) -> RegimeDetectorReport:
    return train_regime_detector(ftx_month)


@pytest.fixture(scope="module")
def disagreement(ftx_month: BarArrays, report: RegimeDetectorReport) -> int:
    """A signal bar (after the warm-up) where the detector and the rule name different regimes."""
    assert report.detector is not None
    h = features_history(ftx_month)
    k = signals_history(ftx_month).bar_idx
    k = k[k > 3000]
    differ = k[report.detector.codes(h[k]) != RuleRegime().codes(h[k])]
    assert len(differ) > 0
    return int(differ[0])


def registry_of(resources: dict[str, str]) -> ModelRegistry:
    bucket, key = resources["MODEL_BUCKET"], resources["MODEL_SIGNING_KEY_ID"]
    return ModelRegistry(f"s3://{bucket}/models", signer=KmsSigner(key))


def publish(registry: ModelRegistry, report: RegimeDetectorReport, *, ready: bool) -> str:
    return publish_regime_detector(
        registry, dataclasses.replace(report, replaces_rule=ready), code_git_sha="abc123", data_snapshot_id="bars:t"
    )


def stored_rows(ds: list) -> np.ndarray:  # type: ignore[type-arg]
    rows = [[np.nan if (v := json.loads(d.features_json)[n]) is None else v for n in BAR_FEATURES] for d in ds]
    return np.asarray(rows, dtype=np.float64)


def test_a_published_detector_replaces_the_rule_after_the_refresh(env, report, disagreement, ftx_month):
    registry = registry_of(env)
    app = load_app(env)
    clock = Clock()
    app.regime_provider.clock = clock

    # a candidate (does not replace the rule) is stored but never served
    publish(registry, report, ready=False)
    warm, (records, payloads) = batches(ftx_month, start=2000, count=1)
    assert app.lambda_handler({"Records": warm[0]}, Ctx()) == {"batchItemFailures": []}
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    assert {d.regime_source for d in decisions(env, payloads)} == {"rule"}

    # the champion is seen at the next pointer check: decisions carry its id and its regimes
    det_id = publish(registry, report, ready=True)
    assert registry.latest(REGIME_DETECTOR_NAME).model_id == det_id  # type: ignore[union-attr]
    assert registry.latest("meta_label") is None
    clock.now += 300
    warm, (records, payloads) = batches(ftx_month, start=disagreement - 2, count=1)
    assert app.lambda_handler({"Records": warm[0]}, Ctx()) == {"batchItemFailures": []}
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    ds = decisions(env, payloads)
    assert {d.regime_source for d in ds} == {f"detector:{det_id}"}
    rows = stored_rows(ds)
    assert report.detector is not None
    assert [d.regime for d in ds] == report.detector.classify(rows).tolist()
    assert [d.regime for d in ds] != RuleRegime().classify(rows).tolist(), "the detector overrode the rule"
    assert app.regime_provider.loads == 1 and app.regime_provider.last_error is None
    assert app.model_provider() is None, "no meta-label model: the prior still gates"


def test_a_tampered_detector_is_refused_and_the_rule_stays(env, report, ftx_month):
    det_id = publish(registry_of(env), report, ready=True)
    key = f"models/{REGIME_DETECTOR_NAME}/{det_id.removeprefix('sha256:')}/model.onnx"
    s3 = boto3.client("s3")
    body = bytearray(s3.get_object(Bucket=env["MODEL_BUCKET"], Key=key)["Body"].read())
    body[len(body) // 3] ^= 0x01
    s3.put_object(Bucket=env["MODEL_BUCKET"], Key=key, Body=bytes(body))

    app = load_app(env)
    warm, (records, payloads) = batches(ftx_month, start=5000, count=1)
    assert app.lambda_handler({"Records": warm[0]}, Ctx()) == {"batchItemFailures": []}
    assert app.lambda_handler({"Records": records}, Ctx()) == {"batchItemFailures": []}
    assert {d.regime_source for d in decisions(env, payloads)} == {"rule"}
    assert "model.onnx" in str(app.regime_provider.last_error)
