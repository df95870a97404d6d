"""Model publishing under failure and attack: a dying upload or a damaged model never reaches Hamilton."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.local.faults import FaultInjector, InjectedCrash
from huracan.local.runtime import LocalRuntime
from huracan.registry import MetaLabelModel, ModelRegistry, ModelVerificationError
from huracan.registry.signing import LocalKeySigner
from tests.faults.conftest import SKIP_SCHEDULES, _reset_moto
from tests.unit.test_registry_model import make_dataset, train_booster

NAME = "meta_label"


@pytest.fixture(scope="module")
def models(ftx_month: BarArrays) -> list[MetaLabelModel]:
    X, y = make_dataset(ftx_month)
    return [MetaLabelModel.from_lightgbm(train_booster(X[:4000], y[:4000], seed=s, rounds=8)) for s in range(1, 6)]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    _reset_moto()
    try:
        with LocalRuntime(parameters={"HuracanProfile": "demo"}, skip_schedules=SKIP_SCHEDULES) as rt:
            yield rt
            rt.aws.reset()
    finally:
        _reset_moto()


def _registry(rt: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    monkeypatch.setenv("MODEL_SIGNING_KEY_ID", rt.physical("ModelSigningKey"))
    return ModelRegistry(base_path=f"s3://{rt.physical('ModelBucket')}/models")


def _publish(reg: ModelRegistry, model: MetaLabelModel, day: int) -> str:
    return reg.register_model(
        model, "abc123", f"snapshot_2022-01-{day:02d}", {"auc": 0.55}, created_at=f"2022-01-{day:02d}T00:05:00Z"
    )


def _hamilton(rt: LocalRuntime) -> Any:
    from huracan.hamilton import HamiltonClient

    registry = ModelRegistry(base_path=f"s3://{rt.physical('ModelBucket')}/models")
    return HamiltonClient("http://127.0.0.1:9", b"unused", registry, clock=rt.clock.now, sleep=lambda s: None)


def _get(rt: LocalRuntime, key: str) -> bytes:
    body = boto3.client("s3").get_object(Bucket=rt.physical("ModelBucket"), Key=f"models/{key}")["Body"]
    data: bytes = body.read()
    return data


def _put(rt: LocalRuntime, key: str, data: bytes) -> None:
    boto3.client("s3").put_object(Bucket=rt.physical("ModelBucket"), Key=f"models/{key}", Body=data)


def test_promise_a_training_task_dying_mid_upload_leaves_latest_and_hamilton_unchanged(
    stack: LocalRuntime, models: list[MetaLabelModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = stack
    reg = _registry(rt, monkeypatch)
    champion = _publish(reg, models[0], 1)
    hamilton = _hamilton(rt)
    assert hamilton.load_latest() == champion
    latest_before = _get(rt, f"{NAME}/latest.json")
    injector = FaultInjector.track_only(rt).install()
    exits: list[int] = []

    def nightly(crash_after: int | None) -> Any:
        def task(event: dict[str, Any]) -> None:  # what the Fargate container runs at 00:00
            try:
                with injector.container_task("TrainingCluster", crash_after_writes=crash_after):
                    _publish(_registry(rt, monkeypatch), models[1], 2)
                exits.append(0)
            except InjectedCrash:
                exits.append(137)  # killed: SIGKILL, as ECS reports a task stopped mid-run

        return task

    try:
        # killed after 1..6 writes: mid-files (4 files), after the manifest, after the signature; the 7th
        # write is latest.json itself, the publication
        for n in range(1, 7):
            rt.scheduler.schedules.clear()
            rt.scheduler.add("NightlyTrainingRule", "cron(0 0 * * ? *)", nightly(n))
            rt.settle(rt.clock.now() + 86400)
            assert _get(rt, f"{NAME}/latest.json") == latest_before, f"latest.json changed by a task killed after {n}"
            assert hamilton.load_latest() == champion
            assert hamilton.model_id == champion
            assert ModelRegistry(base_path=reg.base_path).load_latest_model(NAME, strict=True)[0] == champion
        assert exits == [137] * 6 and injector.stats.crashed_invocations == 6
        # the next night runs to the end: only now does latest move, and Hamilton adopts the new model
        rt.scheduler.schedules.clear()
        rt.scheduler.add("NightlyTrainingRule", "cron(0 0 * * ? *)", nightly(None))
        rt.settle(rt.clock.now() + 86400)
    finally:
        injector.uninstall()
    assert exits[-1] == 0
    assert _get(rt, f"{NAME}/latest.json") != latest_before
    assert hamilton.load_latest() == models[1].model_id != champion


def _damage_truncate(rt: LocalRuntime, key: str, _: Path) -> None:
    data = _get(rt, key)
    _put(rt, key, data[: len(data) // 2])


def _damage_flip(rt: LocalRuntime, key: str, _: Path) -> None:
    data = bytearray(_get(rt, key))
    i = data.index(b"threshold=") + len(b"threshold=")  # change one split threshold of the first tree
    data[i] = ord("9") if data[i] != ord("9") else ord("8")
    _put(rt, key, bytes(data))


def _damage_resign(rt: LocalRuntime, key: str, tmp: Path) -> None:
    """Rewrite the model *and* re-sign the manifest, with a key that is not the registry's."""
    import hashlib
    import json

    folder = key.rsplit("/", 1)[0]
    _damage_flip(rt, key, tmp)
    manifest = json.loads(_get(rt, f"{folder}/manifest.json"))
    data = _get(rt, key)
    manifest["files"]["model.lgb.txt"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    raw = json.dumps(manifest, sort_keys=True, indent=2).encode()
    _put(rt, f"{folder}/manifest.json", raw)
    _put(rt, f"{folder}/manifest.sig", LocalKeySigner(tmp / "attacker.pem").sign(hashlib.sha256(raw).digest()))


@pytest.mark.parametrize(
    "damage", [_damage_flip, _damage_truncate, _damage_resign], ids=["tampered", "truncated", "wrong-signature"]
)
def test_promise_a_tampered_truncated_or_wrongly_signed_model_is_refused(
    stack: LocalRuntime, models: list[MetaLabelModel], damage: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = stack
    reg = _registry(rt, monkeypatch)
    good = _publish(reg, models[2], 10)
    hamilton = _hamilton(rt)
    assert hamilton.load_latest() == good
    bad = _publish(reg, models[{"_damage_flip": 3, "_damage_truncate": 4, "_damage_resign": 0}[damage.__name__]], 11)
    assert bad != good
    damage(rt, f"{NAME}/{bad.split(':', 1)[1]}/model.lgb.txt", tmp_path)
    # Hamilton, already running, keeps its model and knows why it refused the new one
    assert hamilton.load_latest() == good and hamilton.model_id == good
    assert hamilton.registry.last_errors.get(NAME) is not None or not hamilton.registry.verify_model(bad)
    # a fresh consumer (a Hamilton restart) refuses to load it at all; the registry's own check agrees
    with pytest.raises(ModelVerificationError):
        ModelRegistry(base_path=reg.base_path).load_latest_model(NAME)
    assert reg.verify_model(bad) is False
    assert np.isfinite(hamilton.gate.model.predict_proba(np.zeros((1, len(hamilton.gate.model.feature_names))))).all()
