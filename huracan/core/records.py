"""The records on the ``market`` stream (DESIGN §3) and their validation.

A record that fails validation is a *permanent* error: the handler parks it on the dead-letter queue with
the reason this module produces, so the reason must name the field and say what was wrong.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from huracan.core.timeutil import format_ts, parse_ts

__all__ = ["Bar", "InvalidRecord", "Record", "Signal", "parse_record"]


def _utc_iso(value: str) -> str:
    try:
        return format_ts(parse_ts(value))
    except ValueError as exc:
        raise ValueError(f"not a UTC ISO-8601 timestamp: {exc}") from exc


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


UtcTs = Annotated[str, AfterValidator(_utc_iso)]
Price = Annotated[float, Field(gt=0), AfterValidator(_finite)]
Quantity = Annotated[float, Field(ge=0), AfterValidator(_finite)]


class InvalidRecord(ValueError):
    """A record that can never be processed, whatever the retry; carries a reason naming the field."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class Bar(BaseModel):
    """One OHLCV bar; ``ts`` marks the bar's open. ``bid``/``ask`` are optional quotes at the close."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bar"]
    symbol: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._:/-]+$")]
    ts: UtcTs
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Quantity
    bid: Price | None = None
    ask: Price | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Bar:
        if self.high < max(self.open, self.close, self.low):
            raise ValueError("high must be >= open, close and low")
        if self.low > min(self.open, self.close):
            raise ValueError("low must be <= open and close")
        if (self.bid is None) != (self.ask is None):
            raise ValueError("bid and ask come together or not at all")
        if self.bid is not None and self.ask is not None and self.bid > self.ask:
            raise ValueError("bid must be <= ask")
        return self

    @property
    def time(self) -> datetime:
        return parse_ts(self.ts)


class Signal(BaseModel):
    """A primary strategy's signal: side, mode and confidence. The meta-label model decides to take it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["signal"]
    signal_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
    symbol: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._:/-]+$")]
    ts: UtcTs
    side: Literal["long", "short"]
    mode: Literal["scalp", "runner"]
    confidence: Annotated[float, Field(ge=0, le=1)]
    price: Price
    strategy: Annotated[str, Field(min_length=1, max_length=64)]

    @property
    def time(self) -> datetime:
        return parse_ts(self.ts)


Record = Annotated[Bar | Signal, Field(discriminator="type")]
_RECORD: TypeAdapter[Bar | Signal] = TypeAdapter(Record)


def parse_record(data: bytes | str) -> Bar | Signal:
    """Decode and validate one stream record, raising :class:`InvalidRecord` with a readable reason."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRecord(f"not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidRecord(f"record must be a JSON object, got {type(raw).__name__}")
    if raw.get("type") not in ("bar", "signal"):
        raise InvalidRecord(f"type: unknown record type {raw.get('type')!r} (expected 'bar' or 'signal')", "type")
    try:
        return _RECORD.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"] if p not in ("bar", "signal")]
        field = ".".join(loc) or None
        reason = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p not in ('bar', 'signal')) or 'record'}: {e['msg']}"
            for e in exc.errors()
        )
        raise InvalidRecord(reason, field) from exc
