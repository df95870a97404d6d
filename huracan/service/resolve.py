"""Resolve one shadow trade when its timer fires: price path -> first barrier touched -> outcome, closed once.

The barrier rules are :func:`huracan.core.barriers.first_touch` and the outcome arithmetic is
:func:`huracan.core.outcomes.shadow_outcome`, the very functions the nightly labeller vectorizes, so a
shadow trade and a counterfactual label of the same signal always agree.

The trade's terms come from the trade itself, not from today's settings: the barriers (``tp_bps``,
``sl_bps``, ``bar_sec``) and costs (``fee_bps_per_side``, ``spread_bps``) recorded in ``fill_assumptions``
when it was opened, and the window ``[ts, timeout_at)`` the timer waited on. Only the breakeven band and
the meta-label threshold (for ``prediction_correct``) come from the engine settings.

When is a price path "missing"? The last bar of the window closes exactly at ``timeout_at``, when the timer
fires, so it may simply not have arrived yet. A path is therefore *final* once a bar at or after the
window's end is stored (nothing can be added to the window any more) or the caller says so
(``final=True``, e.g. a re-drive from the dead-letter queue). Then any defect (no bars, first bar not at
the entry, a gap, a bad price, a short window) closes the trade as ``NO_DATA`` with the reason in
``outcome_reason``, never a guessed outcome. A path that is short but not final is reported as a
:class:`~huracan.adapters.errors.TransientError` so the state machine retries it with backoff; if the bars
never come, the state machine's Catch marks the trade ERROR and parks it on the timer dead-letter queue.

Exactly once: the close is a conditional update on ``status = OPEN``. A trade that is no longer OPEN (a
redelivered timer, a re-drive, a race with a second invocation) is reported as already resolved and
nothing changes.

The decision row is not touched here: the counterfactual job (:mod:`huracan.service.counterfactuals`)
labels every decision, passed or blocked, with the same code, so the decisions table carries outcomes
uniformly and the serving path keeps a single conditional write.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from huracan.adapters.errors import NotOpen, TransientError
from huracan.core.barriers import Barriers, first_touch
from huracan.core.bars import BarArrays, entry_time
from huracan.core.config import EngineConfig
from huracan.core.outcomes import ShadowOutcome, shadow_outcome
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.service.entities import ShadowTradeRecord

__all__ = [
    "ALREADY_RESOLVED",
    "CLOSED",
    "OutcomeResolver",
    "ResolveResult",
    "ResolveStore",
    "TradeNotFound",
    "TradeTerms",
    "close_columns",
    "path_is_final",
    "resolve_path",
    "terms_of",
]

CLOSED = "CLOSED"
ALREADY_RESOLVED = "ALREADY_RESOLVED"
_DEFAULT_BAR_SEC = 60


class TradeNotFound(LookupError):
    """The timer names a shadow trade that does not exist: permanent, the state machine's Catch takes it."""


class ResolveStore(Protocol):
    """What the resolver needs from the tables (``huracan.adapters.repository.Repository``)."""

    def get_shadow_trade(self, shadow_id: str) -> ShadowTradeRecord | None: ...
    def bars_from(self, symbol: str, start_ts: str, limit: int) -> BarArrays: ...
    def close_shadow_trade(self, shadow_id: str, *, status: str = "CLOSED", **columns: Any) -> None: ...


class LogSink(Protocol):
    def info(self, msg: str, *, extra: Mapping[str, object]) -> None: ...
    def warning(self, msg: str, *, extra: Mapping[str, object]) -> None: ...


@dataclass(frozen=True, slots=True)
class TradeTerms:
    """Everything that decides a trade's outcome, as plain numbers."""

    entry_ts: int
    entry_price: float
    side: str
    barriers: Barriers
    bar_sec: int
    fee_bps_per_side: float
    spread_bps: float
    breakeven_band_bps: float
    predicted_win_prob: float | None
    threshold: float

    @property
    def end_ts(self) -> int:
        return self.entry_ts + self.barriers.timeout_sec

    @property
    def window_bars(self) -> int:
        return self.barriers.timeout_sec // self.bar_sec


def _number(fill: Mapping[str, Any], key: str, default: float) -> float:
    value = fill.get(key)
    if value is None:
        return default
    f = float(value)
    return f if math.isfinite(f) else default


def terms_of(trade: ShadowTradeRecord, config: EngineConfig) -> TradeTerms:
    """The trade's own terms (recorded at open), with the settings only for what the trade does not carry."""
    mode = config.mode(trade.mode)
    fill = trade.fill_assumptions
    # a user's signal between bar boundaries enters at the next one (core.bars.entry_time)
    entry_ts = entry_time(epoch_s(trade.ts), int(_number(fill, "bar_sec", _DEFAULT_BAR_SEC)))
    timeout_sec = int(epoch_s(trade.timeout_at)) - entry_ts
    barriers = Barriers(
        tp_bps=_number(fill, "tp_bps", mode.tp_bps),
        sl_bps=_number(fill, "sl_bps", mode.sl_bps),
        timeout_sec=timeout_sec,
    )
    spread = _number(fill, "spread_bps", config.costs.default_spread_bps)
    return TradeTerms(
        entry_ts=entry_ts,
        entry_price=float(trade.entry_price),
        side=trade.side,
        barriers=barriers,
        bar_sec=int(_number(fill, "bar_sec", _DEFAULT_BAR_SEC)),
        fee_bps_per_side=_number(fill, "fee_bps_per_side", config.costs.fee_bps_per_side),
        spread_bps=max(spread, 0.0),
        breakeven_band_bps=config.costs.breakeven_band_bps,
        predicted_win_prob=trade.predicted_win_prob,
        threshold=mode.meta_label_threshold,
    )


