"""Secrets Manager reads with a per-container cache.

Why a cache: the outcome API checks Hamilton's HMAC signature on every request, and a Secrets Manager call
per request would add latency and cost and make the API fail whenever Secrets Manager throttles. Why a
TTL (and a forced refresh): a rotated key must be picked up without a redeploy. A forced refresh is rate
limited, so a flood of badly signed requests cannot turn into a flood of ``GetSecretValue`` calls.

The cache measures age with ``time.monotonic`` (elapsed time, not the wall clock): it decides freshness
only, never anything recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from huracan.adapters.clients import client
from huracan.adapters.errors import PermanentError, translate_errors
from huracan.adapters.settings import AwsSettings

__all__ = [
    "DEFAULT_TTL_S",
    "HMAC_KEY_FIELD",
    "ROTATION_STEPS",
    "SecretCache",
    "hmac_key_from_secret",
    "rotate_hmac_secret",
]

DEFAULT_TTL_S = 300.0
#: At most one forced refresh per secret in this many seconds.
MIN_REFRESH_INTERVAL_S = 30.0
#: The JSON field holding Hamilton's key (``{"hmac_key": "..."}``).
HMAC_KEY_FIELD = "hmac_key"


def hmac_key_from_secret(secret_string: str) -> bytes:
    """The HMAC key inside a secret: ``{"hmac_key": "..."}``, or the whole string when it is not JSON.

    Both shapes are accepted because ``GenerateSecretString`` without a template stores a bare string,
    while the local stack stores the JSON object; the key's UTF-8 bytes are the HMAC key either way.
    """
    text = secret_string.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise PermanentError("HMAC secret looks like JSON but does not parse") from exc
        key = obj.get(HMAC_KEY_FIELD) if isinstance(obj, dict) else None
        if not isinstance(key, str) or not key:
            raise PermanentError(f"HMAC secret has no non-empty {HMAC_KEY_FIELD!r} field")
        return key.encode("utf-8")
    if not text:
        raise PermanentError("HMAC secret is empty")
    return text.encode("utf-8")


class SecretCache:
    """``GetSecretValue`` results by secret id, kept ``ttl_s`` seconds; thread-safe (chalice local is threaded)."""

    def __init__(
        self,
        settings: AwsSettings,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        sm_client: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._client = sm_client
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, str]] = {}  # secret id -> (fetched at, value)

    def _sm(self) -> Any:
        if self._client is None:
            self._client = client("secretsmanager", self._settings)
        return self._client

    def get_string(self, secret_id: str, *, refresh: bool = False) -> str:
        """The secret's ``SecretString``; ``refresh`` re-reads it unless it was read very recently."""
        now = self._monotonic()
        with self._lock:
            cached = self._values.get(secret_id)
            if cached is not None:
                age = now - cached[0]
                if age < self._ttl_s and (not refresh or age < MIN_REFRESH_INTERVAL_S):
                    return cached[1]
        with translate_errors("secretsmanager.GetSecretValue"):
            # AWSCURRENT named, not implied: AWS means the same either way, but moto answers a call without a
            # stage from the version put last, not the one a rotation's finishSecret moved AWSCURRENT to
            answer = self._sm().get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        value = answer.get("SecretString")
        if not isinstance(value, str):
            raise PermanentError(f"secret {secret_id} has no SecretString", operation="secretsmanager.GetSecretValue")
        with self._lock:
            self._values[secret_id] = (now, value)
        return value

    def _previous_string(self, secret_id: str, *, refresh: bool) -> str | None:
        """The ``AWSPREVIOUS`` version's string (cached like the current one), None when there is none."""
        cache_id = f"{secret_id}#AWSPREVIOUS"
        now = self._monotonic()
        with self._lock:
            cached = self._values.get(cache_id)
            if cached is not None:
                age = now - cached[0]
                if age < self._ttl_s and (not refresh or age < MIN_REFRESH_INTERVAL_S):
                    return cached[1] or None
        try:
            with translate_errors("secretsmanager.GetSecretValue"):
                answer = self._sm().get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")
            value = answer.get("SecretString")
        except PermanentError:  # no previous version (never rotated): nothing more to accept
            value = None
        with self._lock:
            self._values[cache_id] = (now, value if isinstance(value, str) else "")
        return value if isinstance(value, str) else None

    def hmac_keys(self, secret_id: str, *, refresh: bool = False) -> tuple[bytes, ...]:
        """The keys a request may be signed with: the current version's, then the previous version's.

        Why the previous one too: rotation switches ``AWSCURRENT`` at once, but Hamilton reads the secret
        on its own schedule; until it signs with the new key, its requests carry the old one. The previous
        key stays accepted until the next rotation replaces it, so a rotation never refuses a live client.
        """
        keys = [self.hmac_key(secret_id, refresh=refresh)]
        previous = self._previous_string(secret_id, refresh=refresh)
        if previous:
            with contextlib.suppress(PermanentError):  # a malformed old version is simply not accepted
                keys.append(hmac_key_from_secret(previous))
        return tuple(dict.fromkeys(keys))

    def hmac_key(self, secret_id: str, *, refresh: bool = False) -> bytes:
        """Hamilton's HMAC key from the secret (see :func:`hmac_key_from_secret`)."""
        return hmac_key_from_secret(self.get_string(secret_id, refresh=refresh))


ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def rotate_hmac_secret(step: str, secret_id: str, token: str, settings: AwsSettings, *, sm_client: Any = None) -> None:
    """One step of Secrets Manager's rotation protocol for Hamilton's HMAC key (the rotation function's body).

    ``createSecret`` stores a new random key as ``AWSPENDING`` under the rotation's token (once, however often
    the step is retried); ``setSecret`` has nothing to change elsewhere (the API and Hamilton both read the
    secret); ``testSecret`` checks the pending version holds a usable key; ``finishSecret`` makes it
    ``AWSCURRENT``, and Secrets Manager labels the old one ``AWSPREVIOUS``, which the API keeps accepting
    (:meth:`SecretCache.hmac_keys`) until the next rotation: Hamilton switches keys without losing an outcome.
    """
    if step not in ROTATION_STEPS:
        raise PermanentError(f"unknown rotation step {step!r}; expected one of {ROTATION_STEPS}")
    sm = sm_client or client("secretsmanager", settings)
    with translate_errors("secretsmanager.DescribeSecret"):
        described = sm.describe_secret(SecretId=secret_id)
    versions: dict[str, list[str]] = described.get("VersionIdsToStages") or {}
    if token not in versions and step != "createSecret":
        raise PermanentError(f"rotation token {token} is not a version of {secret_id}")
    if step == "createSecret":
        if "AWSPENDING" in versions.get(token, []):
            try:
                with translate_errors("secretsmanager.GetSecretValue"):
                    sm.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
                return  # already created by an earlier attempt of this step
            except PermanentError:
                pass
        with translate_errors("secretsmanager.GetRandomPassword"):
            key = sm.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
        with translate_errors("secretsmanager.PutSecretValue"):
            sm.put_secret_value(
                SecretId=secret_id,
                ClientRequestToken=token,
                SecretString=json.dumps({HMAC_KEY_FIELD: key}),
                VersionStages=["AWSPENDING"],
            )
    elif step == "testSecret":
        with translate_errors("secretsmanager.GetSecretValue"):
            pending = sm.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
        if len(hmac_key_from_secret(str(pending.get("SecretString") or ""))) < 32:
            raise PermanentError("the pending HMAC key is shorter than 32 bytes")
    elif step == "finishSecret":
        current = next((v for v, stages in versions.items() if "AWSCURRENT" in stages), None)
        if current == token:
            return
        with translate_errors("secretsmanager.UpdateSecretVersionStage"):
            sm.update_secret_version_stage(
                SecretId=secret_id, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
            )
