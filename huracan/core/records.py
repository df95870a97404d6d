"""The records on the ``market`` stream (DESIGN §3) and their validation.

A record that fails validation is a *permanent* error: the handler parks it on the dead-letter queue with
the reason this module produces, so the reason must name the field and say what was wrong.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from huracan.core.timeutil import format_ts, parse_ts

__all__ = ["Bar", "InvalidRecord", "Record", "Signal", "parse_record", "user_signal_id"]


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


FeatureName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
FeatureValue = Annotated[float, AfterValidator(_finite)]
DEFAULT_STRATEGY = "user"


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def user_signal_id(symbol: str, ts: str, side: str, strategy: str) -> str:
    """The id of a signal sent without one: the same signal (symbol, ts, side, strategy) always gets it."""
    stamp = ts.replace("-", "").replace(":", "")
    return f"{_safe(strategy)}.{_safe(symbol)}.{stamp}.{side}"[:128]


def _ms_to_iso(value: Any) -> Any:
    """Epoch milliseconds (an integer, or a string of digits as a CSV carries it) → ISO-8601 UTC."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int):
        if not 0 <= value < 10**14:
            raise ValueError("epoch milliseconds out of range")
        return format_ts(datetime.fromtimestamp(value / 1000, tz=UTC))
    return value


SignalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
SignalTs = Annotated[
    str,
    BeforeValidator(_ms_to_iso),
    AfterValidator(_utc_iso),
    WithJsonSchema(
        {
            "description": "when the signal became known: ISO-8601 UTC with a zone, or epoch milliseconds",
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer", "minimum": 0}],
        }
    ),
]


class Signal(BaseModel):
    """A signal: side, mode and confidence, from a primary strategy or the user's own; the model decides.

    The one contract for a stream record and a row of a user's signals file (``schemas/signal.schema.json``
    is generated from this model). ``ts`` is when the signal became known (ISO-8601 UTC, or epoch
    milliseconds); ``signal_id`` defaults to :func:`user_signal_id`; ``price`` defaults to the first price
    after ``ts`` (the file loader fills it from the bars, the evaluator from the last bar closed by ``ts``);
    ``features`` carries the numeric columns the user's config declares (``extra_features``).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Huracan signal",
        json_schema_extra={"$id": "https://huracan.dev/schemas/signal.schema.json"},
    )

    type: Literal["signal"] = "signal"
    signal_id: SignalId = ""
    symbol: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._:/-]+$")]
    ts: SignalTs
    side: Literal["long", "short"]
    mode: Literal["scalp", "runner"]
    confidence: Annotated[float, Field(ge=0, le=1)]
    price: Price | None = None
    strategy: Annotated[str, Field(min_length=1, max_length=64)] = DEFAULT_STRATEGY
    features: dict[FeatureName, FeatureValue] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, raw: Any) -> Any:
        """A row without ``signal_id`` gets :func:`user_signal_id` (left alone when ``ts`` itself is bad)."""
        if isinstance(raw, dict) and not raw.get("signal_id"):
            try:
                ts = _utc_iso(_ms_to_iso(raw.get("ts")))
                symbol, side = str(raw["symbol"]), str(raw["side"])
            except (AttributeError, KeyError, TypeError, ValueError):
                return raw
            raw = {**raw, "signal_id": user_signal_id(symbol, ts, side, str(raw.get("strategy") or DEFAULT_STRATEGY))}
        return raw

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
    except RecursionError as exc:  # a record nested thousands deep must be parked, not crash the batch
        raise InvalidRecord("not valid JSON for a record: nested too deeply to parse") from exc
    if not isinstance(raw, dict):
        raise InvalidRecord(f"record must be a JSON object, got {type(raw).__name__}")
    if raw.get("type") not in ("bar", "signal"):
        raise InvalidRecord(f"type: unknown record type {raw.get('type')!r} (expected 'bar' or 'signal')", "type")
    try:
        return _RECORD.validate_python(raw)
    except RecursionError as exc:
        raise InvalidRecord("record: nested too deeply to validate") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"] if p not in ("bar", "signal")]
        field = ".".join(loc) or None
        reason = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p not in ('bar', 'signal')) or 'record'}: {e['msg']}"
            for e in exc.errors()
        )
        raise InvalidRecord(reason, field) from exc
