"""What a backtest leaves in its workspace, through :class:`huracan.workspace.RunWorkspace`: the same files a stack
replay keeps (``summary.json``, ``decisions.parquet``, ``trades.csv``, ``sessions.json``, ``bars.parquet``) beside the
``models/`` folder registry and ``reports/`` the run wrote while it ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huracan.backtest.book import MemoryBook
from huracan.backtest.run import BacktestResult
from huracan.core.bars import BarArrays
from huracan.core.config import EngineConfig
from huracan.service.entities import ShadowTradeOutcome
from huracan.workspace import RunWorkspace, summarize_run

__all__ = ["trade_outcomes", "write_outputs"]


def trade_outcomes(book: MemoryBook) -> dict[str, ShadowTradeOutcome]:
    """What became of each trade, as the resolver's close wrote it (``shadow_trade_from_item`` on the stack)."""
    out: dict[str, ShadowTradeOutcome] = {}
    for sid, st in book.trade_states.items():
        c = st.close
        duration = c.get("duration_sec")
        out[sid] = ShadowTradeOutcome(
            shadow_id=sid,
            status=st.status,
            exit_price=c.get("exit_price"),
            exit_reason=c.get("exit_reason"),
            exit_ts=c.get("exit_ts"),
            shadow_pnl_bps=c.get("shadow_pnl_bps"),
            shadow_pnl_net_bps=c.get("shadow_pnl_net_bps"),
            duration_sec=None if duration is None else float(duration),
            actual_outcome=c.get("actual_outcome"),
            prediction_correct=c.get("prediction_correct"),
            used_in_training=st.used_in_snapshot is not None,
            outcome_reason=c.get("outcome_reason"),
        )
    return out


def write_outputs(
    ws: RunWorkspace, result: BacktestResult, config: EngineConfig, bars: Mapping[str, BarArrays]
) -> dict[str, Any]:
    """Write the run's files into ``ws``; returns the summary (``summary.json``)."""
    book = result.book
    outcomes = trade_outcomes(book)
    trades = [st.record for st in book.trade_states.values()]
    ws.write_decisions(book.by_signal.values(), book.outcomes)
    ws.write_trades(trades, outcomes)
    ws.write_sessions([n.line() for n in result.nights])
    ws.write_bars(bars)
    summary = summarize_run(
        book.by_signal.values(),
        trades,
        ws.model_cards(),
        decision_outcomes=book.outcomes,
        trade_outcomes=outcomes,
        signals=result.signals + len(result.invalid),
        config_hash=config.version,
        days=(result.last_publish - result.first_publish) / 86_400,
        extra={
            "kind": "backtest",
            "profile": config.profile,
            "signals_not_decided": len(result.invalid),
            "signals_not_decided_reasons": [{"signal": s, "reason": r} for s, r in result.invalid[:100]],
            "counterfactuals": len(book.outcomes),
            "nights": len(result.nights),
            "schedules_fired": result.schedules_fired,
            "schedules_skipped": result.schedules_skipped,
            "daily_reports": len(result.reports),
            "timings_s": result.timings_s,
        },
    )
    ws.write_summary(summary)
    return summary
