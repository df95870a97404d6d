"""The OpenAPI 3.1 document of the outcome API, generated from the same pydantic models the app validates.

``openapi/outcome_api.yaml`` is committed (reviewers and Hamilton's developers read it); a test regenerates
it with :func:`openapi_document` and requires equality, and checks its paths against the Chalice app's
routes, so the document cannot drift from the code. Regenerate with
``python -m huracan.api.openapi --write`` (``--check`` exits 1 when the file is stale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from huracan.api.auth import MAX_SKEW_S, SIGNATURE_HEADER, TIMESTAMP_HEADER
from huracan.api.models import ErrorBody, LatestModel, OutcomeAccepted, TradeOutcome
from huracan.api.settings import DEFAULT_MAX_BODY_BYTES

__all__ = ["DOCUMENT_PATH", "main", "openapi_document", "render", "schema_of"]

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "openapi" / "outcome_api.yaml"
_REF = "#/components/schemas/{model}"
_MODELS: tuple[type[BaseModel], ...] = (TradeOutcome, OutcomeAccepted, LatestModel, ErrorBody)


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema as the document embeds it (refs into ``components/schemas``)."""
    schema = model.model_json_schema(ref_template=_REF)
    schema.pop("$defs", None)
    return schema


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.model_config.get("title") or model.__name__)}


def _json(model: type[BaseModel], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": _ref(model)}}}
    if headers:
        out["headers"] = headers
    return out


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return _json(ErrorBody, description, headers)


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}}
_GATEWAY_403 = {
    "description": "Refused by API Gateway: the caller's SigV4 (IAM) credentials are missing or not allowed "
    "(in AWS only; the app itself answers 401)",
    "content": {"application/json": {"schema": {"type": "object", "properties": {"message": {"type": "string"}}}}},
}


def openapi_document() -> dict[str, Any]:
    """The whole document as plain data."""
    skew = int(MAX_SKEW_S)
    components: dict[str, Any] = {
        "schemas": {m.model_config.get("title") or m.__name__: schema_of(m) for m in _MODELS},
        "securitySchemes": {
            "sigv4": {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "description": "AWS SigV4 (API Gateway AWS_IAM authorizer); not checked by `chalice local`",
                "x-amazon-apigateway-authtype": "awsSigv4",
            }
        },
        "parameters": {
            "Timestamp": {
                "name": TIMESTAMP_HEADER,
                "in": "header",
                "required": True,
                "description": f"When the request was signed (UTC ISO-8601 Z); refused when more than {skew} s "
                "from the API's clock, either way",
                "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"},
            },
            "Signature": {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": True,
                "description": f"'v1=' + hex HMAC-SHA256 over {TIMESTAMP_HEADER} + '\\n' + the raw body, keyed with "
                'the Secrets Manager secret HAMILTON_HMAC_SECRET_ARN ({"hmac_key": ...}); each signature is '
                "accepted once",
                "schema": {"type": "string", "pattern": "^v1=[0-9a-f]{64}$"},
            },
        },
    }
    post = {
        "operationId": "postTradeOutcome",
        "summary": "Record the outcome of one of Hamilton's live trades (idempotent on trade_id)",
        "security": [{"sigv4": []}],
        "parameters": [
            {"$ref": "#/components/parameters/Timestamp"},
            {"$ref": "#/components/parameters/Signature"},
        ],
        "requestBody": {
            "required": True,
            "description": f"At most {DEFAULT_MAX_BODY_BYTES} bytes of UTF-8 JSON; unknown fields are refused",
            "content": {"application/json": {"schema": _ref(TradeOutcome)}},
        },
        "responses": {
            "200": _json(OutcomeAccepted, "An identical repeat (same canonical content): already recorded"),
            "201": _json(OutcomeAccepted, "Recorded"),
            "400": _error("The body is not a JSON object (invalid JSON, NaN, duplicate keys)"),
            "401": _error(
                "Missing, malformed, stale, wrong or replayed signature (error names which; field names the header)",
                {"WWW-Authenticate": {"schema": {"type": "string"}}},
            ),
            "403": _GATEWAY_403,
            "409": _error("The trade_id is already recorded with different content (field: trade_id)"),
            "413": _error(f"The body is over {DEFAULT_MAX_BODY_BYTES} bytes"),
            "415": {
                "description": "Content-Type is not application/json (answered by Chalice)",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}},
                        }
                    }
                },
            },
            "422": _error("The body fails the schema; field names the first bad field, errors lists all"),
            "500": _error("Internal error or misconfiguration"),
            "503": _error("A backend (DynamoDB, Secrets Manager) failed transiently; retry", _RETRY_AFTER),
        },
    }
    get = {
        "operationId": "getLatestModel",
        "summary": "Which model is published (what Hamilton should load and verify)",
        "security": [{"sigv4": []}],
        "parameters": [
            {
                "name": "name",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", "default": "meta_label"},
            }
        ],
        "responses": {
            "200": _json(LatestModel, "latest.json and the signed model card's metrics"),
            "400": _error("Invalid model name"),
            "403": _GATEWAY_403,
            "404": _error("Nothing published under that name"),
            "500": _error("Internal error or misconfiguration"),
            "503": _error("The published model failed verification, or the registry is unreachable", _RETRY_AFTER),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Huracan outcome API",
            "version": "1.0.0",
            "description": "Hamilton -> Huracan: live trade outcomes in, the published model out (DESIGN §6). "
            "Generated by huracan.api.openapi from the models the app validates with.",
        },
        "paths": {"/api/trade_outcome": {"post": post}, "/api/models/latest": {"get": get}},
        "components": components,
    }


def render(document: dict[str, Any] | None = None) -> str:
    """The document as YAML (key order kept, so the file reads top-down)."""
    return yaml.safe_dump(document or openapi_document(), sort_keys=False, allow_unicode=True, width=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huracan.api.openapi", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"write {DOCUMENT_PATH}")
    group.add_argument("--check", action="store_true", help="exit 1 if the committed document is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        DOCUMENT_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOCUMENT_PATH.write_text(text, encoding="utf-8")
        return 0
    if args.check:
        current = DOCUMENT_PATH.read_text(encoding="utf-8") if DOCUMENT_PATH.exists() else ""
        if current != text:
            print(f"{DOCUMENT_PATH} is stale: run python -m huracan.api.openapi --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
