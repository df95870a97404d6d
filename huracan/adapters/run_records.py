"""Everything a run wrote to the tables, read back as the engine's records for its workspace.

A local replay's tables hold one run, so a Scan is the right read here (the daily report's per-day Query
is not: it would need the run's days first and reads the same items). Deployed stacks never call this.
"""

from __future__ import annotations

from dataclasses import dataclass

from huracan.adapters.errors import translate_errors
from huracan.adapters.repository import decision_from_item, shadow_trade_from_item
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.service.entities import DecisionOutcome, DecisionRecord, ShadowTradeOutcome, ShadowTradeRecord

__all__ = ["RunRecords", "read_run_records"]


@dataclass(frozen=True, slots=True)
class RunRecords:
    """Decisions and shadow trades, with their outcomes keyed by ``signal_id`` / ``shadow_id``."""

    decisions: list[DecisionRecord]
    decision_outcomes: dict[str, DecisionOutcome]
    trades: list[ShadowTradeRecord]
    trade_outcomes: dict[str, ShadowTradeOutcome]


def read_run_records(settings: TableSettings) -> RunRecords:
    tables = bind_tables(settings)
    decisions: list[DecisionRecord] = []
    d_out: dict[str, DecisionOutcome] = {}
    with translate_errors("decisions.Scan"):
        for item in tables.decisions.scan():
            rec, outcome = decision_from_item(item)
            decisions.append(rec)
            if outcome is not None:
                d_out[rec.signal_id] = outcome
    trades: list[ShadowTradeRecord] = []
    t_out: dict[str, ShadowTradeOutcome] = {}
    with translate_errors("shadow_trades.Scan"):
        for t_item in tables.shadow_trades.scan():
            trade, t_outcome = shadow_trade_from_item(t_item)
            trades.append(trade)
            t_out[trade.shadow_id] = t_outcome
    return RunRecords(decisions, d_out, trades, t_out)
