"""HamiltonClient against a scripted transport: retries, re-signing, success/failure statuses, the model.

Also holds helpers other API tests import: ``tiny_booster`` and ``outcome_payload``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from huracan.api.auth import MemoryReplayGuard, verify_request
from huracan.api.errors import Unauthorized
from huracan.hamilton import (
    ApiUnavailable,
    HamiltonClient,
    HttpResponse,
    OutcomeConflict,
    OutcomeRejected,
)
from huracan.registry import ModelRegistry

KEY = b"unit-test-hmac-key"
FEATURES = ("ret_1", "ret_5", "rv_15")


def tiny_booster(seed: int = 3, rounds: int = 8) -> lgb.Booster:
    """A small binary model on synthetic data whose label depends on ret_1 (so predictions vary)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, len(FEATURES)))
    y = (X[:, 0] + 0.3 * rng.normal(size=600) > 0).astype(float)
    params = {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 20, "verbose": -1, "seed": seed}
    params |= {"deterministic": True, "num_threads": 1}
    return lgb.train(params, lgb.Dataset(X, y, feature_name=list(FEATURES)), num_boost_round=rounds)


def outcome_payload(trade_id: str = "live_001", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "trade_id": trade_id,
        "model_id": "sha256:" + "ab" * 32,
        "features": {"ret_1": 0.0012, "ret_5": -0.003, "rv_15": 0.0009},
        "outcome": "WIN",
        "pnl_bps": 13.2,
        "duration_sec": 480,
    }
    return base | overrides


class Script:
    """A transport answering from a list (a status, or an exception to raise); records every request."""

    def __init__(self, *answers: int | BaseException, body: Mapping[str, Any] | None = None) -> None:
        self.answers = list(answers)
        self.body = body
        self.requests: list[tuple[str, str, dict[str, str], bytes | None]] = []

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout_s: float
    ) -> HttpResponse:
        self.requests.append((method, url, dict(headers), body))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if self.body is not None:
            data: Any = self.body
        elif answer in (200, 201):
            payload = json.loads(body or b"{}")
            data = {
                "trade_id": payload.get("trade_id"),
                "status": "created" if answer == 201 else "duplicate",
                "payload_sha256": "0" * 64,
                "received_at": "2024-01-01T00:00:00Z",
            }
        else:
            data = {"error": f"e{answer}", "field": "outcome" if answer == 422 else None, "message": "m"}
        return HttpResponse(answer, json.dumps(data).encode())


def make_client(transport: Script, tmp_path: Path, **kw: Any) -> tuple[HamiltonClient, list[float]]:
    sleeps: list[float] = []
    client = HamiltonClient(
        "http://127.0.0.1:9/",
        KEY,
        ModelRegistry(base_path=tmp_path / "models"),
        clock=lambda: 1_700_000_000.0,  # frozen: re-signing must still give distinct signatures
        sleep=sleeps.append,
        transport=transport,
        **kw,
    )
    return client, sleeps


def test_retries_5xx_and_connection_errors_re_signing_every_attempt(tmp_path: Path) -> None:
    # Given an API that drops the connection, then answers 503, then 201
    script = Script(ConnectionResetError("reset"), 503, 201)
    client, sleeps = make_client(script, tmp_path, backoff_s=0.1, max_backoff_s=10.0)
    # When an outcome is posted
    receipt = client.post_outcome(
        "live_001", model_id="sha256:" + "cd" * 32, features={"a": 1.0}, outcome="WIN", pnl_bps=1, duration_sec=2
    )
    # Then it succeeded on the third attempt after two growing waits
    assert (receipt.status_code, receipt.status, receipt.attempts) == (201, "created", 3)
    assert len(sleeps) == 2 and 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2
    # And every attempt carried a different, valid signature over the same body (no replay refusal)
    guard = MemoryReplayGuard(lambda: 1_700_000_000.0)
    sigs = set()
    for method, url, headers, body in script.requests:
        assert (method, url) == ("POST", "http://127.0.0.1:9/api/trade_outcome")
        sigs.add(verify_request(headers, body or b"", key=lambda _: KEY, now=1_700_000_000.0, replay_guard=guard))
    assert len(sigs) == 3
    assert len({r[3] for r in script.requests}) == 1


def test_a_200_repeat_counts_as_success(tmp_path: Path) -> None:
    client, _ = make_client(Script(200), tmp_path)
    receipt = client.post(outcome_payload())
    assert (receipt.status_code, receipt.status) == (200, "duplicate")


