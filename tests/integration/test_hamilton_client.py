"""Hamilton's library end to end: the S3 registry (KMS-signed) -> load + verify + gate -> signed outcomes
over HTTP to the local API -> rows in the stack's trades table, including adoption of a new model, a
tampered publication that is refused, a lost response retried, and the API being down.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest

from huracan.adapters.kms_signer import KmsSigner
from huracan.hamilton import ApiUnavailable, HamiltonClient, HttpResponse, urllib_transport
from huracan.local.api_server import LocalApiServer
from huracan.local.aws import EmbeddedAws
from huracan.local.stack import LocalStack
from huracan.registry import ModelRegistry, PublicKeyVerifier
from tests.unit.test_api_hamilton_client import tiny_booster

SIGNALS = [
    {"ret_1": 2.0, "ret_5": 0.1, "rv_15": 0.2},
    {"ret_1": -2.0, "ret_5": -0.1, "rv_15": 0.2},
    {"ret_1": 1.5, "ret_5": 0.0, "rv_15": 0.1},
    {"ret_1": -1.0, "ret_5": 0.3, "rv_15": 0.3},
]


@pytest.fixture(scope="module")
def stack(moto_aws: EmbeddedAws) -> Iterator[LocalStack]:
    deployed = LocalStack(moto_aws, stack_name=f"huracan-ham-{uuid.uuid4().hex[:6]}").deploy()
    yield deployed


@pytest.fixture(scope="module")
def env(stack: LocalStack) -> dict[str, str]:
    assert stack.lambdas is not None
    return dict(stack.lambdas.get("OutcomeApiFunction").environment)


@pytest.fixture()
def api(stack: LocalStack) -> Iterator[LocalApiServer]:
    with LocalApiServer.from_stack(stack) as server:  # the API's real (wall) clock, as in AWS
        yield server


@pytest.fixture()
def publisher(env: dict[str, str]) -> ModelRegistry:
    return ModelRegistry(base_path=f"s3://{env['MODEL_BUCKET']}/models", signer=KmsSigner(env["MODEL_SIGNING_KEY_ID"]))


def hamilton(api: LocalApiServer, env: dict[str, str], publisher: ModelRegistry, **kw: Any) -> HamiltonClient:
    """Hamilton's view: the secret's JSON as key, a registry that holds only the publisher's public key."""
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=env["HAMILTON_HMAC_SECRET_ARN"])["SecretString"]
    verifier = PublicKeyVerifier(publisher.signer.public_key_pem())
    registry = ModelRegistry(base_path=f"s3://{env['MODEL_BUCKET']}/models", signer=verifier)
    return HamiltonClient(api.url, secret, registry, threshold=0.5, sleep=lambda s: None, **kw)


def rows(env: dict[str, str], prefix: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=env["TRADES_TABLE"])["Items"]
    out: list[dict[str, Any]] = [{k: next(iter(v.values())) for k, v in i.items()} for i in items]
    return sorted((r for r in out if str(r["trade_id"]).startswith(prefix)), key=lambda r: str(r["trade_id"]))


def trade_live(client: HamiltonClient, prefix: str, signals: list[dict[str, float]]) -> int:
    """Gate each signal; post an outcome for every one that passed (WIN when ret_1 > 0)."""
    posted = 0
    for i, features in enumerate(signals):
        decision = client.evaluate(features)
        if not decision.passed:
            continue
        win = features["ret_1"] > 0
        receipt = client.post_outcome(
            f"{prefix}{i:03d}",
            features=features,
            outcome="WIN" if win else "LOSS",
            pnl_bps=12.5 if win else -9.0,
            duration_sec=300 + i,
            symbol="BTC-USD",
            side="long",
            mode="scalp",
        )
        assert receipt.status_code == 201
        posted += 1
    return posted


