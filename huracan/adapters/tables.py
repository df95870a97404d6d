"""The DynamoDB items (pynamodb models) for the four tables, bound to their names at cold start.

Column names are the seed's (``ARCHITECTURE.md``: ``shadow_trades``, ``trades``) plus what the serverless
flow needs (DESIGN §4). Keys and index names must match ``template.yaml``; ``tests/integration/
test_tables.py`` creates the tables from the template and round-trips every model through them.

The classes below carry no table name: :func:`bind_tables` makes a subclass per table with the name and
endpoint from :class:`~huracan.adapters.settings.TableSettings`, so nothing here reads the environment at
import and nothing knows whether ``AWS_ENDPOINT_URL`` points at AWS or at a local moto server.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from huracan.adapters.settings import TableSettings

__all__ = [
    "BY_DAY_INDEX",
    "DecisionItem",
    "PriceItem",
    "ShadowTradeItem",
    "Tables",
    "TradeItem",
    "bind_tables",
]

BY_DAY_INDEX = "by_day"
BY_STATUS_DUE_INDEX = "by_status_due"

#: Seconds to wait for a connection / an answer. Lambda's own timeout is longer, so a stuck call surfaces
#: as a TransientError (a batch item failure) instead of a killed invocation.
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 10
#: botocore retries throttled calls itself (with backoff) before we ever see them.
MAX_RETRY_ATTEMPTS = 3


class _ShadowByDay(GlobalSecondaryIndex["ShadowTradeItem"]):  # type: ignore[no-untyped-call]
    """Nightly collection: every shadow trade opened on one UTC day, in time order."""

    class Meta:
        index_name = BY_DAY_INDEX
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    ts = UnicodeAttribute(range_key=True)


class _ShadowByStatusDue(GlobalSecondaryIndex["ShadowTradeItem"]):  # type: ignore[no-untyped-call]
    """The sweeper: trades by status, in order of their window's end; it only ever reads the OPEN partition
    up to a time, so one query returns exactly the trades past their window, however old they are."""

    class Meta:
        index_name = BY_STATUS_DUE_INDEX
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    timeout_at = UnicodeAttribute(range_key=True)


class ShadowTradeItem(Model):
    """One paper trade: the seed's ``shadow_trades`` row plus status, barriers and fill assumptions."""

    shadow_id = UnicodeAttribute(hash_key=True)
    ts = UnicodeAttribute()
    # Signal info
    symbol = UnicodeAttribute()
    mode = UnicodeAttribute()
    side = UnicodeAttribute()
    entry_price = NumberAttribute()
    trade_type = UnicodeAttribute(default="SHADOW")
    # Simulated execution
    simulated_size_gbp = NumberAttribute(null=True)
    simulated_fee_gbp = NumberAttribute(null=True)
    # Outcome
    exit_price = NumberAttribute(null=True)
    exit_reason = UnicodeAttribute(null=True)
    shadow_pnl_bps = NumberAttribute(null=True)
    duration_sec = NumberAttribute(null=True)
    # Did the model predict correctly?
    predicted_win_prob = NumberAttribute(null=True)
    actual_outcome = UnicodeAttribute(null=True)
    prediction_correct = BooleanAttribute(null=True)
    # Learning
    features_json = UnicodeAttribute(null=True)
    used_in_training = BooleanAttribute(default=False)
    # Metadata
    model_id = UnicodeAttribute(null=True)
    regime = UnicodeAttribute(null=True)
    tags = UnicodeAttribute(null=True)
    # Serverless flow
    status = UnicodeAttribute(default="OPEN")  # OPEN | CLOSED | ERROR
    signal_id = UnicodeAttribute()
    strategy = UnicodeAttribute(null=True)
    timeout_at = UnicodeAttribute()
    tp_price = NumberAttribute()
    sl_price = NumberAttribute()
    fill_assumptions = UnicodeAttribute(null=True)  # JSON
    day = UnicodeAttribute()  # YYYY-MM-DD of ts, the by_day GSI's hash key
    shadow_pnl_net_bps = NumberAttribute(null=True)
    exit_ts = UnicodeAttribute(null=True)
    error_cause = UnicodeAttribute(null=True)
    config_version = UnicodeAttribute(null=True)
    prob_source = UnicodeAttribute(null=True)
    outcome_reason = UnicodeAttribute(null=True)  # why the outcome is NO_DATA (huracan.service.resolve)

    by_day = _ShadowByDay()
    by_status_due = _ShadowByStatusDue()


class _TradeByDay(GlobalSecondaryIndex["TradeItem"]):  # type: ignore[no-untyped-call]
    """Nightly collection of Hamilton's live outcomes by the day the trade opened."""

    class Meta:
        index_name = BY_DAY_INDEX
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    ts_open = UnicodeAttribute(range_key=True)


