"""What the outcome API answers when a request is refused, as data: status, error code, offending field.

Every refusal is an :class:`ApiError`; :func:`huracan.api.handlers.error_response` is the one place that
turns it (and the adapters' / registry's errors) into an HTTP answer ``{"error", "field", "message"}``, so
Hamilton can branch on ``error`` and a human can read ``message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationError

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "Unauthorized",
    "Unprocessable",
    "UnsupportedMediaType",
    "field_of",
    "unprocessable_from",
]


class ApiError(Exception):
    """A refusal with its HTTP status; ``field`` names the header or body field at fault (dotted path)."""

    status: ClassVar[int] = 500

    def __init__(
        self, error: str, message: str, *, field: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.field = field
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "field": self.field, "message": self.message}


class BadRequest(ApiError):
    """The body is not a JSON object (or has duplicate keys): nothing to validate."""

    status = 400


class Unauthorized(ApiError):
    """Missing, malformed, stale, wrong or replayed HMAC credentials."""

    status = 401

    def __init__(self, error: str, message: str, *, field: str | None = None) -> None:
        super().__init__(error, message, field=field, headers={"WWW-Authenticate": 'HMAC-SHA256 realm="huracan"'})


class NotFound(ApiError):
    """Nothing published under that model name."""

    status = 404


class Conflict(ApiError):
    """The trade_id is already recorded with different content."""

    status = 409


class PayloadTooLarge(ApiError):
    """The body is over the limit; refused before it is parsed or its signature computed."""

    status = 413


class UnsupportedMediaType(ApiError):
    """Only ``application/json`` bodies are accepted."""

    status = 415


class Unprocessable(ApiError):
    """A JSON object that fails the request schema; ``field`` is the first failing field."""

    status = 422

    def __init__(self, message: str, *, field: str | None, errors: list[dict[str, Any]]) -> None:
        super().__init__("validation_error", message, field=field)
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {**super().body(), "errors": self.errors}


class ServiceUnavailable(ApiError):
    """A backend (DynamoDB, Secrets Manager, the registry) failed transiently or is not configured."""

    status = 503

    def __init__(self, error: str, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(error, message, headers={"Retry-After": str(retry_after_s)})


def field_of(loc: tuple[int | str, ...]) -> str | None:
    """A pydantic error location as a dotted field name (``features.rsi_14``); None for the body itself."""
    return ".".join(str(p) for p in loc) or None


def unprocessable_from(exc: ValidationError) -> Unprocessable:
    """A 422 naming the first bad field, with every error (location, type, message; never the input)."""
    errors = [{"field": field_of(e["loc"]), "type": e["type"], "message": e["msg"]} for e in exc.errors()]
    first = errors[0] if errors else {"field": None, "message": "invalid"}
    field = first["field"]
    return Unprocessable(f"{field or 'body'}: {first['message']}", field=field, errors=errors)