def test_409_and_422_are_not_retried(tmp_path: Path) -> None:
    script = Script(409, 422)
    client, sleeps = make_client(script, tmp_path)
    with pytest.raises(OutcomeConflict) as conflict:
        client.post(outcome_payload())
    assert conflict.value.status == 409
    with pytest.raises(OutcomeRejected) as rejected:
        client.post(outcome_payload())
    assert (rejected.value.status, rejected.value.field) == (422, "outcome")
    assert len(script.requests) == 2 and sleeps == []


def test_gives_up_after_max_attempts_with_capped_backoff(tmp_path: Path) -> None:
    script = Script(*([502] * 6))
    client, sleeps = make_client(script, tmp_path, max_attempts=6, backoff_s=1.0, max_backoff_s=3.0)
    with pytest.raises(ApiUnavailable) as exc:
        client.post(outcome_payload())
    assert (exc.value.attempts, exc.value.last_status) == (6, 502)
    assert len(sleeps) == 5 and max(sleeps) <= 3.0 and sleeps[0] <= 1.0


def test_nan_features_travel_as_null_and_infinite_ones_are_refused(tmp_path: Path) -> None:
    script = Script(201)
    client, _ = make_client(script, tmp_path)
    model_id = "sha256:" + "ef" * 32
    client.post_outcome(
        "t1",
        model_id=model_id,
        features={"a": float("nan"), "b": np.float32(2.5)},
        outcome="LOSS",
        pnl_bps=-3,
        duration_sec=60,
    )
    sent = json.loads(script.requests[0][3] or b"")
    assert sent["features"] == {"a": None, "b": 2.5} and sent["model_id"] == model_id
    with pytest.raises(ValueError, match="infinite"):
        client.post_outcome(
            "t2", model_id=model_id, features={"a": float("inf")}, outcome="LOSS", pnl_bps=0, duration_sec=1
        )


def test_outcomes_carry_the_loaded_model_id_and_adoption_is_logged(tmp_path: Path) -> None:
    # Given a published model in a folder registry
    registry = ModelRegistry(base_path=tmp_path / "models")
    model_id = registry.register_model(
        model=tiny_booster(),
        code_git_sha="abc123",
        data_snapshot_id="snap",
        metrics={"auc": 0.7},
        created_at="2024-01-01T00:00:00Z",
    )
    script = Script(201)
    client, _ = make_client(script, tmp_path)
    with pytest.raises(RuntimeError, match="no model"):
        client.post_outcome("t0", features={"ret_1": 0}, outcome="WIN", pnl_bps=1, duration_sec=1)
    # When the client loads it and gates a signal
    assert client.load_latest() == model_id
    decision = client.evaluate({"ret_1": 2.0, "ret_5": 0.0, "rv_15": 0.1})
    low = client.evaluate({"ret_1": -2.0, "ret_5": 0.0, "rv_15": 0.1})
    # Then the decision names the model and the gate separates the two signals
    assert decision.model_id == model_id and decision.passed and not low.passed
    assert [a.model_id for a in client.adoptions] == [model_id] and client.adoptions[0].version == 1
    # And a posted outcome carries that model_id
    client.post_outcome("t1", features={"ret_1": 2.0}, outcome="WIN", pnl_bps=5, duration_sec=30)
    assert json.loads(script.requests[0][3] or b"")["model_id"] == model_id
    # And loading again without a new publication adopts nothing new
    assert client.load_latest() == model_id and len(client.adoptions) == 1


def test_published_reads_the_latest_route_and_404_means_none(tmp_path: Path) -> None:
    info = {
        "name": "meta_label",
        "model_id": "sha256:" + "1" * 64,
        "version": 3,
        "manifest_sha256": "2" * 64,
        "created_at": "2024-01-01T00:00:00Z",
        "metrics": {"auc": 0.7},
    }
    client, _ = make_client(Script(200, body=info), tmp_path)
    published = client.published()
    assert published is not None and (published.version, published.metrics["auc"]) == (3, 0.7)
    client404, _ = make_client(Script(404), tmp_path)
    assert client404.published() is None


def test_key_may_be_the_secret_json(tmp_path: Path) -> None:
    script = Script(201)
    client = HamiltonClient(
        "http://x",
        json.dumps({"hmac_key": KEY.decode()}),
        ModelRegistry(base_path=tmp_path),
        clock=lambda: 5.0e8,
        transport=script,
    )
    client.post(outcome_payload())
    _, _, headers, body = script.requests[0]
    guard = MemoryReplayGuard(lambda: 5.0e8)
    verify_request(headers, body or b"", key=lambda _: KEY, now=5.0e8, replay_guard=guard)
    with pytest.raises(Unauthorized):
        verify_request(
            headers, body or b"", key=lambda _: b"other", now=5.0e8, replay_guard=MemoryReplayGuard(lambda: 5.0e8)
        )
