"""Hamilton's request signature: HMAC-SHA256 over ``timestamp + "\\n" + raw body``, checked in the app.

Why in the app as well as IAM on API Gateway: IAM proves *some* principal with invoke rights sent the
request; the HMAC proves it came from the holder of Hamilton's key, covers the exact body bytes, and is
the only check ``chalice local`` has. The checks, in order (cheapest and least revealing first):

1. both headers present: ``X-Huracan-Timestamp`` (UTC ISO-8601 Z) and ``X-Huracan-Signature: v1=<hex>``;
2. the timestamp is within :data:`MAX_SKEW_S` of the API clock (:mod:`huracan.api.clock`), either way;
3. the signature matches (``hmac.compare_digest``); on a mismatch the key is re-read once (rate limited by
   the secret cache), so a rotated key is picked up without a redeploy;
4. the signature has not been seen before (:class:`ReplayGuard`): a captured request cannot be replayed
   inside the freshness window. Only verified signatures are remembered, so garbage cannot fill the store.

A legitimate retry must therefore be *re-signed* (new timestamp, new signature); the outcome itself stays
idempotent on ``trade_id``. :class:`huracan.hamilton.HamiltonClient` re-signs every attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from huracan.api.errors import Unauthorized
from huracan.core.timeutil import epoch_s, from_epoch_s

__all__ = [
    "MAX_SKEW_S",
    "SIGNATURE_HEADER",
    "SIGNATURE_VERSION",
    "TIMESTAMP_HEADER",
    "MemoryReplayGuard",
    "ReplayGuard",
    "compute_signature",
    "sign_headers",
    "signing_message",
    "verify_request",
]

TIMESTAMP_HEADER = "X-Huracan-Timestamp"
SIGNATURE_HEADER = "X-Huracan-Signature"
SIGNATURE_VERSION = "v1"
MAX_SKEW_S = 300.0
_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_SIG_RE = re.compile(r"^v1=([0-9a-f]{64})$")

KeyProvider = Callable[[bool], "bytes | Sequence[bytes]"]
"""Returns the HMAC key, or every key currently accepted (during a rotation: the new and the previous one);
called with ``True`` to ask for a fresh read (after a mismatch)."""


def _matches(keys: bytes | Sequence[bytes], timestamp: str, body: bytes, signature: str) -> bool:
    candidates = (keys,) if isinstance(keys, bytes) else tuple(keys)
    return any(hmac.compare_digest(compute_signature(k, timestamp, body), signature) for k in candidates)


class ReplayGuard(Protocol):
    """Remembers verified signatures until ``expires_at`` (epoch s); ``remember`` is atomic."""

    def remember(self, signature_hex: str, expires_at: int) -> bool:
        """True the first time a signature is seen, False for a replay."""


class MemoryReplayGuard:
    """One process's memory: enough for tests and a single ``chalice local``; Lambda uses DynamoDB."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def remember(self, signature_hex: str, expires_at: int) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
            if signature_hex in self._seen and self._seen[signature_hex] > now:
                return False
            self._seen[signature_hex] = expires_at
            return True


def signing_message(timestamp: str, body: bytes) -> bytes:
    """The exact bytes signed: the timestamp header's value, a newline, the raw body."""
    return timestamp.encode("ascii") + b"\n" + body


def compute_signature(key: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Huracan-Signature`` value: ``v1=<hex HMAC-SHA256>``."""
    digest = hmac.new(key, signing_message(timestamp, body), hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def sign_headers(key: bytes, body: bytes, now: float) -> dict[str, str]:
    """Both auth headers for ``body`` signed at ``now`` (epoch s, kept to the microsecond so two requests
    signed in the same second still differ)."""
    timestamp = from_epoch_s(round(now, 6))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: compute_signature(key, timestamp, body)}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict from a test or an event without case-insensitive lookup
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if isinstance(value, str) else None


def verify_request(
    headers: Mapping[str, str],
    body: bytes,
    *,
    key: KeyProvider,
    now: float,
    replay_guard: ReplayGuard,
    max_skew_s: float = MAX_SKEW_S,
) -> str:
    """Check the signature of one request; returns the signature hex, raises :class:`Unauthorized`."""
    timestamp = _header(headers, TIMESTAMP_HEADER)
    if not timestamp:
        raise Unauthorized("missing_timestamp", f"{TIMESTAMP_HEADER} header is required", field=TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise Unauthorized("missing_signature", f"{SIGNATURE_HEADER} header is required", field=SIGNATURE_HEADER)
    if not _TS_RE.match(timestamp):
        raise Unauthorized("bad_timestamp", "timestamp must be UTC ISO-8601 with a trailing Z", field=TIMESTAMP_HEADER)
    try:
        ts = epoch_s(timestamp)
    except ValueError as exc:
        raise Unauthorized("bad_timestamp", f"timestamp does not parse: {exc}", field=TIMESTAMP_HEADER) from exc
    skew = now - ts
    if abs(skew) > max_skew_s:
        direction = "old" if skew > 0 else "in the future"
        raise Unauthorized(
            "stale_timestamp",
            f"timestamp is {abs(skew):.0f} s {direction}; at most {max_skew_s:.0f} s is accepted",
            field=TIMESTAMP_HEADER,
        )
    match = _SIG_RE.match(signature)
    if match is None:
        raise Unauthorized("bad_signature", "signature must look like 'v1=<64 hex>'", field=SIGNATURE_HEADER)
    if not _matches(key(False), timestamp, body, signature) and not _matches(key(True), timestamp, body, signature):
        raise Unauthorized("bad_signature", "signature does not match the body and timestamp", field=SIGNATURE_HEADER)
    sig_hex = match.group(1)
    if not replay_guard.remember(sig_hex, int(ts + max_skew_s) + 60):
        raise Unauthorized("replayed_signature", "this signature was already used", field=SIGNATURE_HEADER)
    return sig_hex
