"""Attack: a bucket writer without the signing key moves ``latest.json`` (issue 17, table row 1).

Two moves, as the attack ran: ``latest.json`` rewritten to name an older signed model (the genuine, signed
pointer of yesterday copied back, and a hand-written pointer), or a stored candidate. Each is tried on an S3
registry on the local stack (KMS key from the template) and on a folder registry, against a fresh Hamilton, a
running Hamilton, and the evaluate Lambda's model provider, fresh and warm. Before the fix every one of them
switched; now every one keeps (or refuses to start on) the genuine champion.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.local.runtime import LocalRuntime
from huracan.registry import MetaLabelModel, ModelRegistry, ModelVerificationError
from huracan.serving import onnx_artifacts
from huracan.serving.provider import RegistryModelProvider
from tests.faults.conftest import SKIP_SCHEDULES, _reset_moto
from tests.unit.test_serving_onnx import serving_dataset, train_serving_model

NAME = "meta_label"


@pytest.fixture(scope="module")
def models(ftx_month: BarArrays) -> list[MetaLabelModel]:
    X, y = serving_dataset(ftx_month)
    return [
        MetaLabelModel.from_lightgbm(
            train_serving_model(X[i * 5000 : (i + 1) * 5000], y[i * 5000 : (i + 1) * 5000], rounds=6, seed=i)
        )
        for i in range(3)
    ]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    _reset_moto()
    try:
        with LocalRuntime(parameters={"HuracanProfile": "demo"}, skip_schedules=SKIP_SCHEDULES) as rt:
            yield rt
            rt.aws.reset()
    finally:
        _reset_moto()


class Bucket:
    """Raw access to the registry's objects, as an intruder with write access has it (no signing key)."""

    def __init__(self, get: Callable[[str], bytes], put: Callable[[str, bytes], None]) -> None:
        self.get = get
        self.put = put