def test_adopts_each_published_model_and_posts_outcomes_with_its_id(
    api: LocalApiServer, env: dict[str, str], publisher: ModelRegistry
) -> None:
    # Given a published model
    v1 = publisher.register_model(
        model=tiny_booster(seed=1), code_git_sha="a1", data_snapshot_id="s1", metrics={"auc": 0.61}
    )
    client = hamilton(api, env, publisher)
    published = client.published()
    assert published is not None and published.model_id == v1
    # When Hamilton loads it and trades
    assert client.load_latest() == v1
    prefix = f"ham_{uuid.uuid4().hex[:6]}_"
    n1 = trade_live(client, prefix + "a", SIGNALS)
    assert n1 == 2  # the gate passed only the two signals with ret_1 > 0
    # And a new model is published
    v2 = publisher.register_model(
        model=tiny_booster(seed=2, rounds=12), code_git_sha="a2", data_snapshot_id="s2", metrics={"auc": 0.63}
    )
    assert v2 != v1
    assert client.refresh() is True and client.model_id == v2
    assert client.refresh() is False  # nothing newer
    n2 = trade_live(client, prefix + "b", SIGNALS)
    # Then every outcome row carries the model that decided it, and the adoption log shows both
    stored = rows(env, prefix)
    assert len(stored) == n1 + n2
    assert {r["model_id"] for r in stored if r["trade_id"].startswith(prefix + "a")} == {v1}
    assert {r["model_id"] for r in stored if r["trade_id"].startswith(prefix + "b")} == {v2}
    assert all(r["trade_type"] == "LIVE" and json.loads(r["features_json"]) for r in stored)
    assert [a.model_id for a in client.adoptions] == [v1, v2]


def test_a_tampered_publication_is_refused_and_the_model_in_use_kept(
    api: LocalApiServer, env: dict[str, str], publisher: ModelRegistry
) -> None:
    good = publisher.register_model(
        model=tiny_booster(seed=4), code_git_sha="g", data_snapshot_id="s", metrics={"auc": 0.6}
    )
    client = hamilton(api, env, publisher)
    assert client.load_latest() == good
    # Given a newer model whose text is altered in S3 after publication
    bad = publisher.register_model(
        model=tiny_booster(seed=5, rounds=10), code_git_sha="b", data_snapshot_id="s", metrics={"auc": 0.7}
    )
    s3 = boto3.client("s3")
    key = f"models/meta_label/{bad.removeprefix('sha256:')}/model.lgb.txt"
    text = s3.get_object(Bucket=env["MODEL_BUCKET"], Key=key)["Body"].read()
    s3.put_object(Bucket=env["MODEL_BUCKET"], Key=key, Body=text.replace(b"tree", b"Tree", 1))
    # When Hamilton checks for a new model
    adopted = client.refresh()
    # Then it keeps trading with the verified one, and says why
    assert adopted is False and client.model_id == good
    assert "sha256 mismatch" in str(client.registry.last_errors["meta_label"])
    prefix = f"tam_{uuid.uuid4().hex[:6]}_"
    trade_live(client, prefix, SIGNALS[:1])
    assert [r["model_id"] for r in rows(env, prefix)] == [good]


def test_a_lost_response_is_retried_and_the_200_repeat_counts_as_success(
    api: LocalApiServer, env: dict[str, str], publisher: ModelRegistry
) -> None:
    # Given a network that delivers the first request but loses its answer
    lost = {"n": 0}

    def flaky(method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout_s: float) -> HttpResponse:
        resp = urllib_transport(method, url, headers, body, timeout_s)
        if method == "POST" and lost["n"] == 0:
            lost["n"] += 1
            raise ConnectionResetError("answer lost")
        return resp

    publisher.register_model(model=tiny_booster(seed=6), code_git_sha="c", data_snapshot_id="s", metrics={"auc": 0.6})
    client = hamilton(api, env, publisher, transport=flaky)
    client.load_latest()
    trade_id = f"lost_{uuid.uuid4().hex[:6]}"
    # When the outcome is posted
    receipt = client.post_outcome(trade_id, features=SIGNALS[0], outcome="WIN", pnl_bps=10.0, duration_sec=60)
    # Then the re-signed retry was accepted as an identical repeat and exactly one row exists
    assert (receipt.status_code, receipt.status, receipt.attempts) == (200, "duplicate", 2)
    assert len(rows(env, trade_id)) == 1


def test_api_down_raises_after_the_retries(env: dict[str, str], publisher: ModelRegistry, stack: LocalStack) -> None:
    server = LocalApiServer.from_stack(stack).start()
    url = server.url
    server.stop()
    client = HamiltonClient(
        url, b"k", ModelRegistry(base_path=f"s3://{env['MODEL_BUCKET']}/models"), max_attempts=3, sleep=lambda s: None
    )
    with pytest.raises(ApiUnavailable) as exc:
        client.post_outcome(
            "down_1", model_id="sha256:" + "0" * 64, features={"a": 1}, outcome="WIN", pnl_bps=1, duration_sec=1
        )
    assert exc.value.attempts == 3 and exc.value.last_status is None
    assert "URLError" in str(exc.value) or "Connection" in str(exc.value)