def resolve_path(terms: TradeTerms, bars: BarArrays) -> ShadowOutcome:
    """The outcome of a trade on a bar path (which may extend before and after the window)."""
    touch = first_touch(
        bars.ts,
        bars.high,
        bars.low,
        bars.close,
        bars.open,
        entry_ts=terms.entry_ts,
        entry_price=terms.entry_price,
        side=terms.side,
        barriers=terms.barriers,
        bar_sec=terms.bar_sec,
    )
    return shadow_outcome(
        touch,
        fee_bps_per_side=terms.fee_bps_per_side,
        spread_bps=terms.spread_bps,
        breakeven_band_bps=terms.breakeven_band_bps,
        predicted_win_prob=terms.predicted_win_prob,
        threshold=terms.threshold,
    )


def path_is_final(terms: TradeTerms, bars: BarArrays) -> bool:
    """True when a bar at or after the window's end is stored: the window can no longer change."""
    return bool(len(bars)) and bool(np.any(bars.ts >= terms.end_ts))


def close_columns(outcome: ShadowOutcome) -> dict[str, Any]:
    """The shadow_trades columns a close writes (None removes the attribute: NO_DATA has no prices)."""
    return {
        "exit_price": outcome.exit_price,
        "exit_reason": outcome.exit_reason,
        "exit_ts": None if outcome.exit_ts is None else from_epoch_s(outcome.exit_ts),
        "shadow_pnl_bps": outcome.shadow_pnl_bps,
        "shadow_pnl_net_bps": outcome.shadow_pnl_net_bps,
        "duration_sec": outcome.duration_sec,
        "actual_outcome": outcome.actual_outcome,
        "prediction_correct": outcome.prediction_correct,
        "outcome_reason": outcome.reason or None,
    }


@dataclass(frozen=True, slots=True)
class ResolveResult:
    """What one invocation did; ``payload()`` is the Lambda's answer (the state machine's output)."""

    shadow_id: str
    status: str  # CLOSED (closed now) | ALREADY_RESOLVED (found CLOSED/ERROR: nothing changed)
    trade_status: str
    outcome: ShadowOutcome | None = None

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"shadow_id": self.shadow_id, "status": self.status, "trade_status": self.trade_status}
        if self.outcome is not None:
            cols = close_columns(self.outcome)
            out.update({k: v for k, v in cols.items() if v is not None})
        return out


class OutcomeResolver:
    """The resolve-outcome logic with its ports injected (the handler wires the repository)."""

    def __init__(self, *, store: ResolveStore, config: EngineConfig, log: LogSink) -> None:
        self.store = store
        self.config = config
        self.log = log

    def resolve(self, shadow_id: str, *, final: bool = False) -> ResolveResult:
        """Close the trade from its price path, exactly once. Raises TransientError if bars may still come."""
        trade = self.store.get_shadow_trade(shadow_id)
        ids = {"shadow_id": shadow_id}
        if trade is None:
            raise TradeNotFound(f"shadow trade {shadow_id} does not exist")
        ids["signal_id"] = trade.signal_id
        if trade.status != "OPEN":
            self.log.info(f"trade already {trade.status}; nothing to do", extra=ids)
            return ResolveResult(shadow_id, ALREADY_RESOLVED, trade.status)
        terms = terms_of(trade, self.config)
        # one bar beyond the window: proof that the window is complete (see the module docstring)
        bars = self.store.bars_from(trade.symbol, trade.ts, terms.window_bars + 1)
        outcome = resolve_path(terms, bars)
        if outcome.exit_reason == "NO_DATA" and not (final or path_is_final(terms, bars)):
            raise TransientError(
                f"price path of {shadow_id} ({trade.symbol} {trade.ts} .. {trade.timeout_at}) is not complete "
                f"yet: {outcome.reason}",
                operation="resolve",
            )
        try:
            self.store.close_shadow_trade(shadow_id, status=CLOSED, **close_columns(outcome))
        except NotOpen:
            self.log.info("trade was closed by another invocation; nothing changed", extra=ids)
            again = self.store.get_shadow_trade(shadow_id)
            return ResolveResult(shadow_id, ALREADY_RESOLVED, again.status if again else "UNKNOWN")
        if outcome.exit_reason == "NO_DATA":
            self.log.warning(f"closed as NO_DATA: {outcome.reason}", extra=ids)
        else:
            self.log.info(
                f"closed: {outcome.exit_reason} {outcome.actual_outcome} net {outcome.shadow_pnl_net_bps:.2f} bps",
                extra=ids,
            )
        return ResolveResult(shadow_id, CLOSED, CLOSED, outcome)
