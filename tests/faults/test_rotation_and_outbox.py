"""Attack / bad luck: the HMAC secret rotates, the API goes down mid-run (issue 17, table row 4).

Before the fix: after a rotation the old key was accepted only while the API's cache held it and the new key was
refused until the cache refreshed (no overlap), and ``HamiltonClient`` treated the 401 - like an outage longer
than its retries - as final, so the outcome was lost. Now the API accepts the previous version beside the current
one, and Hamilton keeps every outcome in an outbox on disk until the API has it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from huracan.adapters.secrets import ROTATION_STEPS, SecretCache
from huracan.adapters.settings import AwsSettings
from huracan.api.auth import MemoryReplayGuard, sign_headers, verify_request
from huracan.api.errors import Unauthorized
from huracan.hamilton import ApiUnavailable, HamiltonClient, OutcomeRejected
from huracan.local.api_server import LocalApiServer
from huracan.local.runtime import LocalRuntime
from huracan.registry import ModelRegistry
from tests.faults.conftest import SKIP_SCHEDULES, _reset_moto


class Ticks:
    """A monotonic counter the test moves (the secret cache's notion of elapsed time)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    _reset_moto()
    try:
        with LocalRuntime(parameters={"HuracanProfile": "demo"}, skip_schedules=SKIP_SCHEDULES) as rt:
            yield rt
            rt.aws.reset()
    finally:
        _reset_moto()


def _rotate(rt: LocalRuntime, arn: str) -> bytes:
    """One rotation as Secrets Manager drives it: the template's rotation function, step by step."""
    token = str(uuid.uuid4())
    for step in ROTATION_STEPS:
        rt.lambdas.invoke("RotateHmacSecretFunction", {"SecretId": arn, "ClientRequestToken": token, "Step": step})
    versions = boto3.client("secretsmanager").describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in versions[token]
    return _current(arn)


def _current(arn: str) -> bytes:
    text = boto3.client("secretsmanager").get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    return str(json.loads(text)["hmac_key"]).encode()


def test_promise_after_a_rotation_the_previous_key_is_still_accepted_and_the_new_one_too(stack: LocalRuntime) -> None:
    arn = stack.physical("HamiltonHmacSecret")
    old = _current(arn)
    ticks = Ticks()
    cache = SecretCache(AwsSettings.from_env(), monotonic=ticks)
    guard = MemoryReplayGuard(lambda: 0.0)
    now = 1_700_000_000.0

    def check(key: bytes) -> str:
        nonlocal now
        now += 1
        body = b'{"trade_id":"x"}'
        return verify_request(
            sign_headers(key, body, now),
            body,
            key=lambda refresh: cache.hmac_keys(arn, refresh=refresh),
            now=now,
            replay_guard=guard,
        )

    assert check(old)
    new = _rotate(stack, arn)
    assert new != old
    ticks.t += 400  # the API's cache has expired: it now reads the rotated secret
    assert check(new)  # the new key works as soon as the API has read it
    assert check(old)  # and Hamilton, still on the old key, is not refused (before: 401, outcomes lost)
    newer = _rotate(stack, arn)
    ticks.t += 400
    assert check(newer) and check(new)
    with pytest.raises(Unauthorized):  # two rotations ago: no longer accepted
        check(old)


def _outcome(i: int) -> dict[str, Any]:
    return {
        "trade_id": f"live_outbox_{i:03d}",
        "model_id": "sha256:" + "ab" * 32,
        "features": {"ret_1": 0.001 * i},
        "outcome": "WIN" if i % 2 else "LOSS",
        "pnl_bps": 10.0 if i % 2 else -8.0,
        "duration_sec": 300.0,
    }


def _rows(stack: LocalRuntime) -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=stack.physical("TradesTable"))["Items"]
    return sorted(str(i["trade_id"]["S"]) for i in items if str(i["trade_id"]["S"]).startswith("live_outbox_"))


def test_promise_the_api_stopped_mid_run_and_a_rotated_key_lose_no_outcome(stack: LocalRuntime, tmp_path: Path) -> None:
    arn = stack.physical("HamiltonHmacSecret")
    assert stack.stack is not None
    api = LocalApiServer.from_stack(stack.stack).start()
    port = api.port
    client = HamiltonClient(
        api.url,
        _current(arn),
        ModelRegistry(tmp_path / "unused"),
        sleep=lambda s: None,
        max_attempts=2,
        outbox=tmp_path / "outbox",
        key_source=lambda: _current(arn),
    )
    delivered: list[str] = []
    failed_while_down = 0
    try:
        for i in range(30):
            if i == 10:
                api.stop()  # the API goes away mid-run
            if i == 20:  # ... comes back on the same address, and the key was rotated meanwhile
                _rotate(stack, arn)
                api = LocalApiServer.from_stack(stack.stack, port=port).start()
            try:
                delivered.append(client.post(_outcome(i)).trade_id)
            except (ApiUnavailable, OutcomeRejected):
                failed_while_down += 1
        assert failed_while_down == 10 and len(client.outbox.pending()) == 10  # type: ignore[union-attr]
        # the next flushes deliver what waited; nothing twice, nothing refused for good
        for _ in range(3):
            delivered += [r.trade_id for r in client.flush(force=True)]
    finally:
        api.stop()
    assert client.outbox is not None and client.outbox.pending() == [] and client.outbox.rejected_count() == 0
    assert sorted(delivered) == [f"live_outbox_{i:03d}" for i in range(30)]
    assert _rows(stack) == sorted(delivered)  # every outcome arrived, once
