"""OutcomeApiFunction: Hamilton's API (DESIGN §6), a Chalice app; routes only.

SAM deploys this module as a plain function (Handler ``app.app``) behind API Gateway with IAM auth;
``chalice local`` (run from this folder) or :mod:`huracan.local.api_server` serves the same app on
loopback. Auth, validation, idempotency and error mapping live in :mod:`huracan.api`; importing this
module does no I/O (the context is built on the first request).
"""

from __future__ import annotations

from chalice.app import Chalice, Response

from huracan.api import handlers

__all__ = ["app"]

app = Chalice(app_name="huracan-outcome-api")


@app.route("/api/trade_outcome", methods=["POST"], content_types=["application/json"])
def trade_outcome() -> Response:
    return handlers.post_trade_outcome(app.current_request)


@app.route("/api/models/latest", methods=["GET"])
def latest_model() -> Response:
    return handlers.get_latest_model(app.current_request)
