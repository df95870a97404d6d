"""HTTP glue for the Chalice routes: auth, parsing, and the one place errors become HTTP answers.

The routes in ``functions/outcome_api/app.py`` are one line each and call :func:`post_trade_outcome` /
:func:`get_latest_model`. Everything they need lives in an :class:`ApiContext`, built lazily from the
environment on the first request (so importing the app does no I/O) or installed with :func:`configure`
(tests, the local API server).

Order of checks for ``POST /api/trade_outcome``: size (413) -> signature (401) -> JSON (400) -> schema
(422) -> write (201 / 200 / 409). The signature is checked before the body is parsed, so an unauthenticated
caller learns nothing about the schema and cannot make the parser work.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalice.app import Request, Response
from pydantic import ValidationError

from huracan.adapters.errors import AdapterError, PermanentError, TransientError
from huracan.adapters.secrets import SecretCache
from huracan.adapters.settings import SettingsError
from huracan.adapters.tables import bind_tables
from huracan.api.auth import KeyProvider, MemoryReplayGuard, ReplayGuard, verify_request
from huracan.api.clock import Clock, api_clock, clock_from_spec
from huracan.api.dal import DynamoReplayGuard, DynamoTradesStore
from huracan.api.errors import ApiError, BadRequest, PayloadTooLarge, ServiceUnavailable, unprocessable_from
from huracan.api.models import TradeOutcome
from huracan.api.service import LatestModelReader, OutcomeService
from huracan.api.settings import DEFAULT_MAX_BODY_BYTES, OutcomeApiSettings
from huracan.registry import ModelNotFoundError, ModelRegistry, RegistryError

__all__ = [
    "ApiContext",
    "configure",
    "context",
    "error_response",
    "get_latest_model",
    "json_response",
    "parse_outcome",
    "post_trade_outcome",
    "registry_from_settings",
]

log = logging.getLogger(__name__)


@dataclass
class ApiContext:
    """Everything a request needs, wired once per container."""

    outcomes: OutcomeService
    latest: LatestModelReader
    key: KeyProvider
    replay_guard: ReplayGuard
    clock: Clock
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def now(self) -> float:
        """The API clock (an in-process override from :func:`huracan.api.clock.set_api_clock` wins)."""
        return api_clock(self.clock)()

    @classmethod
    def from_settings(cls, settings: OutcomeApiSettings) -> ApiContext:
        secrets = SecretCache(settings)
        clock = clock_from_spec(settings.api_clock)
        guard: ReplayGuard
        if settings.idempotency_table:
            guard = DynamoReplayGuard(settings.idempotency_table, settings)
        else:
            guard = MemoryReplayGuard(lambda: api_clock(clock)())
        registry: ModelRegistry | None = None

        def get_registry() -> ModelRegistry:
            nonlocal registry
            if registry is None:
                registry = registry_from_settings(settings)
            return registry

        return cls(
            outcomes=OutcomeService(DynamoTradesStore(bind_tables(settings))),
            latest=LatestModelReader(get_registry),
            key=lambda refresh: secrets.hmac_keys(settings.hmac_secret_arn, refresh=refresh),
            replay_guard=guard,
            clock=clock,
            max_body_bytes=settings.max_body_bytes,
        )


def registry_from_settings(settings: OutcomeApiSettings) -> ModelRegistry:
    """The registry the API reads ``latest.json`` from, with clients at the configured endpoint."""
    if settings.model_path:
        return ModelRegistry(base_path=settings.model_path)
    if not settings.model_bucket:
        raise ServiceUnavailable("registry_not_configured", "set MODEL_BUCKET or HURACAN_MODEL_PATH", retry_after_s=60)
    from huracan.adapters.clients import client
    from huracan.adapters.kms_signer import KmsSigner
    from huracan.adapters.s3_store import S3Store

    store = S3Store(settings.model_bucket, "models", client=client("s3", settings))
    signer = None
    if settings.model_signing_key_id:
        signer = KmsSigner(settings.model_signing_key_id, client=client("kms", settings))
    return ModelRegistry(base_path=f"s3://{settings.model_bucket}/models", signer=signer, store=store)


_context: ApiContext | None = None
_lock = threading.Lock()


def configure(ctx: ApiContext | None) -> None:
    """Install a context (tests, the local API server); ``None`` makes the next request read the env."""
    global _context
    with _lock:
        _context = ctx


def context() -> ApiContext:
    """The installed context, else one built from the environment (once per container)."""
    global _context
    with _lock:
        if _context is None:
            _context = ApiContext.from_settings(OutcomeApiSettings.from_env())
        return _context


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(exc: BaseException) -> Response:
    """The single mapping from a failure to an HTTP answer (``{"error", "field", "message"}``)."""
    if isinstance(exc, ApiError):
        if exc.status >= 500:
            log.warning("%s: %s", exc.error, exc.message)
        return json_response(exc.status, exc.body(), exc.headers)
    if isinstance(exc, ModelNotFoundError):
        return json_response(404, {"error": "no_model", "field": "name", "message": str(exc)})
    if isinstance(exc, RegistryError):
        log.error("published model refused: %s", exc)
        return error_response(ServiceUnavailable("model_refused", f"the published model failed verification: {exc}"))
    if isinstance(exc, TransientError):
        log.warning("transient backend failure: %s", exc)
        return error_response(ServiceUnavailable("backend_unavailable", "a backend is temporarily unavailable"))
    if isinstance(exc, SettingsError):
        log.error("misconfigured: %s", exc)
        return json_response(500, {"error": "misconfigured", "field": None, "message": "the API is misconfigured"})
    if isinstance(exc, PermanentError | AdapterError):
        log.error("backend refused: %s", exc)
    else:
        log.exception("unhandled error", exc_info=exc)
    return json_response(500, {"error": "internal_error", "field": None, "message": "internal error"})


def _duplicate_keys_refused(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise BadRequest("duplicate_key", f"key {k!r} appears twice", field=k)
        out[k] = v
    return out


def _no_constants(name: str) -> Any:
    raise BadRequest("invalid_json", f"{name} is not a JSON number")


#: How deep a body may nest (an outcome is 2 levels: the object and its ``features``). Deeper bodies used to
#: reach Python's recursion limit (990+ levels) in the parser or the validator and answer 500.
MAX_NESTING = 20


def _too_deep(data: Any, limit: int = MAX_NESTING) -> bool:
    """True when ``data`` nests more than ``limit`` objects/arrays deep (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def _nesting_refused() -> BadRequest:
    return BadRequest("too_deep", f"body: nested deeper than the limit of {MAX_NESTING} levels", field="body")


def parse_outcome(body: bytes) -> TradeOutcome:
    """Raw bytes -> a validated outcome: 400 for non-JSON / non-object / duplicate keys / nesting beyond
    :data:`MAX_NESTING`, 422 for the schema."""
    try:
        data = json.loads(body.decode("utf-8"), object_pairs_hook=_duplicate_keys_refused, parse_constant=_no_constants)
    except RecursionError:
        raise _nesting_refused() from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("invalid_json", f"body is not UTF-8 JSON: {exc}") from exc
    if _too_deep(data):
        raise _nesting_refused()
    if not isinstance(data, dict):
        raise BadRequest("invalid_body", "body must be a JSON object")
    try:
        return TradeOutcome.model_validate(data)
    except ValidationError as exc:
        raise unprocessable_from(exc) from exc


def _request(request: Request | None) -> Request:
    if request is None:  # only outside a request (a route called directly)
        raise RuntimeError("no current request")
    return request


def _handle(route: Callable[[ApiContext], Response]) -> Response:
    try:
        return route(context())
    except Exception as exc:  # every failure leaves through error_response
        return error_response(exc)


def post_trade_outcome(request: Request | None) -> Response:
    """``POST /api/trade_outcome``."""

    def run(ctx: ApiContext) -> Response:
        raw = _request(request).raw_body or b""
        body = raw.encode("utf-8") if isinstance(raw, str) else raw
        if len(body) > ctx.max_body_bytes:
            raise PayloadTooLarge("body_too_large", f"body is {len(body)} bytes; the limit is {ctx.max_body_bytes}")
        now = ctx.now()
        verify_request(_request(request).headers, body, key=ctx.key, now=now, replay_guard=ctx.replay_guard)
        outcome = parse_outcome(body)
        result = ctx.outcomes.record(outcome, received_at=now)
        return json_response(result.status, result.body.model_dump(mode="json"))

    return _handle(run)


def get_latest_model(request: Request | None) -> Response:
    """``GET /api/models/latest?name=meta_label``."""

    def run(ctx: ApiContext) -> Response:
        params: Mapping[str, str] = _request(request).query_params or {}
        name = params.get("name") or "meta_label"
        return json_response(200, ctx.latest.latest(name).model_dump(mode="json"))

    return _handle(run)
