"""Every answer of the outcome API through ``chalice.test.Client`` on the real app module.

The trades and idempotency tables are created from ``template.yaml`` in moto's in-process backend
(``mock_aws``: the moto server's own backend, without sockets, which unit tests keep off); the HMAC key
is a Secrets Manager secret there. The API clock is a settable fake, so staleness is tested exactly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from huracan.adapters.errors import TransientError
from huracan.api import handlers
from huracan.api.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, compute_signature, sign_headers
from huracan.api.clock import set_api_clock
from huracan.api.settings import OutcomeApiSettings
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.local.api_server import load_app
from huracan.local.template import dynamodb_table_kwargs, load_template
from huracan.registry import ModelRegistry
from tests.unit.test_api_hamilton_client import outcome_payload, tiny_booster

KEY = "route-test-key"
T0 = epoch_s("2024-03-01T12:00:00Z")
REGION = "eu-west-2"


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture()
def clock() -> Iterator[FakeClock]:
    c = FakeClock(T0)
    set_api_clock(c)
    yield c
    set_api_clock(None)


@pytest.fixture(scope="module")
def backend() -> Iterator[dict[str, Any]]:
    """One moto backend per module (starting it is the slow part); tests get their own tables."""
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            mp.delenv(var, raising=False)
        for var, value in {
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            mp.setenv(var, value)
        with mock_aws():
            yield {"template": load_template()}


@pytest.fixture()
def api(backend: dict[str, Any], tmp_path: Path, clock: FakeClock) -> Iterator[dict[str, Any]]:
    """The app wired to fresh tables, a secret and a folder registry; yields the environment."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    suffix = uuid.uuid4().hex[:8]
    for logical_id in ("TradesTable", "IdempotencyTable"):
        ddb.create_table(**dynamodb_table_kwargs(backend["template"], logical_id, f"{logical_id}-{suffix}"))
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=f"hmac-{suffix}", SecretString=json.dumps({"hmac_key": KEY})
    )
    env = {
        "AWS_REGION": REGION,
        "TRADES_TABLE": f"TradesTable-{suffix}",
        "SHADOW_TRADES_TABLE": "unused-shadow",
        "DECISIONS_TABLE": "unused-decisions",
        "PRICES_TABLE": "unused-prices",
        "IDEMPOTENCY_TABLE": f"IdempotencyTable-{suffix}",
        "HAMILTON_HMAC_SECRET_ARN": secret["ARN"],
        "HURACAN_MODEL_PATH": str(tmp_path / "models"),
    }
    handlers.configure(handlers.ApiContext.from_settings(OutcomeApiSettings.from_env(env)))
    try:
        yield env
    finally:
        handlers.configure(None)


@pytest.fixture()
def client(api: dict[str, Any]) -> Iterator[Client]:
    with Client(load_app()) as c:
        yield c


def post(
    client: Client,
    body: bytes | dict[str, Any],
    *,
    at: float = T0,
    key: str = KEY,
    headers: dict[str, str] | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signed = sign_headers(key.encode(), raw, at)
    return client.http.post(
        "/api/trade_outcome", body=raw, headers={"Content-Type": "application/json", **signed, **(headers or {})}
    )


def trade_item(api: dict[str, Any], trade_id: str) -> dict[str, Any] | None:
    got = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=api["TRADES_TABLE"], Key={"trade_id": {"S": trade_id}}, ConsistentRead=True
    )
    item = got.get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def test_201_first_time_writes_a_live_trade(client: Client, api: dict[str, Any]) -> None:
    # Given a signed outcome with some of the seed's trades columns
    body = outcome_payload(
        "live_201", symbol="BTC-USD", side="long", mode="scalp", entry_price=42000.5, ts_open="2024-03-01T11:52:00Z"
    )
    # When it is posted
    resp = post(client, body)
    # Then it is created, and the row is the seed's trades row plus the engine's columns
    assert resp.status_code == 201, resp.body
    answer = json.loads(resp.body)
    assert answer["status"] == "created" and answer["received_at"] == "2024-03-01T12:00:00Z"
    item = trade_item(api, "live_201")
    assert item is not None
    assert item["trade_type"] == "LIVE" and item["status"] == "closed" and item["outcome"] == "WIN"
    assert item["model_id"] == body["model_id"] and item["symbol"] == "BTC-USD"
    assert float(item["pnl_bps"]) == 13.2 and float(item["entry_price"]) == 42000.5
    assert json.loads(item["features_json"]) == body["features"]
    assert (item["day"], item["ts_open"], item["received_at"]) == (
        "2024-03-01",
        "2024-03-01T11:52:00Z",
        "2024-03-01T12:00:00Z",
    )
    assert item["payload_sha256"] == answer["payload_sha256"]


