"""Hamilton gets in with SigV4 and its policy, nobody else does: the local API stand-in checks what API Gateway
checks (IAM auth) before the app runs.

One LocalRuntime with IAM enforced serves the API; Hamilton is a role with the stack's HamiltonPolicy attached,
"no-policy" a role without it. The HMAC header the app checks is sent on every request, so a 403 here is the
IAM layer's, and a 201 means both layers let the request in.
"""

from __future__ import annotations

import contextlib
import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials

from huracan.api.auth import sign_headers
from huracan.hamilton import HamiltonClient, OutcomeRejected
from huracan.hamilton.sigv4 import SigV4Signer
from huracan.local.runtime import LocalRuntime
from huracan.registry import ModelRegistry


@pytest.fixture(scope="module")
def rt() -> Iterator[LocalRuntime]:
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(parameters={"HuracanProfile": "demo"}, serve_api=True) as runtime,
    ):
        yield runtime


def _key(rt: LocalRuntime) -> str:
    arn = rt.physical("HamiltonHmacSecret")
    return str(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def _client(rt: LocalRuntime, credentials: Any) -> HamiltonClient:
    registry = ModelRegistry(base_path=f"s3://{rt.physical('ModelBucket')}/models")
    signer = SigV4Signer(credentials, rt.aws.region) if credentials is not None else None
    return HamiltonClient(
        rt.api.url, _key(rt), registry, clock=rt.clock.now, sleep=lambda s: None, max_attempts=1, sigv4=signer
    )


def _payload(trade_id: str) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "model_id": "sha256:" + "0" * 64,
        "features": {"ret_5": 0.001},
        "outcome": "WIN",
        "pnl_bps": 12.5,
        "duration_sec": 300.0,
    }


def _raw_post(rt: LocalRuntime, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(f"{rt.api.url}/api/trade_outcome", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_hamilton_with_its_policy_posts_an_outcome(rt: LocalRuntime) -> None:
    assert rt.hamilton is not None
    receipt = _client(rt, rt.hamilton.credentials).post(_payload("sigv4-ok-1"))
    assert (receipt.status_code, receipt.status) == (201, "created")


def test_unsigned_request_gets_403_missing_authentication_token(rt: LocalRuntime) -> None:
    with pytest.raises(OutcomeRejected) as err:
        _client(rt, None).post(_payload("sigv4-unsigned"))
    assert err.value.status == 403
    assert "Missing Authentication Token" in str(err.value)


def test_wrongly_signed_request_gets_403(rt: LocalRuntime) -> None:
    assert rt.hamilton is not None
    body = json.dumps(_payload("sigv4-tampered")).encode()
    headers = {"Content-Type": "application/json", **sign_headers(_key(rt).encode(), body, rt.clock.now())}
    signed = SigV4Signer(rt.hamilton.credentials, rt.aws.region).sign(
        "POST", f"{rt.api.url}/api/trade_outcome", headers, body
    )
    # the body changed after signing (same length): the recomputed signature differs
    status, answer = _raw_post(rt, body.replace(b"WIN", b"WOM"), signed)
    assert status == 403 and "Signature" in answer["message"]
    # a wrong secret for a real access key
    frozen = rt.hamilton.credentials.get_frozen_credentials()
    forged = Credentials(frozen.access_key, "not-the-secret", frozen.token)
    with pytest.raises(OutcomeRejected) as err:
        _client(rt, forged).post(_payload("sigv4-forged"))
    assert err.value.status == 403


def test_credentials_without_the_hamilton_policy_get_403(rt: LocalRuntime) -> None:
    assert rt.stranger is not None
    with pytest.raises(OutcomeRejected) as err:
        _client(rt, rt.stranger.credentials).post(_payload("sigv4-stranger"))
    assert err.value.status == 403
    assert "not authorized" in str(err.value) and "execute-api:Invoke" in str(err.value)


def test_hamilton_policy_reads_models_and_nothing_else(rt: LocalRuntime) -> None:
    assert rt.layer is not None and rt.hamilton is not None
    bucket = rt.physical("ModelBucket")
    boto3.client("s3").put_object(Bucket=bucket, Key="models/probe.json", Body=b"{}")
    with rt.layer.scope(rt.hamilton, None):
        s3 = boto3.client("s3")
        assert s3.get_object(Bucket=bucket, Key="models/probe.json")["Body"].read() == b"{}"
        with pytest.raises(s3.exceptions.ClientError):
            s3.put_object(Bucket=bucket, Key="models/latest.json", Body=b"{}")
        with pytest.raises(s3.exceptions.ClientError):
            s3.get_object(Bucket=bucket, Key="reports/probe.json")
