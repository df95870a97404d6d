"""Intruders get nowhere: schemathesis against the committed OpenAPI document, over HTTP on loopback.

The Chalice app (the one SAM deploys) is served by the local API server with the environment of the
stack built from template.yaml on moto. schemathesis generates requests from openapi/outcome_api.yaml;
a third of them are sent as generated (random or missing signature headers), two thirds are signed
correctly with a fresh timestamp so the body validation behind the signature is fuzzed too. Promises:
no 5xx, every status and body as the document says, every rejection a 4xx whose body names the problem.
Then the attacks by name: unsigned, stale, replayed, tampered and oversized requests are refused.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from huracan.api.auth import sign_headers
from huracan.core.timeutil import epoch_s
from huracan.local.api_server import LocalApiServer
from huracan.local.runtime import LocalRuntime
from tests.faults.conftest import SKIP_SCHEDULES, _reset_moto
from tests.unit.test_api_hamilton_client import outcome_payload

DOC = Path(__file__).resolve().parents[2] / "openapi" / "outcome_api.yaml"
T0 = epoch_s("2024-03-01T12:00:00Z")
schema = schemathesis.openapi.from_path(DOC)
SENT: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
NOT_SENT: Counter[str] = Counter()
SERVED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"})


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t

    def tick(self) -> float:
        self.t += 0.001
        return self.t


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LocalApiServer, bytes, Clock]]:
    _reset_moto()
    clock = Clock()
    try:
        with LocalRuntime(parameters={"HuracanProfile": "demo"}, skip_schedules=SKIP_SCHEDULES) as rt:
            assert rt.stack is not None
            arn = rt.physical("HamiltonHmacSecret")
            secret = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
            key = str(json.loads(secret)["hmac_key"]).encode()
            with LocalApiServer.from_stack(rt.stack, clock=clock) as api:
                yield api, key, clock
            rt.aws.reset()
    finally:
        _reset_moto()


def _names_the_problem(status: int, body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if status in (405, 415):  # answered by Chalice's routing before the app: {"Code": ..., "Message": ...}
        return bool(body.get("Code")) and bool(body.get("Message"))
    return bool(body.get("error")) and bool(body.get("message")) and "field" in body


@schema.parametrize()
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_promise_fuzzed_requests_get_no_5xx_and_every_rejection_names_its_problem(
    case: schemathesis.Case, served: tuple[LocalApiServer, bytes, Clock]
) -> None:
    api, key, clock = served
    if case.method.upper() not in SERVED_METHODS:
        # TRACE, CONNECT, ...: API Gateway refuses them before any app; the local stand-in's http.server
        # would answer 501 for a method it has no handler for, which says nothing about the app.
        NOT_SENT[case.method.upper()] += 1
        return
    kwargs = case.as_transport_kwargs(base_url=api.url)
    n = sum(SENT.values())
    signed = n % 3 != 0
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
    body = kwargs.get("data") or b""
    if isinstance(body, str):
        body = kwargs["data"] = body.encode()
    headers = dict(kwargs.get("headers") or {})
    if signed and case.method.upper() == "POST":
        headers.update(sign_headers(key, body, clock.tick()))
    kwargs["headers"] = headers
    kwargs.setdefault("timeout", 10)
    response = requests.request(**kwargs)
    SENT[f"{case.method.upper()} {'signed' if signed else 'as generated'}"] += 1
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    if response.status_code >= 400:
        assert 400 <= response.status_code < 500
        assert _names_the_problem(response.status_code, response.json()), response.text[:300]


def _post(api: LocalApiServer, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{api.url}/api/trade_outcome", data=body, headers={"Content-Type": "application/json", **headers}, timeout=10
    )


def test_promise_unsigned_stale_replayed_tampered_and_oversized_requests_are_refused(
    served: tuple[LocalApiServer, bytes, Clock],
) -> None:
    api, key, clock = served
    body = json.dumps(outcome_payload("live_fuzz_attack_1")).encode()
    answers = {
        "unsigned": _post(api, body, {}),
        "wrong key": _post(api, body, sign_headers(b"not-the-key", body, clock.tick())),
        "stale": _post(api, body, sign_headers(key, body, clock.tick() - 301)),
        "future": _post(api, body, sign_headers(key, body, clock.tick() + 301)),
        "tampered": _post(api, body.replace(b"live_fuzz", b"live_fuzZ"), sign_headers(key, body, clock.tick())),
    }
    for what, r in answers.items():
        assert r.status_code == 401 and r.json()["error"] in {
            "missing_timestamp",
            "bad_signature",
            "stale_timestamp",
        }, (what, r.text)
        assert r.json()["field"] in {"X-Huracan-Timestamp", "X-Huracan-Signature"}
    captured = sign_headers(key, body, clock.tick())
    assert _post(api, body, captured).status_code == 201
    replay = _post(api, body, captured)
    assert (replay.status_code, replay.json()["error"]) == (401, "replayed_signature")
    big = json.dumps(outcome_payload("live_fuzz_attack_2") | {"tags": "x" * 70_000}).encode()
    r = _post(api, big, sign_headers(key, big, clock.tick()))
    assert r.status_code == 413 and r.json()["error"] and r.json()["message"]
    huge = b"{" + b" " * 5_000_000 + b"}"
    r = _post(api, huge, sign_headers(key, huge, clock.tick()))
    assert r.status_code == 413
    for r in answers.values():
        assert r.status_code == 401
    # nothing an attacker sent was recorded: only the one legitimate outcome is in the trades table
    assert requests.get(f"{api.url}/api/models/latest", timeout=10).status_code in (404, 503)


def _nested(depth: int, where: str) -> bytes:
    """A signed-looking outcome whose ``features`` (or a whole-body array) nests ``depth`` levels."""
    inner = "[" * depth + "]" * depth
    if where == "body":
        return inner.encode()
    payload = json.dumps(outcome_payload(f"live_fuzz_deep_{depth}_{where}"))
    return payload.replace('"features": {', f'"features": {{"deep": {inner}, ', 1).encode()


@pytest.mark.parametrize("depth", [21, 64, 500, 990, 1_500, 5_000, 20_000])
@pytest.mark.parametrize("where", ["features", "body"])
def test_promise_a_body_nested_beyond_the_limit_is_a_400_naming_it(
    served: tuple[LocalApiServer, bytes, Clock], depth: int, where: str
) -> None:
    """Before the fix: 990-20,000 levels (2-40 kB, signed) answered 500 and no alarm fired."""
    api, key, clock = served
    body = _nested(depth, where)
    r = _post(api, body, sign_headers(key, body, clock.tick()))
    SENT["POST signed deep nesting"] += 1
    STATUSES[r.status_code] += 1
    assert r.status_code == 400, r.text[:300]
    assert (r.json()["error"], r.json()["field"]) == ("too_deep", "body") and "20 levels" in r.json()["message"]


def test_promise_at_least_a_thousand_requests_were_fuzzed() -> None:
    """Runs after the fuzz test (file order): the figure the issue asks for."""
    total = sum(SENT.values())
    print(
        json.dumps(
            {
                "fuzzed_requests": total,
                "by_kind": dict(SENT),
                "statuses": dict(sorted(STATUSES.items())),
                "not_sent": dict(NOT_SENT),
            }
        )
    )
    assert total >= 1000, dict(SENT)
    assert not any(s >= 500 for s in STATUSES)
