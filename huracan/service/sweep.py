"""The sweeper: no shadow trade stays OPEN past its window (issue 17, item 6).

Why it exists: a trade is opened, then its timer started. If ``StartExecution`` is refused for longer than the
stream's retry budget, the record goes to the dead-letter queue but the trade row is already there, OPEN, with no
timer: nothing would ever resolve it. Every run (hourly, from the schedule's own time) asks for the trades still OPEN
whose ``timeout_at`` is more than ``grace_s`` ago - one indexed query, however long ago they were opened - and
for each one that has no RUNNING timer execution it resolves the trade itself, with the same resolver and the
same exactly-once close (a conditional update on ``status = OPEN``), so a timer that fires late or a second
sweep changes nothing. A path whose last bars have not arrived waits for the next sweep, until
``final_after_s`` past its window, when it is closed as NO_DATA rather than left open for ever.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from huracan.adapters.errors import TransientError
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.service.entities import ShadowTradeRecord
from huracan.service.resolve import CLOSED, OutcomeResolver

__all__ = ["DAY_S", "OpenTrades", "SweepResult", "Sweeper", "TimerStatus"]

DAY_S = 86_400


class OpenTrades(Protocol):
    def open_shadow_trades_due(self, before: str) -> Sequence[ShadowTradeRecord]:
        """OPEN trades whose ``timeout_at`` is before ``before`` (UTC ISO)."""
        ...


class TimerStatus(Protocol):
    def is_running(self, name: str) -> bool: ...


class LogSink(Protocol):
    def info(self, msg: str, *, extra: Mapping[str, object]) -> None: ...
    def warning(self, msg: str, *, extra: Mapping[str, object]) -> None: ...


@dataclass
class SweepResult:
    """What one sweep found and did (the handler's answer and log fields)."""

    now: str
    open_seen: int = 0
    past_window: int = 0
    timer_running: int = 0
    resolved: list[str] = field(default_factory=list)
    already_resolved: int = 0
    waiting_for_bars: int = 0

    def payload(self) -> dict[str, object]:
        return {
            "now": self.now,
            "open_seen": self.open_seen,
            "past_window": self.past_window,
            "timer_running": self.timer_running,
            "resolved": len(self.resolved),
            "resolved_ids": list(self.resolved[:100]),
            "already_resolved": self.already_resolved,
            "waiting_for_bars": self.waiting_for_bars,
        }


class Sweeper:
    """Find OPEN trades past their window without a running timer, and resolve them once."""

    def __init__(
        self,
        *,
        trades: OpenTrades,
        timers: TimerStatus,
        resolver: OutcomeResolver,
        log: LogSink,
        grace_s: float = 900.0,
        final_after_s: float = DAY_S,
    ) -> None:
        self.trades = trades
        self.timers = timers
        self.resolver = resolver
        self.log = log
        self.grace_s = grace_s
        self.final_after_s = final_after_s

    def sweep(self, now: float) -> SweepResult:
        result = SweepResult(now=from_epoch_s(int(now)))
        for trade in self.trades.open_shadow_trades_due(from_epoch_s(math.ceil(now - self.grace_s))):
            result.open_seen += 1
            overdue = now - epoch_s(trade.timeout_at)
            if overdue <= self.grace_s:  # the bound is rounded up to whole seconds: the exact rule is here
                continue
            result.past_window += 1
            ids = {"shadow_id": trade.shadow_id, "signal_id": trade.signal_id}
            if self.timers.is_running(trade.shadow_id):
                result.timer_running += 1
                continue
            try:
                done = self.resolver.resolve(trade.shadow_id, final=overdue > self.final_after_s)
            except TransientError as exc:  # bars still coming, or throttled: the next sweep tries again
                result.waiting_for_bars += 1
                self.log.warning(f"sweep: {trade.shadow_id} not resolved yet: {exc}", extra=ids)
                continue
            if done.status == CLOSED:
                result.resolved.append(trade.shadow_id)
                self.log.warning(
                    f"sweep: resolved a trade left OPEN {overdue:.0f} s past its window with no timer", extra=ids
                )
            else:
                result.already_resolved += 1
        return result