def test_ts_open_is_estimated_from_duration_when_absent(client: Client, api: dict[str, Any]) -> None:
    assert post(client, outcome_payload("live_est", duration_sec=600)).status_code == 201
    item = trade_item(api, "live_est")
    assert item is not None and item["ts_open"] == "2024-03-01T11:50:00Z" and item["day"] == "2024-03-01"


def test_200_for_an_identical_repeat_even_reformatted(client: Client, api: dict[str, Any], clock: FakeClock) -> None:
    body = outcome_payload("live_200")
    first = post(client, body)
    assert first.status_code == 201
    # When the same content comes again later: other key order, 480.0 for 480, an explicit null column
    clock.t = T0 + 90
    again = {k: body[k] for k in reversed(list(body))} | {"duration_sec": 480.0, "symbol": None}
    raw = json.dumps(again, indent=2).encode()
    resp = post(client, raw, at=clock.t)
    # Then it is a duplicate, nothing is rewritten (received_at is the first one's)
    assert resp.status_code == 200, resp.body
    answer = json.loads(resp.body)
    assert answer["status"] == "duplicate" and answer["received_at"] == "2024-03-01T12:00:00Z"
    assert answer["payload_sha256"] == json.loads(first.body)["payload_sha256"]
    item = trade_item(api, "live_200")
    assert item is not None and item["received_at"] == "2024-03-01T12:00:00Z"


def test_409_for_the_same_trade_id_with_different_content(client: Client, api: dict[str, Any]) -> None:
    assert post(client, outcome_payload("live_409")).status_code == 201
    resp = post(client, outcome_payload("live_409", pnl_bps=-13.2, outcome="LOSS"), at=T0 + 1)
    assert resp.status_code == 409
    assert json.loads(resp.body) | {"message": ""} == {"error": "conflict", "field": "trade_id", "message": ""}
    item = trade_item(api, "live_409")
    assert item is not None and item["outcome"] == "WIN"  # the first write stands


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"outcome": "MAYBE"}, "outcome"),
        ({"model_id": "sha256:XYZ"}, "model_id"),
        ({"model_id": "abc" + "0" * 61}, "model_id"),
        ({"trade_id": "x" * 129}, "trade_id"),
        ({"trade_id": "bad id with spaces"}, "trade_id"),
        ({"pnl_bp": 13.2}, "pnl_bp"),
        ({"pnl_bps": "13.2"}, "pnl_bps"),
        ({"pnl_bps": 1e9}, "pnl_bps"),
        ({"duration_sec": -1}, "duration_sec"),
        ({"features": {"ret_1": True}}, "features.ret_1"),
        ({"features": {}}, "features"),
        ({"features": {"bad name!": 1.0}}, "features.bad name!.[key]"),
        ({"entry_price": 0}, "entry_price"),
        ({"side": "sideways"}, "side"),
        ({"ts_open": "2024-03-01 11:00:00"}, "ts_open"),
        ({"ts_open": "2024-02-30T11:00:00Z"}, "ts_open"),
        ({"trade_type": "SHADOW"}, "trade_type"),
    ],
)
def test_422_names_the_bad_field(client: Client, api: dict[str, Any], change: dict[str, Any], field: str) -> None:
    trade_id = f"live_422_{uuid.uuid4().hex[:6]}"
    body = outcome_payload(trade_id) | change
    resp = post(client, body)
    assert resp.status_code == 422, resp.body
    answer = json.loads(resp.body)
    assert answer["error"] == "validation_error" and answer["field"] == field
    assert trade_item(api, body["trade_id"] if isinstance(body["trade_id"], str) else trade_id) is None


