"""The records the logic layer writes, as plain frozen dataclasses.

The adapters map them to pynamodb items explicitly (``huracan/adapters/repository.py``), so the logic
never sees a DynamoDB type and the item classes can change without touching the decisions they hold.
Numbers here are plain floats; NaN/inf are never stored (DynamoDB cannot hold them) and become None.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

__all__ = [
    "DecisionOutcome",
    "DecisionRecord",
    "ParkedRecord",
    "ShadowTradeOutcome",
    "ShadowTradeRecord",
    "TimerStart",
]


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """Everything the engine decided about one signal; the nightly job adds the counterfactual later."""

    signal_id: str
    day: str
    ts: str
    symbol: str
    side: str
    mode: str
    strategy: str
    confidence: float
    price: float
    features_json: str
    gates: dict[str, dict[str, Any]]
    passed: bool
    blocked_by: tuple[str, ...]
    prob: float | None
    prob_source: str
    regime: str
    regime_source: str
    model_id: str | None
    config_version: str
    expected_return_bps: float | None
    cost_bps: float | None
    shadow_id: str | None
    expires_at_epoch: int | None
    #: model id -> P(win) of each live challenger served in shadow on this signal (never read by a gate:
    #: the nightly compares it with ``prob`` on the same decisions once the outcome is known)
    challenger_probs: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class ShadowTradeRecord:
    """A newly opened paper trade (status OPEN); outcome columns stay empty until the timer resolves it."""

    shadow_id: str
    signal_id: str
    ts: str
    day: str
    symbol: str
    mode: str
    side: str
    strategy: str
    entry_price: float
    tp_price: float
    sl_price: float
    timeout_at: str
    simulated_size_gbp: float
    simulated_fee_gbp: float
    predicted_win_prob: float | None
    prob_source: str
    features_json: str
    fill_assumptions: dict[str, Any]
    model_id: str | None
    regime: str
    config_version: str
    status: str = "OPEN"
    trade_type: str = "SHADOW"
    tags: str | None = None


@dataclass(frozen=True, slots=True)
class TimerStart:
    """One Step Functions execution: its name (the shadow id) and the input the resolver reads."""

    name: str
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ParkedRecord:
    """A stream record that can never be processed, with where it came from and why."""

    reason: str
    shard_id: str
    sequence_number: str
    data_b64: str
    event_source_arn: str | None = None
    field: str | None = None
    extra: dict[str, Any] = _field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    """The (counterfactual) outcome of one decision, as the ``cf_*`` columns of the decisions table.

    Written once per signal, blocked or passed, with the resolver's barriers and costs; prices and P&L are
    None when ``cf_outcome`` is NO_DATA, and ``cf_reason`` then says why.
    """

    signal_id: str
    cf_exit_reason: str
    cf_outcome: str
    cf_exit_price: float | None = None
    cf_pnl_bps: float | None = None
    cf_pnl_net_bps: float | None = None
    cf_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ShadowTradeOutcome:
    """What became of one paper trade: the columns the resolver (or the timer's Catch) writes on close.

    Kept apart from :class:`ShadowTradeRecord` (the trade as opened) because the two are written at different
    times by different functions; a run's ``trades.csv`` joins them by ``shadow_id``. Prices and P&L are None
    while OPEN, for ERROR trades and for NO_DATA outcomes (``outcome_reason`` then says why).
    """

    shadow_id: str
    status: str  # OPEN | CLOSED | ERROR
    exit_price: float | None = None
    exit_reason: str | None = None
    exit_ts: str | None = None
    shadow_pnl_bps: float | None = None
    shadow_pnl_net_bps: float | None = None
    duration_sec: float | None = None
    actual_outcome: str | None = None  # WIN | LOSS | BREAKEVEN | NO_DATA
    prediction_correct: bool | None = None
    used_in_training: bool = False
    error_cause: str | None = None
    outcome_reason: str | None = None
