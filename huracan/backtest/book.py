"""The backtest's tables: decisions, shadow trades and bars held in process, behind the same ports as the stack's.

The nightly job (:func:`~huracan.learning.nightly.run_nightly`), the counterfactual labeller
(:func:`~huracan.service.counterfactuals.resolve_counterfactuals`) and the daily summary
(:func:`~huracan.observability.daily.collect_summary`) read and write through small protocols; the stack plugs the
DynamoDB repository and the S3 archive into them, the backtest plugs this book. Nothing here decides anything: it
keeps records and answers queries the way the tables do.

What the tables' behaviour that matters here is, reproduced on purpose:

- a day's decisions come back in time order, ties in the order they were written (the ``by_day`` index sorts on
  ``ts``; the emulator keeps insertion order among equal keys), since the training set is built in that order;
- a bar exists only once it has been published, at its close (``ts + BAR_SEC``): :attr:`MemoryBook.now` is the
  virtual clock, and no query sees a bar that closed after it;
- ``set_decision_outcome`` writes once (a second write changes nothing and says so), as the conditional update does;
- marks overwrite ``used_in_snapshot``, as the nightly's ``UpdateItem`` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from huracan.core.bars import BarArrays
from huracan.core.features import BAR_SEC, WINDOW
from huracan.core.records import Bar
from huracan.core.timeutil import epoch_s
from huracan.observability.records import DecisionRow, LiveTrade, ShadowTrade, finite_or_none
from huracan.service.entities import DecisionOutcome, DecisionRecord, ShadowTradeRecord

__all__ = ["MemoryBook", "TradeState"]


@dataclass
class TradeState:
    """A shadow trade as the table holds it: the record opened, then the columns its close wrote."""

    record: ShadowTradeRecord
    status: str = "OPEN"
    close: dict[str, Any] = field(default_factory=dict)
    used_in_snapshot: str | None = None


class MemoryBook:
    """Bars per symbol (published at their close), decisions with their outcomes, shadow trades, marks."""

    def __init__(self, bars: Mapping[str, BarArrays]) -> None:
        self.bars: dict[str, BarArrays] = dict(bars)
        #: the virtual clock (epoch s): bars with ``ts + BAR_SEC <= now`` have been published
        self.now: float = float("inf")
        self.by_signal: dict[str, DecisionRecord] = {}
        self.outcomes: dict[str, DecisionOutcome] = {}
        self.decision_marks: dict[str, str] = {}
        self.trade_states: dict[str, TradeState] = {}
        self._decisions_by_day: defaultdict[str, list[str]] = defaultdict(list)
        self._trades_by_day: defaultdict[str, list[str]] = defaultdict(list)

    # ------------------------------------------------------------------ bars (BarSource)
    def _visible(self, symbol: str) -> BarArrays:
        bars = self.bars.get(symbol)
        if bars is None:
            return BarArrays.from_columns([], [], [], [], [], [])
        stop = int(np.searchsorted(bars.ts, self.now - BAR_SEC, side="right"))
        return bars if stop == len(bars) else bars.slice(0, stop)

    def bars_between(self, symbol: str, start_ts: str, end_ts: str) -> BarArrays:
        """Published bars of ``symbol`` with ``start_ts <= ts < end_ts``, oldest first."""
        bars = self._visible(symbol)
        lo, hi = np.searchsorted(bars.ts, [epoch_s(start_ts), epoch_s(end_ts)], side="left")
        return bars.slice(int(lo), int(hi))

    def bars_before(self, symbol: str, before_ts: str, limit: int = WINDOW) -> BarArrays:
        """The last ``limit`` published bars of ``symbol`` with ``ts < before_ts``."""
        bars = self._visible(symbol)
        hi = int(np.searchsorted(bars.ts, epoch_s(before_ts), side="left"))
        return bars.slice(max(0, hi - limit), hi)

    def bars_from(self, symbol: str, start_ts: str, limit: int) -> BarArrays:
        """The first ``limit`` published bars of ``symbol`` with ``ts >= start_ts`` (the resolver's read)."""
        bars = self._visible(symbol)
        lo = int(np.searchsorted(bars.ts, epoch_s(start_ts), side="left"))
        return bars.slice(lo, min(len(bars), lo + limit))

    def put_bars(self, bars: Sequence[Bar], expires_at_epoch: int | None) -> None:
        """Not a path the backtest takes: its bars are the input file's, loaded once, never streamed."""
        raise TypeError("the backtest's bars come from its input, not from put_bars")

    # ------------------------------------------------------------------ decisions (Store, DecisionStore)
    def create_decision(self, rec: DecisionRecord) -> None:
        if rec.signal_id in self.by_signal:
            raise KeyError(f"signal {rec.signal_id} was decided twice (duplicate signal_id in the input)")
        self.by_signal[rec.signal_id] = rec
        self._decisions_by_day[rec.day].append(rec.signal_id)

    def get_decision(self, signal_id: str) -> DecisionRecord | None:
        return self.by_signal.get(signal_id)

    def _day_ids(self, day: str) -> list[str]:
        ids = self._decisions_by_day.get(day, [])
        return sorted(ids, key=lambda s: self.by_signal[s].ts)  # stable: ties stay in write order

    def decisions_with_outcomes_on_day(
        self, day: str, *, only_unresolved: bool = False
    ) -> Iterator[tuple[DecisionRecord, DecisionOutcome | None]]:
        for sid in self._day_ids(day):
            out = self.outcomes.get(sid)
            if only_unresolved and out is not None:
                continue
            yield self.by_signal[sid], out

    def symbols_on_day(self, day: str) -> set[str]:
        return {self.by_signal[s].symbol for s in self._decisions_by_day.get(day, [])}

    def set_decision_outcome(self, outcome: DecisionOutcome) -> bool:
        if outcome.signal_id not in self.by_signal or outcome.signal_id in self.outcomes:
            return False
        self.outcomes[outcome.signal_id] = outcome
        return True

    # ------------------------------------------------------------------ shadow trades
    def create_shadow_trade(self, rec: ShadowTradeRecord) -> None:
        if rec.shadow_id in self.trade_states:
            raise KeyError(f"shadow trade {rec.shadow_id} opened twice")
        self.trade_states[rec.shadow_id] = TradeState(rec)
        self._trades_by_day[rec.day].append(rec.shadow_id)

    def close_shadow_trade(self, shadow_id: str, *, status: str = "CLOSED", **columns: Any) -> None:
        state = self.trade_states[shadow_id]
        if state.status != "OPEN":
            raise KeyError(f"shadow trade {shadow_id} is {state.status}, not OPEN")
        state.status = status
        state.close = {k: v for k, v in columns.items() if v is not None}

    # ------------------------------------------------------------------ marks (the nightly's marker port)
    def mark_decisions(self, signal_ids: Sequence[str], snapshot_id: str) -> int:
        n = 0
        for sid in sorted(set(signal_ids)):
            if sid in self.by_signal:
                self.decision_marks[sid] = snapshot_id
                n += 1
        return n

    def mark_shadow_trades(self, shadow_ids: Sequence[str], snapshot_id: str) -> int:
        n = 0
        for sid in sorted(set(shadow_ids)):
            if sid in self.trade_states:
                self.trade_states[sid].used_in_snapshot = snapshot_id
                n += 1
        return n

    # ------------------------------------------------------------------ the daily summary's record source
    def decisions(self, days: Iterable[str]) -> list[DecisionRow]:
        from huracan.adapters.observability_sources import decision_row_from_record

        return [
            decision_row_from_record(rec, out) for day in days for rec, out in self.decisions_with_outcomes_on_day(day)
        ]

    def shadow_trades(self, days: Iterable[str]) -> list[ShadowTrade]:
        return [shadow_row(self.trade_states[s]) for day in days for s in self._trades_by_day.get(day, [])]

    def live_trades(self, days: Iterable[str]) -> list[LiveTrade]:
        """No Hamilton in a backtest: nothing trades live, so there are no live outcomes."""
        return []

    def shadow_by_ids(self, ids: Iterable[str]) -> list[ShadowTrade]:
        return [shadow_row(self.trade_states[s]) for s in sorted(set(ids)) if s in self.trade_states]


def _text(x: Any) -> str | None:
    return None if x is None else str(x)


def shadow_row(state: TradeState) -> ShadowTrade:
    """A trade as the report reads it (the same fields ``observability_sources.shadow_trade`` reads from an item)."""
    import json

    rec, c = state.record, state.close
    try:
        raw = json.loads(rec.features_json or "{}")
    except ValueError:
        raw = {}
    feats = {str(k): finite_or_none(v) for k, v in (raw.items() if isinstance(raw, dict) else [])}
    return ShadowTrade(
        shadow_id=rec.shadow_id,
        ts=rec.ts,
        day=rec.day,
        symbol=rec.symbol,
        mode=rec.mode,
        side=rec.side,
        entry_price=float(rec.entry_price),
        status=state.status,
        signal_id=rec.signal_id,
        timeout_at=rec.timeout_at,
        exit_price=finite_or_none(c.get("exit_price")),
        exit_reason=_text(c.get("exit_reason")),
        exit_ts=_text(c.get("exit_ts")),
        shadow_pnl_bps=finite_or_none(c.get("shadow_pnl_bps")),
        shadow_pnl_net_bps=finite_or_none(c.get("shadow_pnl_net_bps")),
        actual_outcome=_text(c.get("actual_outcome")),
        predicted_win_prob=finite_or_none(rec.predicted_win_prob),
        prediction_correct=c.get("prediction_correct"),
        model_id=rec.model_id,
        regime=rec.regime,
        features={k: v for k, v in feats.items() if v is not None},
    )
