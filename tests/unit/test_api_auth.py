"""The HMAC scheme, the API clock and the secret cache, without AWS."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huracan.adapters.errors import PermanentError
from huracan.adapters.secrets import MIN_REFRESH_INTERVAL_S, SecretCache, hmac_key_from_secret
from huracan.adapters.settings import AwsSettings
from huracan.api.auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    MemoryReplayGuard,
    compute_signature,
    sign_headers,
    verify_request,
)
from huracan.api.clock import api_clock, clock_from_spec, set_api_clock, system_clock
from huracan.api.errors import Unauthorized
from huracan.core.timeutil import epoch_s

KEY = b"k3y"
NOW = epoch_s("2024-03-01T12:00:00Z")


def test_signature_is_hmac_sha256_of_timestamp_newline_body() -> None:
    # The documented contract, computed independently of the module
    expected = hmac.new(b"secret", b'2024-03-01T12:00:00Z\n{"a":1}', hashlib.sha256).hexdigest()
    assert compute_signature(b"secret", "2024-03-01T12:00:00Z", b'{"a":1}') == "v1=" + expected


def test_sign_headers_keeps_microseconds_so_same_second_requests_differ() -> None:
    a = sign_headers(KEY, b"x", NOW + 0.25)
    b = sign_headers(KEY, b"x", NOW + 0.5)
    assert a[TIMESTAMP_HEADER] == "2024-03-01T12:00:00.250000Z"
    assert a[SIGNATURE_HEADER] != b[SIGNATURE_HEADER]


@given(body=st.binary(max_size=512), offset=st.floats(min_value=-300, max_value=300))
def test_any_fresh_signed_body_verifies_once(body: bytes, offset: float) -> None:
    headers = sign_headers(KEY, body, NOW + offset)
    guard = MemoryReplayGuard(lambda: NOW)
    verify_request(headers, body, key=lambda _: KEY, now=NOW, replay_guard=guard)
    with pytest.raises(Unauthorized) as again:
        verify_request(headers, body, key=lambda _: KEY, now=NOW, replay_guard=guard)
    assert again.value.error == "replayed_signature"


@given(body=st.binary(min_size=1, max_size=64), flip=st.integers(min_value=0, max_value=10_000))
def test_any_flipped_byte_is_refused(body: bytes, flip: int) -> None:
    headers = sign_headers(KEY, body, NOW)
    i = flip % len(body)
    tampered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
    with pytest.raises(Unauthorized) as exc:
        verify_request(headers, tampered, key=lambda _: KEY, now=NOW, replay_guard=MemoryReplayGuard(lambda: NOW))
    assert exc.value.error == "bad_signature"


def test_header_lookup_is_case_insensitive() -> None:
    headers = {k.lower(): v for k, v in sign_headers(KEY, b"b", NOW).items()}
    assert (
        len(verify_request(headers, b"b", key=lambda _: KEY, now=NOW, replay_guard=MemoryReplayGuard(lambda: NOW)))
        == 64
    )


def test_a_rotated_key_is_fetched_again_on_mismatch() -> None:
    calls: list[bool] = []

    def key(refresh: bool) -> bytes:
        calls.append(refresh)
        return b"new" if refresh else b"old"

    headers = sign_headers(b"new", b"b", NOW)
    verify_request(headers, b"b", key=key, now=NOW, replay_guard=MemoryReplayGuard(lambda: NOW))
    assert calls == [False, True]


def test_a_refused_signature_is_not_remembered() -> None:
    guard = MemoryReplayGuard(lambda: NOW)
    bad = sign_headers(b"wrong", b"b", NOW)
    for _ in range(2):
        with pytest.raises(Unauthorized, match="does not match"):
            verify_request(bad, b"b", key=lambda _: KEY, now=NOW, replay_guard=guard)
    assert guard._seen == {}


def test_memory_guard_forgets_after_expiry() -> None:
    t = [0.0]
    guard = MemoryReplayGuard(lambda: t[0])
    assert guard.remember("a" * 64, 100) and not guard.remember("a" * 64, 100)
    t[0] = 101.0
    assert guard.remember("a" * 64, 500)


def test_clock_specs() -> None:
    assert clock_from_spec(None) is system_clock and clock_from_spec("system") is system_clock
    assert clock_from_spec("fixed:2024-03-01T12:00:00Z")() == NOW
    assert clock_from_spec("2024-03-01T12:00:00Z")() == NOW
    shifted = clock_from_spec("offset:-86400")()
    assert abs(shifted - (system_clock() - 86400)) < 5
    with pytest.raises(ValueError):
        clock_from_spec("yesterday")


def test_set_api_clock_overrides_and_restores() -> None:
    configured = clock_from_spec("fixed:2024-03-01T12:00:00Z")
    set_api_clock(lambda: 42.0)
    try:
        assert api_clock(configured)() == 42.0
    finally:
        set_api_clock(None)
    assert api_clock(configured)() == NOW


class FakeSm:
    def __init__(self, value: str) -> None:
        self.value = value
        self.calls = 0

    def get_secret_value(self, SecretId: str, VersionStage: str = "AWSCURRENT") -> dict[str, Any]:
        self.calls += 1
        return {"SecretString": self.value}


def test_secret_cache_ttl_and_rate_limited_refresh() -> None:
    t = [0.0]
    sm = FakeSm('{"hmac_key": "one"}')
    cache = SecretCache(AwsSettings(), ttl_s=300, sm_client=sm, monotonic=lambda: t[0])
    assert cache.hmac_key("arn") == b"one" and cache.hmac_key("arn") == b"one" and sm.calls == 1
    sm.value = '{"hmac_key": "two"}'
    # a forced refresh right after a read is served from the cache (no flood of GetSecretValue)
    assert cache.hmac_key("arn", refresh=True) == b"one" and sm.calls == 1
    t[0] = MIN_REFRESH_INTERVAL_S + 1
    assert cache.hmac_key("arn", refresh=True) == b"two" and sm.calls == 2
    t[0] += 301
    assert cache.hmac_key("arn") == b"two" and sm.calls == 3


@pytest.mark.parametrize(
    ("secret", "key"),
    [('{"hmac_key": "abc"}', b"abc"), ("  plainkey\n", b"plainkey"), ('{"hmac_key": "\u00e9"}', "\u00e9".encode())],
)
def test_hmac_key_from_secret_shapes(secret: str, key: bytes) -> None:
    assert hmac_key_from_secret(secret) == key


@pytest.mark.parametrize("secret", ["", '{"other": 1}', '{"hmac_key": ""}', "{broken"])
def test_hmac_key_from_secret_refuses_unusable_secrets(secret: str) -> None:
    with pytest.raises(PermanentError):
        hmac_key_from_secret(secret)