class TradeItem(Model):
    """One of Hamilton's live trades (the seed's ``trades``), as posted to ``/api/trade_outcome``.

    The seed's NOT NULL columns are nullable here: Hamilton's minimal POST carries only the outcome
    fields, and the API (not the table) decides what a complete record is.
    """

    trade_id = UnicodeAttribute(hash_key=True)
    ts_open = UnicodeAttribute(null=True)
    symbol = UnicodeAttribute(null=True)
    mode = UnicodeAttribute(null=True)
    side = UnicodeAttribute(null=True)
    entry_price = NumberAttribute(null=True)
    exit_price = NumberAttribute(null=True)
    size_gbp = NumberAttribute(null=True)
    fee_entry_gbp = NumberAttribute(null=True)
    fee_exit_gbp = NumberAttribute(null=True)
    pnl_gbp = NumberAttribute(null=True)
    return_bps = NumberAttribute(null=True)
    trade_type = UnicodeAttribute(default="LIVE")
    model_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)  # 'open' | 'closed'
    engine_shadow_id = UnicodeAttribute(null=True)
    tags = UnicodeAttribute(null=True)
    # Engine additions
    features_json = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)  # WIN | LOSS | BREAKEVEN
    duration_sec = NumberAttribute(null=True)
    received_at = UnicodeAttribute(null=True)
    day = UnicodeAttribute(null=True)
    pnl_bps = NumberAttribute(null=True)
    payload_sha256 = UnicodeAttribute(null=True)  # lets the API tell an identical repeat from a conflict

    by_day = _TradeByDay()


class _DecisionByDay(GlobalSecondaryIndex["DecisionItem"]):  # type: ignore[no-untyped-call]
    """Nightly counterfactual labelling: every signal of one day, passed or blocked."""

    class Meta:
        index_name = BY_DAY_INDEX
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    ts = UnicodeAttribute(range_key=True)


class DecisionItem(Model):
    """What the engine decided about one signal, why, and (later) what would have happened."""

    signal_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute()
    ts = UnicodeAttribute()
    symbol = UnicodeAttribute()
    side = UnicodeAttribute()
    mode = UnicodeAttribute()
    strategy = UnicodeAttribute()
    confidence = NumberAttribute()
    price = NumberAttribute()
    features_json = UnicodeAttribute()
    # gate name -> {passed, value, threshold, text}: the shape of core.gates.Decision.to_item()["gates"];
    # value/threshold are numbers, or text for the regime gate (the regime and the allowed list)
    gates = MapAttribute[str, Any](default=dict)  # type: ignore[no-untyped-call]
    passed = BooleanAttribute()
    blocked_by = ListAttribute(of=UnicodeAttribute, default=list)
    prob = NumberAttribute(null=True)
    prob_source = UnicodeAttribute()
    regime = UnicodeAttribute()
    regime_source = UnicodeAttribute(null=True)
    model_id = UnicodeAttribute(null=True)
    config_version = UnicodeAttribute()
    expected_return_bps = NumberAttribute(null=True)
    cost_bps = NumberAttribute(null=True)
    shadow_id = UnicodeAttribute(null=True)
    # {model_id: P(win)} of the challengers served in shadow on this signal, as JSON text (never gating)
    challenger_probs = UnicodeAttribute(null=True)
    # Counterfactual outcome, filled by the nightly labeller
    cf_exit_reason = UnicodeAttribute(null=True)
    cf_exit_price = NumberAttribute(null=True)
    cf_pnl_bps = NumberAttribute(null=True)
    cf_pnl_net_bps = NumberAttribute(null=True)
    cf_outcome = UnicodeAttribute(null=True)
    cf_reason = UnicodeAttribute(null=True)  # why cf_outcome is NO_DATA
    expires_at = TTLAttribute(null=True)

    by_day = _DecisionByDay()


class PriceItem(Model):
    """One bar for outcome resolution and feature history; ``ts`` is the bar's open (UTC ISO, sortable)."""

    symbol = UnicodeAttribute(hash_key=True)
    ts = UnicodeAttribute(range_key=True)
    open = NumberAttribute()
    high = NumberAttribute()
    low = NumberAttribute()
    close = NumberAttribute()
    volume = NumberAttribute()
    bid = NumberAttribute(null=True)
    ask = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


_M = TypeVar("_M", bound=Model)


def _bind(base: type[_M], table_name: str, settings: TableSettings) -> type[_M]:
    """A subclass of ``base`` whose Meta names the physical table and the endpoint."""
    meta = type(
        "Meta",
        (),
        {
            "table_name": table_name,
            "host": settings.endpoint_url,
            "region": settings.region,
            "connect_timeout_seconds": CONNECT_TIMEOUT_S,
            "read_timeout_seconds": READ_TIMEOUT_S,
            "max_retry_attempts": MAX_RETRY_ATTEMPTS,
        },
    )
    bound: type[_M] = type(base.__name__, (base,), {"Meta": meta, "__module__": base.__module__})
    return bound


@dataclass(frozen=True, slots=True)
class Tables:
    """The four models, each bound to its physical table."""

    shadow_trades: type[ShadowTradeItem]
    trades: type[TradeItem]
    decisions: type[DecisionItem]
    prices: type[PriceItem]


def bind_tables(settings: TableSettings) -> Tables:
    """The four models bound to the settings' tables, once per (tables, endpoint, region).

    Cached on those values, not on the settings object: pynamodb keeps one connection (one botocore session
    and client, ~0.2 s to build) per model class, so a new class per settings subclass or per nightly run
    would rebuild it each time for the same tables.
    """
    return _bound_tables(TableSettings.model_validate(settings.model_dump(include=set(TableSettings.model_fields))))


@cache
def _bound_tables(settings: TableSettings) -> Tables:
    return Tables(
        shadow_trades=_bind(ShadowTradeItem, settings.shadow_trades_table, settings),
        trades=_bind(TradeItem, settings.trades_table, settings),
        decisions=_bind(DecisionItem, settings.decisions_table, settings),
        prices=_bind(PriceItem, settings.prices_table, settings),
    )