def test_422_for_a_missing_required_field(client: Client) -> None:
    body = outcome_payload("live_missing")
    del body["outcome"]
    resp = post(client, body)
    assert resp.status_code == 422 and json.loads(resp.body)["field"] == "outcome"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_body"),
        (b'{"trade_id": "a", "pnl_bps": NaN}', "invalid_json"),
        (b'{"trade_id": "a", "trade_id": "b"}', "duplicate_key"),
        (b"\xff\xfe", "invalid_json"),
    ],
)
def test_400_for_a_body_that_is_not_a_json_object(client: Client, raw: bytes, error: str) -> None:
    resp = post(client, raw)
    assert resp.status_code == 400 and json.loads(resp.body)["error"] == error


def _signed(raw: bytes, at: float = T0, key: str = KEY) -> dict[str, str]:
    return {"Content-Type": "application/json", **sign_headers(key.encode(), raw, at)}


@pytest.mark.parametrize(
    ("mutate", "error", "field"),
    [
        (lambda h, raw: h.pop(TIMESTAMP_HEADER), "missing_timestamp", TIMESTAMP_HEADER),
        (lambda h, raw: h.pop(SIGNATURE_HEADER), "missing_signature", SIGNATURE_HEADER),
        (lambda h, raw: h.update({SIGNATURE_HEADER: "sha256=" + "0" * 64}), "bad_signature", SIGNATURE_HEADER),
        (
            lambda h, raw: h.update({SIGNATURE_HEADER: compute_signature(b"wrong-key", h[TIMESTAMP_HEADER], raw)}),
            "bad_signature",
            SIGNATURE_HEADER,
        ),
        (lambda h, raw: h.update({TIMESTAMP_HEADER: "1709294400"}), "bad_timestamp", TIMESTAMP_HEADER),
        # the timestamp changed after signing: the signature no longer matches
        (lambda h, raw: h.update({TIMESTAMP_HEADER: from_epoch_s(T0 + 1)}), "bad_signature", SIGNATURE_HEADER),
    ],
)
def test_401_without_valid_credentials(
    client: Client, api: dict[str, Any], mutate: Any, error: str, field: str
) -> None:
    raw = json.dumps(outcome_payload("live_401")).encode()
    headers = _signed(raw)
    mutate(headers, raw)
    resp = client.http.post("/api/trade_outcome", body=raw, headers=headers)
    assert resp.status_code == 401, resp.body
    answer = json.loads(resp.body)
    assert (answer["error"], answer["field"]) == (error, field)
    assert resp.headers.get("WWW-Authenticate", "").startswith("HMAC-SHA256")
    assert trade_item(api, "live_401") is None


def test_401_for_a_tampered_body(client: Client, api: dict[str, Any]) -> None:
    raw = json.dumps(outcome_payload("live_tamper")).encode()
    headers = _signed(raw)
    tampered = raw.replace(b"13.2", b"99.9")
    resp = client.http.post("/api/trade_outcome", body=tampered, headers=headers)
    assert resp.status_code == 401 and json.loads(resp.body)["error"] == "bad_signature"
    assert trade_item(api, "live_tamper") is None


@pytest.mark.parametrize("skew", [-301.0, 301.0, 3600.0])
def test_401_for_a_stale_or_future_timestamp(client: Client, api: dict[str, Any], skew: float) -> None:
    # Given a correctly signed request whose timestamp is more than 5 minutes from the API clock
    resp = post(client, outcome_payload("live_stale"), at=T0 - skew)
    assert resp.status_code == 401 and json.loads(resp.body)["error"] == "stale_timestamp"
    assert trade_item(api, "live_stale") is None


@pytest.mark.parametrize("skew", [-300.0, 299.0])
def test_timestamps_within_five_minutes_are_accepted(client: Client, skew: float) -> None:
    assert post(client, outcome_payload(f"live_fresh_{int(skew)}"), at=T0 - skew).status_code == 201


