"""Hamilton's outcome API: request models, HMAC auth, idempotent trade writes, error mapping.

The Chalice routes (``functions/outcome_api/app.py``) call :mod:`huracan.api.handlers`; Hamilton's side
signs with :func:`huracan.api.auth.sign_headers` (through :class:`huracan.hamilton.HamiltonClient`).
"""

from __future__ import annotations

from huracan.api.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, compute_signature, sign_headers, verify_request
from huracan.api.clock import set_api_clock
from huracan.api.errors import ApiError
from huracan.api.models import LatestModel, OutcomeAccepted, TradeOutcome, content_sha256

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ApiError",
    "LatestModel",
    "OutcomeAccepted",
    "TradeOutcome",
    "compute_signature",
    "content_sha256",
    "set_api_clock",
    "sign_headers",
    "verify_request",
]
