"""Hamilton's side of the contract as a library: load + verify + gate the published model, post outcomes.

Hamilton (or the demo's simulator) needs only this class and HTTP::

    client = HamiltonClient(api_url, hmac_key, ModelRegistry(base_path="s3://bucket/models", signer=verifier))
    client.load_latest()                      # verified before deserialising; raises if nothing usable
    decision = client.evaluate(features)      # MetaLabelGate's decision, with the model_id
    client.post_outcome("live_001", features=features, outcome="WIN", pnl_bps=13.2, duration_sec=480)

Adoption is tracked through the data, not a side channel: every outcome carries the ``model_id`` the trade
was decided with (the current model unless the caller says otherwise), so observability can compute
"Hamilton adopted each export within a day" from ``trades.model_id`` against the manifest's export time.
:attr:`HamiltonClient.adoptions` keeps the client's own log of when it switched.

Posting is safe to retry: connection errors, 429 and 5xx are retried with exponential backoff, every
attempt is *re-signed* (the API refuses a replayed signature), and the API is idempotent on ``trade_id``,
so a retry of an outcome that did arrive answers 200 - which counts as success.

With an ``outbox`` (a folder, :mod:`huracan.hamilton.outbox`) nothing is lost when the retries run out: the
outcome is on disk before the first attempt, leaves it only once the API has it, and :meth:`HamiltonClient.flush`
sends what is due again, backing off. A 401/403 is then not final either: the key may be mid-rotation, so the
client re-reads it (``key_source``) and the outcome waits in the outbox like any other failed delivery.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from huracan.api.auth import sign_headers
from huracan.core.timeutil import from_epoch_s
from huracan.hamilton.outbox import Outbox
from huracan.registry import GateDecision, MetaLabelGate, ModelRegistry, ModelVerificationError

__all__ = [
    "Adoption",
    "ApiUnavailable",
    "HamiltonClient",
    "HttpResponse",
    "OutcomeConflict",
    "OutcomeReceipt",
    "OutcomeRejected",
    "PublishedModel",
    "Transport",
    "urllib_transport",
]

if TYPE_CHECKING:  # botocore only when a signer is given (huracan.hamilton.sigv4)
    from huracan.hamilton.sigv4 import SigV4Signer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Transport(Protocol):
    """One HTTP exchange; raises ``OSError`` (or ``http.client.HTTPException``) when nothing came back."""

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout_s: float
    ) -> HttpResponse: ...


def urllib_transport(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout_s: float
) -> HttpResponse:
    """The default transport (standard library only; Hamilton needs no extra HTTP dependency)."""
    req = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return HttpResponse(resp.status, resp.read(), dict(resp.headers.items()))
    except urllib.error.HTTPError as err:  # a real answer with a 4xx/5xx status
        return HttpResponse(err.code, err.read(), dict(err.headers.items()) if err.headers else {})


class OutcomeRejected(Exception):
    """The API refused the outcome for good (4xx): fix the data or the credentials, do not retry."""

    def __init__(self, status: int, body: Any) -> None:
        info = body if isinstance(body, dict) else {}
        self.status = status
        self.error = str(info.get("error", "http_error"))
        self.field = info.get("field")
        self.body = body
        super().__init__(
            f"HTTP {status} {self.error}"
            + (f" ({self.field})" if self.field else "")
            + f": {info.get('message', body)}"
        )


class OutcomeConflict(OutcomeRejected):
    """409: this trade_id is already recorded with different content."""


class ApiUnavailable(Exception):
    """Every attempt failed with a connection error, 429 or 5xx."""

    def __init__(self, message: str, *, attempts: int, last_status: int | None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_status = last_status


@dataclass(frozen=True, slots=True)
class OutcomeReceipt:
    """A 201 (``created``) or 200 (``duplicate``) answer and how many attempts it took."""

    trade_id: str
    status_code: int
    status: str
    payload_sha256: str
    received_at: str
    attempts: int


@dataclass(frozen=True, slots=True)
class PublishedModel:
    """``GET /api/models/latest``."""

    name: str
    model_id: str
    version: int
    manifest_sha256: str
    created_at: str | None
    metrics: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Adoption:
    """When this client started using a model (its clock), for logs and the simulator's report."""

    model_id: str
    version: int | None
    adopted_at: str


def _key_bytes(hmac_key: str | bytes) -> bytes:
    """The key itself, or the secret's JSON ``{"hmac_key": ...}`` as stored in Secrets Manager."""
    if isinstance(hmac_key, bytes):
        return hmac_key
    text = hmac_key.strip()
    if text.startswith("{"):
        value = json.loads(text).get("hmac_key")
        if not isinstance(value, str) or not value:
            raise ValueError("secret JSON has no 'hmac_key'")
        return value.encode("utf-8")
    if not text:
        raise ValueError("empty HMAC key")
    return text.encode("utf-8")


def _feature_value(name: str, value: Any) -> float | None:
    """JSON-safe feature: NaN (LightGBM's missing value) travels as null; anything else must be finite."""
    if value is None:
        return None
    x = float(value)
    if math.isnan(x):
        return None
    if math.isinf(x):
        raise ValueError(f"feature {name!r} is infinite")
    return x


