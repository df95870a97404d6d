"""The outcome API over HTTP on 127.0.0.1, with the environment of the stack built from template.yaml.

The stack is deployed on the session's moto server (``moto_aws``); the API is served by
:class:`huracan.local.api_server.LocalApiServer` - in a thread (Chalice's local gateway) and, once, as a
real ``chalice local`` subprocess - and every status of DESIGN §6 is checked over the wire.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from huracan.adapters.kms_signer import KmsSigner
from huracan.api.auth import sign_headers
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.local.api_server import LocalApiServer
from huracan.local.aws import EmbeddedAws
from huracan.local.stack import LocalStack
from huracan.registry import ModelRegistry
from tests.unit.test_api_hamilton_client import outcome_payload, tiny_booster

T0 = epoch_s("2024-03-01T12:00:00Z")


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def stack(moto_aws: EmbeddedAws) -> Iterator[LocalStack]:
    deployed = LocalStack(moto_aws, stack_name=f"huracan-api-{uuid.uuid4().hex[:6]}").deploy()
    yield deployed


@pytest.fixture(scope="module")
def env(stack: LocalStack) -> dict[str, str]:
    assert stack.lambdas is not None
    return dict(stack.lambdas.get("OutcomeApiFunction").environment)


@pytest.fixture(scope="module")
def hmac_key(env: dict[str, str]) -> bytes:
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=env["HAMILTON_HMAC_SECRET_ARN"])
    return str(json.loads(secret["SecretString"])["hmac_key"]).encode()


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture()
def api(stack: LocalStack, clock: Clock) -> Iterator[LocalApiServer]:
    with LocalApiServer.from_stack(stack, clock=clock) as server:
        yield server


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers.items())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), dict(err.headers.items())


def post(url: str, body: dict[str, Any] | bytes, key: bytes, at: float) -> tuple[int, Any, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign_headers(key, raw, at)}
    return http("POST", f"{url}/api/trade_outcome", raw, headers)


def trade(env: dict[str, str], trade_id: str) -> dict[str, Any] | None:
    got = boto3.client("dynamodb").get_item(
        TableName=env["TRADES_TABLE"], Key={"trade_id": {"S": trade_id}}, ConsistentRead=True
    )
    item = got.get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def test_server_binds_loopback_and_stops(stack: LocalStack) -> None:
    server = LocalApiServer.from_stack(stack).start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        status, _, _ = http("GET", f"{server.url}/api/models/latest?name=nothing_here")
        assert status == 404
    finally:
        server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{server.url}/api/models/latest", timeout=2)


def test_every_post_status_over_http(api: LocalApiServer, env: dict[str, str], hmac_key: bytes, clock: Clock) -> None:
    trade_id = f"live_{uuid.uuid4().hex[:8]}"
    body = outcome_payload(trade_id, symbol="BTC-USD", mode="runner", side="long")
    # 201, and the row is in the stack's trades table
    status, answer, _ = post(api.url, body, hmac_key, T0)
    assert (status, answer["status"]) == (201, "created")
    row = trade(env, trade_id)
    assert row is not None and row["trade_type"] == "LIVE" and row["received_at"] == from_epoch_s(T0)
    # 200 for the same content, re-signed later
    clock.t = T0 + 30
    status, answer, _ = post(api.url, json.dumps(body, indent=1).encode(), hmac_key, clock.t)
    assert (status, answer["status"], answer["received_at"]) == (200, "duplicate", from_epoch_s(T0))
    # 409 for different content under the same trade_id
    status, answer, _ = post(api.url, body | {"pnl_bps": -5.0}, hmac_key, clock.t)
    assert (status, answer["field"]) == (409, "trade_id")
    # 422 naming the field, 400 for a non-object
    status, answer, _ = post(api.url, body | {"outcome": "DRAW"}, hmac_key, clock.t)
    assert (status, answer["field"]) == (422, "outcome")
    status, answer, _ = post(api.url, b"[]", hmac_key, clock.t)
    assert (status, answer["error"]) == (400, "invalid_body")
    # 413 over 64 KiB
    status, answer, _ = post(api.url, body | {"tags": "x" * 70_000}, hmac_key, clock.t)
    assert status == 413


def test_auth_failures_over_http(api: LocalApiServer, env: dict[str, str], hmac_key: bytes, clock: Clock) -> None:
    trade_id = f"live_{uuid.uuid4().hex[:8]}"
    raw = json.dumps(outcome_payload(trade_id)).encode()
    url = f"{api.url}/api/trade_outcome"
    status, answer, headers = http("POST", url, raw, {"Content-Type": "application/json"})
    assert (status, answer["error"]) == (401, "missing_timestamp") and "WWW-Authenticate" in headers
    status, answer, _ = post(api.url, raw, b"not-the-key", T0)
    assert (status, answer["error"]) == (401, "bad_signature")
    status, answer, _ = post(api.url, raw, hmac_key, T0 - 600)
    assert (status, answer["error"]) == (401, "stale_timestamp")
    # a captured request replayed byte for byte
    signed = {"Content-Type": "application/json", **sign_headers(hmac_key, raw, T0)}
    assert http("POST", url, raw, signed)[0] == 201
    clock.t = T0 + 10
    status, answer, _ = http("POST", url, raw, signed)
    assert (status, answer["error"]) == (401, "replayed_signature")
    assert trade(env, trade_id) is not None


def test_latest_model_404_then_the_published_model(api: LocalApiServer, env: dict[str, str]) -> None:
    name = f"m_{uuid.uuid4().hex[:6]}"
    status, answer, _ = http("GET", f"{api.url}/api/models/latest?name={name}")
    assert (status, answer["error"]) == (404, "no_model")
    # Given a model published to the stack's bucket, signed with the stack's KMS key
    registry = ModelRegistry(
        base_path=f"s3://{env['MODEL_BUCKET']}/models", signer=KmsSigner(env["MODEL_SIGNING_KEY_ID"])
    )
    model_id = registry.register_model(
        model=tiny_booster(),
        code_git_sha="abc",
        data_snapshot_id="s1",
        metrics={"auc": 0.66},
        name=name,
        created_at="2024-02-29T00:00:00Z",
    )
    status, answer, _ = http("GET", f"{api.url}/api/models/latest?name={name}")
    assert status == 200
    assert (answer["model_id"], answer["version"], answer["metrics"]) == (model_id, 1, {"auc": 0.66})
    assert answer["created_at"] == "2024-02-29T00:00:00Z"


def test_chalice_local_subprocess_serves_the_same_app(env: dict[str, str], hmac_key: bytes) -> None:
    # Given `chalice local` run from functions/outcome_api with the stack's environment and a fixed clock
    proc_env = env | {"HURACAN_API_CLOCK": f"fixed:{from_epoch_s(T0)}"}
    with LocalApiServer(proc_env, mode="subprocess") as server:
        assert server.url.startswith("http://127.0.0.1:")
        trade_id = f"live_{uuid.uuid4().hex[:8]}"
        body = outcome_payload(trade_id)
        assert post(server.url, body, hmac_key, T0)[0] == 201
        assert post(server.url, body, hmac_key, T0 + 1)[0] == 200
        assert post(server.url, body | {"outcome": "LOSS"}, hmac_key, T0 + 2)[0] == 409
        assert post(server.url, body, hmac_key, T0 - 301)[1]["error"] == "stale_timestamp"
        assert http("GET", f"{server.url}/api/models/latest?name=none_{trade_id[-4:]}")[0] == 404
        process = server._process
        assert process is not None
    # Then the process is gone after the block
    assert process.poll() is not None
    assert trade(env, trade_id) is not None
