"""The outcome API's request and response bodies (pydantic), and the canonical form of a trade outcome.

Why so strict: these rows train the next model. A typo'd field (``pnl_bp``) silently dropped, a price of
``"NaN"`` or a boolean where a number belongs would poison training without anyone noticing, so unknown
fields are refused, numbers must be finite JSON numbers within sane bounds, and ``model_id`` must be a
registry id. Column names are the seed's ``trades`` columns (``ARCHITECTURE.md``).

Why a canonical form: ``trade_id`` makes the POST idempotent, and "the same outcome again" must not depend
on key order, whitespace, ``480`` vs ``480.0`` or an explicit ``null`` vs an absent field. The SHA256 of
:func:`canonical_json` is stored on the trade and compared on a repeat.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from huracan.core.timeutil import format_ts, parse_ts

__all__ = [
    "MAX_FEATURES",
    "ErrorBody",
    "LatestModel",
    "OutcomeAccepted",
    "TradeOutcome",
    "canonical_json",
    "content_sha256",
]

MAX_FEATURES = 256
_ISO_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"


def _utc_iso(value: str) -> str:
    """Normalise to ``format_ts`` (so equal instants compare equal) after checking it really parses."""
    return format_ts(parse_ts(value))


#: DynamoDB stores numbers of magnitude 1e-130 .. 1e126 only: a smaller non-zero float (e.g. 3e-183, which
#: the fuzz suite sent) made the table refuse the row and the API answer 500. Such a number is zero for every
#: purpose here (bps, GBP, seconds), so it underflows to 0.0 as IEEE arithmetic would, before hashing.
MIN_STORABLE = 1e-130


def _storable(value: float) -> float:
    return 0.0 if abs(value) < MIN_STORABLE else value


Storable = AfterValidator(_storable)
UtcTimestamp = Annotated[
    str, Field(pattern=_ISO_Z, description="UTC ISO-8601 with a trailing Z"), AfterValidator(_utc_iso)
]
Price = Annotated[
    float, Field(allow_inf_nan=False, gt=0.0, le=1e9, description="a price in the quote currency"), Storable
]
Bps = Annotated[float, Field(allow_inf_nan=False, ge=-100_000.0, le=100_000.0, description="basis points"), Storable]
Gbp = Annotated[float, Field(allow_inf_nan=False, ge=-1e8, le=1e8, description="an amount in GBP"), Storable]
Fee = Annotated[
    float, Field(allow_inf_nan=False, ge=0.0, le=1e6, description="a fee in GBP (never negative)"), Storable
]
SizeGbp = Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=1e8, description="position size in GBP"), Storable]
DurationSec = Annotated[
    float, Field(allow_inf_nan=False, ge=0.0, le=30 * 86_400.0, description="seconds from entry to exit"), Storable
]
FeatureName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]{0,63}$")]
FeatureValue = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12), Storable]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]


class TradeOutcome(BaseModel):
    """``POST /api/trade_outcome``: one closed live trade from Hamilton (DESIGN §6 + the seed's ``trades``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, title="TradeOutcome")

    trade_id: Identifier = Field(description="Hamilton's id of the live trade; the idempotency key")
    model_id: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] = Field(
        description="the registry id of the model Hamilton used for this trade"
    )
    features: Annotated[dict[FeatureName, FeatureValue | None], Field(min_length=1, max_length=MAX_FEATURES)] = Field(
        description="the features at entry, by name; null = missing value"
    )
    outcome: Literal["WIN", "LOSS", "BREAKEVEN"]
    pnl_bps: Bps
    duration_sec: DurationSec
    # The seed's `trades` columns, when Hamilton sends them.
    ts_open: UtcTimestamp | None = None
    symbol: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$")] | None = None
    mode: Literal["scalp", "runner"] | None = None
    side: Literal["long", "short"] | None = None
    entry_price: Price | None = None
    exit_price: Price | None = None
    size_gbp: SizeGbp | None = None
    fee_entry_gbp: Fee | None = None
    fee_exit_gbp: Fee | None = None
    pnl_gbp: Gbp | None = None
    return_bps: Bps | None = None
    engine_shadow_id: Identifier | None = None
    tags: Annotated[str, Field(max_length=1024)] | None = None
    status: Literal["open", "closed"] | None = None


class OutcomeAccepted(BaseModel):
    """201 (recorded now) or 200 (an identical repeat: already recorded, nothing written)."""

    model_config = ConfigDict(extra="forbid", title="OutcomeAccepted")

    trade_id: str
    status: Literal["created", "duplicate"]
    payload_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    received_at: str = Field(description="when the engine first recorded this trade (UTC ISO-8601 Z)")


class LatestModel(BaseModel):
    """``GET /api/models/latest``: what ``latest.json`` points at, with the signed model card's metrics."""

    model_config = ConfigDict(extra="forbid", title="LatestModel")

    name: str
    model_id: str
    version: int
    manifest_sha256: str
    created_at: str | None
    metrics: dict[str, Any]


class ErrorBody(BaseModel):
    """Every non-2xx answer: a machine-readable ``error``, the ``field`` at fault, a readable ``message``."""

    model_config = ConfigDict(title="Error")

    error: str
    field: str | None
    message: str
    errors: list[dict[str, Any]] | None = Field(default=None, description="422 only: every failing field")


def canonical_json(data: Any) -> str:
    """Sorted keys, no whitespace, no NaN: one text per content."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_sha256(outcome: TradeOutcome) -> str:
    """SHA256 of the outcome's canonical JSON (absent == null; numbers as validated floats)."""
    data = outcome.model_dump(mode="json", exclude_none=True)
    data["features"] = outcome.features  # keep explicit nulls inside features: a missing value is content
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