class HamiltonClient:
    """Load, verify and use the published model; post outcomes signed with Hamilton's HMAC key."""

    RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

    def __init__(
        self,
        api_url: str,
        hmac_key: str | bytes,
        registry: ModelRegistry,
        *,
        name: str = "meta_label",
        threshold: float = 0.45,
        clock: Callable[[], float] = time.time,
        timeout_s: float = 10.0,
        max_attempts: int = 5,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: Transport = urllib_transport,
        rng: random.Random | None = None,
        outbox: Outbox | str | os.PathLike[str] | None = None,
        key_source: Callable[[], str | bytes] | None = None,
        sigv4: SigV4Signer | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.api_url = api_url.rstrip("/")
        self._key = _key_bytes(hmac_key)
        self.registry = registry
        self.name = name
        self.threshold = threshold
        self.clock = clock
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._transport = transport
        #: signs every request for API Gateway's IAM auth (None: a stand-in without it, e.g. a unit test)
        self._sigv4 = sigv4
        self._rng = rng or random.Random()
        self._gate: MetaLabelGate | None = None
        self._version: int | None = None
        self._last_signed = 0.0
        self._attempts = 0
        self.adoptions: list[Adoption] = []
        #: Outcomes not yet acknowledged by the API, on disk (None: post() raises and the caller keeps them).
        self.outbox: Outbox | None = outbox if isinstance(outbox, Outbox) or outbox is None else Outbox(outbox)
        self._key_source = key_source
        if self.outbox is not None:  # the newest signed pointer followed by an earlier run: no going back past it
            seen = self.outbox.seen_pointer(name)
            if seen is not None:
                self.registry.remember_pointer(seen)

    # --- the model --------------------------------------------------------------------------------

    @property
    def model_id(self) -> str | None:
        """The model in use (None before the first successful load)."""
        return self._gate.model_id if self._gate is not None else None

    @property
    def gate(self) -> MetaLabelGate:
        if self._gate is None:
            raise RuntimeError("no model loaded: call load_latest() first")
        return self._gate

    def load_latest(self) -> str:
        """Load and verify the published model (the seed's sequence); adopt it if it is new.

        A model that fails verification is never used: with a model already in use, that one is kept
        (the registry logs why and keeps the error in ``registry.last_errors``); without one, the
        registry's :class:`~huracan.registry.ModelVerificationError` propagates.
        """
        model_id, model = self.registry.load_latest_model(self.name)
        if model_id == self.model_id:
            return model_id
        if not self.registry.verify_model(model_id):
            err = self.registry.last_errors.get(model_id)
            if self._gate is not None:
                log.error("keeping %s: %s failed verification: %s", self.model_id, model_id, err)
                return self._gate.model_id
            raise ModelVerificationError(f"published model failed verification: {err}", model_id=model_id)
        self._gate = MetaLabelGate(model=model, threshold=self.threshold, model_id=model_id)
        followed = self.registry.seen_pointer(self.name)
        if self.outbox is not None and followed is not None:
            self.outbox.remember_pointer(followed)
        version = model.metadata.get("version")
        self._version = int(version) if version is not None else None
        self.adoptions.append(Adoption(model_id, self._version, from_epoch_s(self.clock())))
        log.info("adopted %s %s v%s", self.name, model_id, self._version)
        return model_id

    def refresh(self) -> bool:
        """Ask the API what is published; load it if it is not what we use. True when a new model was adopted.

        The API is only a hint: what is loaded is always verified through the registry.
        """
        published = self.published()
        if published is None or published.model_id == self.model_id:
            return False
        before = self.model_id
        return self.load_latest() != before

    def evaluate(self, features: Mapping[str, Any]) -> GateDecision:
        """The meta-label gate's decision for one signal (carries the model_id to put on the outcome)."""
        return self.gate.evaluate(features)

    # --- the API ----------------------------------------------------------------------------------

    def published(self) -> PublishedModel | None:
        """``GET /api/models/latest``; None when nothing is published (404)."""
        query = urllib.parse.urlencode({"name": self.name})
        resp = self._send("GET", f"{self.api_url}/api/models/latest?{query}", None)
        if resp.status == 404:
            return None
        data = resp.json()
        if resp.status != 200:
            raise OutcomeRejected(resp.status, data)
        return PublishedModel(
            name=str(data["name"]),
            model_id=str(data["model_id"]),
            version=int(data["version"]),
            manifest_sha256=str(data["manifest_sha256"]),
            created_at=data.get("created_at"),
            metrics=dict(data.get("metrics") or {}),
        )

    def post_outcome(
        self,
        trade_id: str,
        *,
        features: Mapping[str, Any],
        outcome: str,
        pnl_bps: float,
        duration_sec: float,
        model_id: str | None = None,
        **columns: Any,
    ) -> OutcomeReceipt:
        """Post one closed trade; ``model_id`` defaults to the model in use. ``columns`` are the seed's
        ``trades`` columns (``ts_open``, ``symbol``, ``side``, ``entry_price`` ...)."""
        used = model_id or self.model_id
        if used is None:
            raise RuntimeError("no model_id: load a model first or pass model_id")
        payload: dict[str, Any] = {
            "trade_id": trade_id,
            "model_id": used,
            "features": {str(k): _feature_value(str(k), v) for k, v in features.items()},
            "outcome": outcome,
            "pnl_bps": float(pnl_bps),
            "duration_sec": float(duration_sec),
        }
        payload.update({k: v for k, v in columns.items() if v is not None})
        return self.post(payload)

    def post(self, payload: Mapping[str, Any]) -> OutcomeReceipt:
        """Post a ready payload (the API's TradeOutcome shape).

        With an outbox the payload is queued on disk first and stays there when this call fails
        (:class:`ApiUnavailable`, or a 401/403 :class:`OutcomeRejected`); :meth:`flush` delivers it later.
        """
        if self.outbox is None:
            return self._post_once(payload)
        entry = self.outbox.add(payload)
        try:
            receipt = self._post_once(payload)
        except (ApiUnavailable, OutcomeRejected) as err:
            self._settle(entry, err)
            raise
        self.outbox.delivered(entry.key)
        return receipt

    def flush(self, *, force: bool = False) -> list[OutcomeReceipt]:
        """Send every queued outcome whose backoff has passed (all of them with ``force``); returns receipts.

        One attempt per outcome per call: the backoff between calls is the outbox's, so a long outage
        costs one request per outcome per backoff step, not a tight loop.
        """
        if self.outbox is None:
            return []
        receipts: list[OutcomeReceipt] = []
        now = self.clock()
        for entry in self.outbox.pending() if force else self.outbox.due(now):
            try:
                receipt = self._post_once(entry.payload, attempts=1)
            except (ApiUnavailable, OutcomeRejected) as err:
                self._settle(entry, err)
                continue
            self.outbox.delivered(entry.key)
            receipts.append(receipt)
        return receipts

    def _settle(self, entry: Any, err: Exception) -> None:
        """A failed delivery: final refusals go to ``rejected/``; everything else waits for the next flush."""
        assert self.outbox is not None
        if isinstance(err, OutcomeRejected) and err.status not in (401, 403):
            self.outbox.rejected(entry, err.status, err.body)
            log.error("outcome %s refused for good: %s", entry.payload.get("trade_id"), err)
        else:
            self.outbox.failed(entry, self.clock(), str(err))
            log.warning("outcome %s kept in the outbox: %s", entry.payload.get("trade_id"), err)

    def _post_once(self, payload: Mapping[str, Any], *, attempts: int | None = None) -> OutcomeReceipt:
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
        url = f"{self.api_url}/api/trade_outcome"
        resp = self._send("POST", url, body, signed=True, attempts=attempts)
        if resp.status in (401, 403) and self._key_source is not None:
            fresh = _key_bytes(self._key_source())
            if fresh != self._key:  # rotated: sign again with the new key, once
                self._key = fresh
                resp = self._send("POST", url, body, signed=True, attempts=attempts)
        data = resp.json()
        if resp.status in (200, 201):
            return OutcomeReceipt(
                trade_id=str(data["trade_id"]),
                status_code=resp.status,
                status=str(data["status"]),
                payload_sha256=str(data["payload_sha256"]),
                received_at=str(data["received_at"]),
                attempts=self._attempts,
            )
        if resp.status == 409:
            raise OutcomeConflict(resp.status, data)
        raise OutcomeRejected(resp.status, data)

    # --- transport with retries --------------------------------------------------------------------

    def _signing_time(self) -> float:
        """The clock, but strictly after the previous signature (a frozen or coarse clock must not make a
        retry's signature identical to the first attempt's, which the API would refuse as a replay)."""
        now = round(max(self.clock(), self._last_signed + 0.001), 6)
        self._last_signed = now
        return now

    def _send(
        self, method: str, url: str, body: bytes | None, *, signed: bool = False, attempts: int | None = None
    ) -> HttpResponse:
        last_status: int | None = None
        last_error = ""
        max_attempts = self.max_attempts if attempts is None else attempts
        for attempt in range(1, max_attempts + 1):
            self._attempts = attempt
            headers = {"Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            if signed:
                headers.update(sign_headers(self._key, body or b"", self._signing_time()))
            if self._sigv4 is not None:  # every attempt is signed anew (its own X-Amz-Date)
                headers = self._sigv4.sign(method, url, headers, body)
            try:
                resp = self._transport(method, url, headers, body, self.timeout_s)
            except (OSError, http.client.HTTPException) as exc:
                last_status, last_error = None, f"{type(exc).__name__}: {exc}"
            else:
                if resp.status not in self.RETRY_STATUSES:
                    return resp
                last_status, last_error = resp.status, resp.body[:200].decode("utf-8", "replace")
            if attempt < max_attempts:
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                delay = self._rng.uniform(delay / 2, delay)
                log.warning("%s %s failed (%s); retry %d in %.2f s", method, url, last_error, attempt, delay)
                self._sleep(delay)
        raise ApiUnavailable(
            f"{method} {url}: {max_attempts} attempts failed; last: {last_error}",
            attempts=max_attempts,
            last_status=last_status,
        )
