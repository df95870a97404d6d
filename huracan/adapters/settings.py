"""Environment variables as schemas (STYLE.md): one pydantic model per function, validated at cold start.

A missing or empty table name fails the first invocation with the variable's name in the message, instead
of a confusing ``ResourceNotFoundException`` on the first write. Logic never reads ``os.environ``: the
handler builds a settings object once and passes plain values down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "AwsSettings",
    "EvaluateSignalsSettings",
    "IngestSettings",
    "ResolveOutcomeSettings",
    "SettingsError",
    "SweepSettings",
    "TableSettings",
]

_Name = Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")]
_Url = Annotated[str, Field(min_length=8, pattern=r"^https?://")]


class SettingsError(ValueError):
    """A function's environment is incomplete or malformed; the message lists every bad variable."""


class _EnvModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Validate ``environ`` (default ``os.environ``); empty strings count as unset."""
        env = {k: v for k, v in (os.environ if environ is None else environ).items() if v != ""}
        try:
            return cls.model_validate(env)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise SettingsError(f"{cls.__name__}: invalid environment: {problems}") from exc


class AwsSettings(_EnvModel):
    """Where AWS is. ``AWS_ENDPOINT_URL`` is unset in AWS and points at the moto server locally."""

    endpoint_url: _Url | None = Field(default=None, alias="AWS_ENDPOINT_URL")
    region: str = Field(
        default="eu-west-2", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"), min_length=4
    )


class TableSettings(AwsSettings):
    """The four DynamoDB tables every function may touch (names from the template's env vars)."""

    shadow_trades_table: _Name = Field(alias="SHADOW_TRADES_TABLE")
    trades_table: _Name = Field(alias="TRADES_TABLE")
    decisions_table: _Name = Field(alias="DECISIONS_TABLE")
    prices_table: _Name = Field(alias="PRICES_TABLE")


class EvaluateSignalsSettings(TableSettings):
    """EvaluateSignalsFunction: tables, the stream DLQ, the timer state machine and retention."""

    dead_letter_queue_url: _Url = Field(alias="DEAD_LETTER_QUEUE_URL")
    #: Where a record too large for a queue message is parked whole (claim check); unset: cut, as before.
    dead_letter_bucket: _Name | None = Field(default=None, alias="DEAD_LETTER_BUCKET")
    timer_state_machine_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:states:")] = Field(
        alias="TIMER_STATE_MACHINE_ARN"
    )
    profile: str = Field(default="seed", alias="HURACAN_PROFILE", min_length=1)
    #: a settings file bundled with the code (core.config.engine_config); empty: the profile
    config_file: str | None = Field(default=None, alias="HURACAN_CONFIG")
    idempotency_table: _Name | None = Field(default=None, alias="IDEMPOTENCY_TABLE")
    prices_ttl_days: Annotated[int, Field(gt=0, le=3650)] = Field(default=35, alias="PRICES_TTL_DAYS")
    decisions_ttl_days: Annotated[int, Field(gt=0, le=3650)] = Field(default=400, alias="DECISIONS_TTL_DAYS")
    #: seconds after a bar's close until it is stored (template parameter IngestLagSeconds): the timer waits it
    ingest_lag_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(default=90, alias="INGEST_LAG_SECONDS")
    #: A record stamped further than this after it reached the stream is refused (producer clock skew).
    max_future_skew_s: Annotated[float, Field(ge=0, le=86_400)] = Field(default=300, alias="MAX_FUTURE_SKEW_SECONDS")
    #: A record older than this when it reached the stream is refused; unset = the prices retention.
    max_record_age_days: Annotated[float, Field(gt=0, le=36_500)] | None = Field(
        default=None, alias="MAX_RECORD_AGE_DAYS"
    )


class IngestSettings(AwsSettings):
    """IngestMarketFunction: which symbols, which exchange endpoint, and whether to run the strategies."""

    market_stream_name: _Name = Field(alias="MARKET_STREAM_NAME")
    symbols_csv: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$")] = Field(
        default="BTCUSDT", alias="INGEST_SYMBOLS"
    )
    exchange_api_url: _Url = Field(default="https://api.binance.com", alias="EXCHANGE_API_URL")
    strategies_enabled: bool = Field(default=True, alias="STRATEGIES_ENABLED")

    @property
    def symbols(self) -> list[str]:
        return self.symbols_csv.split(",")


class SweepSettings(TableSettings):
    """SweepOpenTradesFunction: the tables, the timer state machine (to see running timers), the profile."""

    timer_state_machine_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:states:")] = Field(
        alias="TIMER_STATE_MACHINE_ARN"
    )
    profile: str = Field(default="seed", alias="HURACAN_PROFILE", min_length=1)


class ResolveOutcomeSettings(TableSettings):
    """ResolveOutcomeFunction: the tables and the engine profile (costs and breakeven band)."""

    profile: str = Field(default="seed", alias="HURACAN_PROFILE", min_length=1)
    config_file: str | None = Field(default=None, alias="HURACAN_CONFIG")