def test_401_for_a_replayed_signature(client: Client, api: dict[str, Any], clock: FakeClock) -> None:
    # Given a request that was accepted
    raw = json.dumps(outcome_payload("live_replay")).encode()
    headers = _signed(raw)
    assert client.http.post("/api/trade_outcome", body=raw, headers=headers).status_code == 201
    # When the very same bytes and headers are sent again a minute later (inside the window)
    clock.t = T0 + 60
    resp = client.http.post("/api/trade_outcome", body=raw, headers=dict(headers))
    # Then the replay is refused, although a re-signed repeat is a 200
    assert resp.status_code == 401 and json.loads(resp.body)["error"] == "replayed_signature"
    assert post(client, raw, at=clock.t).status_code == 200
    # And the replay store is the idempotency table
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=api["IDEMPOTENCY_TABLE"])["Items"]
    assert len(items) == 2 and all(i["id"]["S"].startswith("hamilton-signature#") for i in items)
    assert all(int(i["expiration"]["N"]) > T0 + 300 for i in items)


def test_413_for_a_body_over_64_kib(client: Client, api: dict[str, Any]) -> None:
    body = outcome_payload("live_big", tags="x" * (64 * 1024))
    resp = post(client, body)
    assert resp.status_code == 413 and json.loads(resp.body)["error"] == "body_too_large"
    assert trade_item(api, "live_big") is None


def test_tags_just_under_the_field_limit_fit(client: Client) -> None:
    assert post(client, outcome_payload("live_tags", tags="t" * 1024)).status_code == 201
    assert post(client, outcome_payload("live_tags2", tags="t" * 1025)).status_code == 422


def test_415_for_a_non_json_content_type(client: Client) -> None:
    raw = json.dumps(outcome_payload("live_415")).encode()
    headers = _signed(raw) | {"Content-Type": "text/plain"}
    assert client.http.post("/api/trade_outcome", body=raw, headers=headers).status_code == 415


def test_latest_is_404_when_nothing_is_published_then_200(client: Client, api: dict[str, Any]) -> None:
    resp = client.http.get("/api/models/latest?name=meta_label")
    assert resp.status_code == 404 and json.loads(resp.body) | {"message": ""} == {
        "error": "no_model",
        "field": "name",
        "message": "",
    }
    # Given a published model
    registry = ModelRegistry(base_path=api["HURACAN_MODEL_PATH"])
    model_id = registry.register_model(
        model=tiny_booster(),
        code_git_sha="abc",
        data_snapshot_id="snap",
        metrics={"auc": 0.71, "ece": 0.05},
        created_at="2024-02-29T00:00:00Z",
    )
    pointer = registry.latest("meta_label")
    assert pointer is not None
    # Then the route says what to load (the default name is meta_label)
    resp = client.http.get("/api/models/latest")
    assert resp.status_code == 200, resp.body
    assert json.loads(resp.body) == {
        "name": "meta_label",
        "model_id": model_id,
        "version": 1,
        "manifest_sha256": pointer.manifest_sha256,
        "created_at": "2024-02-29T00:00:00Z",
        "metrics": {"auc": 0.71, "ece": 0.05},
    }


def test_latest_refuses_a_swapped_pointer_with_503(client: Client, api: dict[str, Any]) -> None:
    registry = ModelRegistry(base_path=api["HURACAN_MODEL_PATH"])
    registry.register_model(model=tiny_booster(), code_git_sha="a", data_snapshot_id="s", metrics={"auc": 0.7})
    latest = Path(api["HURACAN_MODEL_PATH"]) / "meta_label" / "latest.json"
    data = json.loads(latest.read_text())
    latest.write_text(json.dumps(data | {"manifest_sha256": "0" * 64}))
    resp = client.http.get("/api/models/latest")
    assert resp.status_code == 503 and json.loads(resp.body)["error"] == "model_refused"


def test_latest_400_for_a_bad_name(client: Client) -> None:
    resp = client.http.get("/api/models/latest?name=..%2Fetc")
    assert resp.status_code == 400 and json.loads(resp.body)["field"] == "name"


def test_transient_backend_failures_are_503_with_retry_after() -> None:
    resp = handlers.error_response(TransientError("throttled"))
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
    assert json.loads(resp.body)["error"] == "backend_unavailable"


def test_a_missing_environment_is_a_500_naming_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    handlers.configure(None)
    monkeypatch.delenv("TRADES_TABLE", raising=False)
    with Client(load_app()) as c:
        resp = c.http.get("/api/models/latest")
    assert resp.status_code == 500 and json.loads(resp.body)["error"] == "misconfigured"
