"""The committed OpenAPI document against the app: same routes and methods, same schemas, every status."""

from __future__ import annotations

from typing import Any

import yaml

from huracan.api import errors
from huracan.api.models import TradeOutcome
from huracan.api.openapi import DOCUMENT_PATH, main, openapi_document, render, schema_of
from huracan.local.api_server import load_app


def committed() -> dict[str, Any]:
    data = yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_committed_document_is_the_generated_one() -> None:
    assert committed() == openapi_document()
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render()
    assert main(["--check"]) == 0


def test_paths_and_methods_match_the_chalice_routes() -> None:
    app = load_app()
    routes = {path: {m.lower() for m in entries} for path, entries in app.routes.items()}
    documented = {path: set(ops) for path, ops in committed()["paths"].items()}
    assert routes == documented


def test_request_body_schema_is_the_pydantic_model() -> None:
    doc = committed()
    ref = doc["paths"]["/api/trade_outcome"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[-1]
    assert doc["components"]["schemas"][name] == schema_of(TradeOutcome) == TradeOutcome.model_json_schema()
    body = doc["components"]["schemas"][name]
    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"trade_id", "model_id", "features", "outcome", "pnl_bps", "duration_sec"}


def test_every_status_the_app_can_answer_is_documented() -> None:
    doc = committed()
    post = set(doc["paths"]["/api/trade_outcome"]["post"]["responses"])
    get = set(doc["paths"]["/api/models/latest"]["get"]["responses"])
    app_statuses = {
        str(cls.status) for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.ApiError)
    }
    # 404 is only the GET's, 409/413/415/422 only the POST's
    assert app_statuses - {"404"} <= post and {"200", "201", "401", "403"} <= post
    assert {"200", "400", "404", "500", "503"} <= get
    for responses in (post, get):
        for status in responses:
            assert status.isdigit()