def _s3_world(rt: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> tuple[Callable[[], ModelRegistry], Bucket]:
    monkeypatch.setenv("MODEL_SIGNING_KEY_ID", rt.physical("ModelSigningKey"))
    bucket = rt.physical("ModelBucket")
    prefix = f"attack-{len(rt.__dict__)}-{np.random.default_rng().integers(1 << 30)}"
    base = f"s3://{bucket}/{prefix}"
    s3 = boto3.client("s3")

    def get(key: str) -> bytes:
        data: bytes = s3.get_object(Bucket=bucket, Key=f"{prefix}/{key}")["Body"].read()
        return data

    def put(key: str, data: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=data)

    return (lambda: ModelRegistry(base_path=base, extra_artifacts=onnx_artifacts)), Bucket(get, put)


def _folder_world(root: Path) -> tuple[Callable[[], ModelRegistry], Bucket]:
    def get(key: str) -> bytes:
        return (root / key).read_bytes()

    def put(key: str, data: bytes) -> None:
        (root / key).write_bytes(data)

    return (lambda: ModelRegistry(base_path=root, extra_artifacts=onnx_artifacts)), Bucket(get, put)


@pytest.fixture(params=["s3", "folder"])
def world(
    request: pytest.FixtureRequest, stack: LocalRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[[], ModelRegistry], Bucket]:
    if request.param == "s3":
        return _s3_world(stack, monkeypatch)
    return _folder_world(tmp_path / "models")


def _publish(reg: ModelRegistry, model: MetaLabelModel, day: int, stage: str = "champion") -> str:
    return reg.register_model(
        model,
        "abc123",
        f"snapshot_2022-01-{day:02d}",
        {"auc": 0.55},
        stage=stage,  # type: ignore[arg-type]
        created_at=f"2022-01-{day:02d}T00:05:00Z",
    )


def _hamilton(make: Callable[[], ModelRegistry]) -> Any:
    from huracan.hamilton import HamiltonClient

    return HamiltonClient("http://127.0.0.1:9", b"unused", make(), sleep=lambda s: None)


def _provider(make: Callable[[], ModelRegistry]) -> RegistryModelProvider:
    return RegistryModelProvider(make, refresh_seconds=0)


def _forged(bucket: Bucket, target: str, target_version: int) -> bytes:
    """The current pointer with another model's id, version and manifest hash (signature kept or dropped)."""
    pointer = json.loads(bucket.get(f"{NAME}/latest.json"))
    hex_id = target.removeprefix("sha256:")
    import hashlib

    pointer.update(
        model_id=target,
        version=target_version,
        manifest_sha256=hashlib.sha256(bucket.get(f"{NAME}/{hex_id}/manifest.json")).hexdigest(),
    )
    return json.dumps(pointer).encode()


def _unsigned(data: bytes) -> bytes:
    pointer = json.loads(data)
    pointer.pop("signature", None)
    return json.dumps(pointer).encode()


@pytest.mark.parametrize("attack", ["replay_old_signed_pointer", "rewrite_to_older", "point_at_candidate"])
def test_promise_a_bucket_writer_cannot_move_latest_for_hamilton_or_the_lambda(
    world: tuple[Callable[[], ModelRegistry], Bucket], models: list[MetaLabelModel], attack: str
) -> None:
    make, bucket = world
    publisher = make()
    old = _publish(publisher, models[0], 1)
    old_pointer = bucket.get(f"{NAME}/latest.json")
    champion = _publish(publisher, models[1], 2)
    candidate = _publish(publisher, models[2], 3, stage="candidate")
    running_hamilton = _hamilton(make)
    warm_lambda = _provider(make)
    assert running_hamilton.load_latest() == champion
    served = warm_lambda()
    assert served is not None and served[0] == champion

    # When an intruder who can write the bucket, but holds no key, moves the pointer
    if attack == "replay_old_signed_pointer":
        bucket.put(f"{NAME}/latest.json", old_pointer)  # a genuine, signed pointer of the day before
    elif attack == "rewrite_to_older":
        bucket.put(f"{NAME}/latest.json", _unsigned(_forged(bucket, old, 1)))
    else:
        bucket.put(f"{NAME}/latest.json", _forged(bucket, candidate, 3))  # the champion's signature kept

    # Then the running Hamilton and the warm Lambda keep the champion, and say why
    assert running_hamilton.load_latest() == champion
    assert isinstance(running_hamilton.registry.last_errors[NAME], ModelVerificationError)
    served = warm_lambda()
    assert served is not None and served[0] == champion and warm_lambda.last_error is not None
    # a fresh Hamilton refuses to start on the moved pointer, a fresh Lambda container serves the prior
    with pytest.raises(ModelVerificationError, match=r"latest\.json"):
        _hamilton(make).load_latest()
    cold_lambda = _provider(make)
    assert cold_lambda() is None and cold_lambda.last_error is not None
    # and the key holder's own rollback still works, and is followed by everyone
    bucket.put(f"{NAME}/latest.json", bucket.get(f"{NAME}/pointers/{2:010d}/latest.json"))
    rolled = make().rollback(NAME)
    assert rolled.model_id == old and rolled.reason == "rollback"
    assert running_hamilton.load_latest() == old
    served = warm_lambda()
    assert served is not None and served[0] == old
    assert _hamilton(make).load_latest() == old


def test_promise_a_candidate_becomes_latest_only_by_a_signed_promotion(
    world: tuple[Callable[[], ModelRegistry], Bucket], models: list[MetaLabelModel]
) -> None:
    make, bucket = world
    publisher = make()
    champion = _publish(publisher, models[0], 1)
    candidate = _publish(publisher, models[1], 2, stage="candidate")
    assert _hamilton(make).load_latest() == champion
    publisher.promote(candidate)
    pointer = json.loads(bucket.get(f"{NAME}/latest.json"))
    assert pointer["stage"] == "champion" and pointer["manifest_stage"] == "candidate" and pointer["serial"] == 2
    assert _hamilton(make).load_latest() == candidate


def test_promise_a_restarted_hamilton_refuses_a_replay_even_when_the_pointer_history_is_deleted(
    tmp_path: Path, models: list[MetaLabelModel]
) -> None:
    """An intruder who can also delete: the newest kept pointer goes, yesterday's comes back. The history can no
    longer tell; Hamilton's own state folder (beside its outbox) still knows the serial it followed."""
    from huracan.hamilton import HamiltonClient

    make, bucket = _folder_world(tmp_path / "models")
    publisher = make()
    old = _publish(publisher, models[0], 1)
    old_pointer = bucket.get(f"{NAME}/latest.json")
    champion = _publish(publisher, models[1], 2)
    state = tmp_path / "hamilton-state"
    first = HamiltonClient("http://127.0.0.1:9", b"unused", make(), outbox=state, sleep=lambda s: None)
    assert first.load_latest() == champion
    # the attack: the newer signed pointer deleted from the history, yesterday's signed pointer put back
    (tmp_path / "models" / NAME / "pointers" / f"{2:010d}" / "latest.json").unlink()
    bucket.put(f"{NAME}/latest.json", old_pointer)
    restarted = HamiltonClient("http://127.0.0.1:9", b"unused", make(), outbox=state, sleep=lambda s: None)
    with pytest.raises(ModelVerificationError, match="older pointer"):
        restarted.load_latest()
    # (a Hamilton without its state folder has nothing left to compare with: the residual case, documented)
    assert HamiltonClient("http://127.0.0.1:9", b"unused", make(), sleep=lambda s: None).load_latest() == old
