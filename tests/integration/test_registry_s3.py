"""The registry on S3 + KMS, over HTTP against the moto server: the layout of DESIGN §5, checksums, signatures.

Each test makes its own bucket and key, so tests share the session's server without sharing state.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import numpy as np
import pytest

from huracan.adapters.kms_signer import KmsSigner
from huracan.adapters.s3_store import S3Store, b64_sha256
from huracan.core.bars import BarArrays
from huracan.registry import (
    Calibration,
    MetaLabelGate,
    MetaLabelModel,
    ModelRegistry,
    ModelVerificationError,
    PublicKeyVerifier,
)
from huracan.registry.errors import BlobNotFoundError
from tests.unit.test_registry_model import FEATURES, make_dataset, train_booster


@pytest.fixture(scope="module")
def data(ftx_month: BarArrays) -> tuple[np.ndarray, np.ndarray]:
    return make_dataset(ftx_month)


@pytest.fixture(scope="module")
def models(data) -> dict[str, MetaLabelModel]:
    X, y = data
    return {
        "A": MetaLabelModel.from_lightgbm(train_booster(X[:5000], y[:5000], seed=1)),
        "B": MetaLabelModel.from_lightgbm(
            train_booster(X[:7000], y[:7000], seed=2),
            calibration=Calibration.isotonic([0.3, 0.5, 0.7], [0.1, 0.5, 0.8]),
        ),
    }


@dataclass
class Env:
    bucket: str
    key_id: str
    base: str
    s3: Any
    kms: Any


@pytest.fixture
def env(moto_server: str, monkeypatch) -> Iterator[Env]:
    s3 = boto3.client("s3")
    kms = boto3.client("kms")
    bucket = f"models-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("MODEL_SIGNING_KEY_ID", key_id)
    monkeypatch.setenv("MODEL_BUCKET", bucket)
    yield Env(bucket=bucket, key_id=key_id, base=f"s3://{bucket}/models", s3=s3, kms=kms)


def register(reg: ModelRegistry, model: MetaLabelModel, day: int = 1, **kw) -> str:
    return reg.register_model(
        model,
        code_git_sha="abc123",
        data_snapshot_id=f"snapshot_2022-02-0{day}",
        metrics={"auc": 0.56},
        created_at=f"2022-02-0{day}T00:00:00Z",
        **kw,
    )


def flip_object(env: Env, key: str) -> None:
    body = bytearray(env.s3.get_object(Bucket=env.bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    env.s3.put_object(Bucket=env.bucket, Key=key, Body=bytes(body))


@pytest.mark.parametrize("algorithm", ["RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256"])
def test_s3_kms_round_trip_layout_and_checksums(env, models, data, algorithm):
    X, _ = data
    writer = ModelRegistry(env.base, signer=KmsSigner(env.key_id, algorithm=algorithm))
    model_id = register(writer, models["B"])
    hex_id = model_id.removeprefix("sha256:")

    listed = env.s3.list_objects_v2(Bucket=env.bucket)["Contents"]
    keys = sorted(o["Key"] for o in listed)
    prefix = f"models/meta_label/{hex_id}/"
    assert keys == sorted(
        [
            "models/meta_label/latest.json",
            "models/meta_label/pointers/0000000001/latest.json",  # the signed pointer, kept for good
            *(
                prefix + f
                for f in (
                    "calibration.json",
                    "features.json",
                    "manifest.json",
                    "manifest.sig",
                    "meta_label_v1.pkl",
                    "model.lgb.txt",
                )
            ),
        ]
    )
    for key in keys:  # every object carries the SHA256 checksum of its bytes
        head = env.s3.head_object(Bucket=env.bucket, Key=key, ChecksumMode="ENABLED")
        body = env.s3.get_object(Bucket=env.bucket, Key=key)["Body"].read()
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()

    # The signature is RSA over the manifest digest (RAW message) and KMS's own Verify agrees.
    manifest = env.s3.get_object(Bucket=env.bucket, Key=prefix + "manifest.json")["Body"].read()
    sig = env.s3.get_object(Bucket=env.bucket, Key=prefix + "manifest.sig")["Body"].read()
    digest = hashlib.sha256(manifest).digest()
    kms_says = env.kms.verify(
        KeyId=env.key_id, Message=digest, MessageType="RAW", Signature=sig, SigningAlgorithm=algorithm
    )
    assert kms_says["SignatureValid"]
    card = json.loads(manifest)
    assert card["signing"] == {
        "key_id": env.key_id,
        "algorithm": algorithm,
        "message": "sha256(manifest.json) digest, signed as a RAW message",
    }

    # Hamilton: only the public key, no KMS permission needed to verify
    hamilton = ModelRegistry(env.base, signer=PublicKeyVerifier(writer.signer.public_key_pem(), algorithm=algorithm))
    loaded_id, loaded = hamilton.load_latest_model("meta_label")
    assert loaded_id == model_id and hamilton.verify_model(model_id)
    np.testing.assert_array_equal(loaded.predict_proba(X[7000:]), models["B"].predict_proba(X[7000:]))
    gate = MetaLabelGate(model=loaded, threshold=0.45)
    decision = gate.evaluate(dict(zip(FEATURES, X[7000], strict=True)))
    assert decision.model_id == model_id and decision.prob == pytest.approx(
        float(loaded.predict_proba(X[7000:7001])[0])
    )


def test_default_signer_and_location_come_from_the_environment(env, models):
    reg = ModelRegistry()  # s3://$MODEL_BUCKET/models, KMS key $MODEL_SIGNING_KEY_ID
    assert reg.base_path == env.base
    model_id = register(reg, models["A"])
    assert isinstance(reg.signer, KmsSigner) and reg.signer.key_id == env.key_id
    assert ModelRegistry().load_latest_model()[0] == model_id


def test_other_kms_key_is_refused(env, models):
    model_id = register(ModelRegistry(env.base), models["A"])
    other = env.kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ModelVerificationError, match="bad signature"):
        ModelRegistry(env.base, signer=KmsSigner(other)).load_latest_model()
    assert not ModelRegistry(env.base, signer=KmsSigner(other)).verify_model(model_id)


@pytest.mark.parametrize(
    "victim", ["model.lgb.txt", "features.json", "meta_label_v2.pkl", "manifest.json", "manifest.sig"]
)
def test_tampered_object_is_refused_and_the_loaded_model_kept(env, models, victim):
    publisher = ModelRegistry(env.base)
    a = register(publisher, models["A"])
    hamilton = ModelRegistry(env.base)
    assert hamilton.load_latest_model()[0] == a
    b = register(publisher, models["B"], day=2)
    flip_object(env, f"models/meta_label/{b.removeprefix('sha256:')}/{victim}")

    with pytest.raises(ModelVerificationError, match=victim.replace(".", r"\.")):
        ModelRegistry(env.base).load_latest_model()
    assert hamilton.load_latest_model()[0] == a
    assert not publisher.verify_model(b) and publisher.verify_model(a)


def test_swapped_latest_json_is_refused(env, models):
    publisher = ModelRegistry(env.base)
    a = register(publisher, models["A"])
    hamilton = ModelRegistry(env.base)
    hamilton.load_latest_model()
    register(publisher, models["B"], day=2)
    key = "models/meta_label/latest.json"
    latest = json.loads(env.s3.get_object(Bucket=env.bucket, Key=key)["Body"].read())
    latest["model_id"] = a  # B's manifest hash with A's id
    env.s3.put_object(Bucket=env.bucket, Key=key, Body=json.dumps(latest).encode())
    with pytest.raises(ModelVerificationError, match=re.escape("bad signature on latest.json")):
        ModelRegistry(env.base).load_latest_model()
    assert hamilton.load_latest_model()[0] == a


def test_candidate_never_becomes_latest_on_s3(env, models):
    reg = ModelRegistry(env.base)
    a = register(reg, models["A"])
    b = register(reg, models["B"], day=2, stage="candidate", readiness={"ready": False})
    assert ModelRegistry(env.base).load_latest_model()[0] == a
    assert [(s.model_id, s.stage, s.is_latest) for s in reg.list_models()] == [
        (a, "champion", True),
        (b, "candidate", False),
    ]
    assert reg.promote(b).model_id == b
    assert reg.rollback().model_id == a


def test_s3_store_checksums_and_missing_keys(env):
    store = S3Store.from_url(env.base)
    store.put("x/blob.bin", b"\x00\x01payload")
    assert store.get("x/blob.bin") == b"\x00\x01payload"
    head = env.s3.head_object(Bucket=env.bucket, Key="models/x/blob.bin", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == b64_sha256(b"\x00\x01payload")
    assert store.exists("x/blob.bin") and not store.exists("x/none.bin")
    assert store.list_children("") == ["x"]
    with pytest.raises(BlobNotFoundError, match=re.escape("x/none.bin")):
        store.get("x/none.bin")


def test_mirror_to_a_folder_verifies_after_the_stack_is_gone(env, models, tmp_path):
    # Given a champion and a candidate on S3, signed by KMS
    from huracan.registry.cli import add_models_parser, run_models
    from huracan.registry.mirror import mirror_registry

    reg = ModelRegistry(env.base)
    a = register(reg, models["A"], 1)
    b = register(reg, models["B"], 2, stage="candidate")
    # When the registry is mirrored into a folder
    copied = mirror_registry(reg, tmp_path / "models")
    assert sorted(copied) == sorted([a, b])
    # Then the copy is byte for byte (same signatures) and verifies with no AWS: the bucket and key are gone
    hex_a = a.removeprefix("sha256:")
    sig = env.s3.get_object(Bucket=env.bucket, Key=f"models/meta_label/{hex_a}/manifest.sig")["Body"].read()
    assert (tmp_path / "models" / "meta_label" / hex_a / "manifest.sig").read_bytes() == sig
    env.kms.schedule_key_deletion(KeyId=env.key_id, PendingWindowInDays=7)
    parser = argparse.ArgumentParser()
    add_models_parser(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    for cmd in (["verify", a], ["verify", b], ["list"]):
        args = parser.parse_args(["models", "--base-path", str(tmp_path / "models"), *cmd])
        assert run_models(args, out=out, err=err) == 0, err.getvalue()
    assert f"OK {a}" in out.getvalue() and f"OK {b}" in out.getvalue() and "candidate" in out.getvalue()
    copy = ModelRegistry(tmp_path / "models")
    assert copy.load_latest_model()[0] == a
    # And a tampered copy fails verification
    (tmp_path / "models" / "meta_label" / hex_a / "model.lgb.txt").write_text("tampered")
    assert not ModelRegistry(tmp_path / "models").verify_model(a)
