"""What a backtest leaves in its workspace: ``summary.json``, ``trades.csv``, ``decisions.parquet`` (beside the
``models/`` folder registry, ``reports/`` and ``training/`` it wrote while running).

One function, :func:`write_outputs`, writes them, so the run's layout is decided in one place; it is the layout a
stack replay's workspace has (DESIGN §8: "a run is kept").
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from huracan.backtest.book import MemoryBook
from huracan.backtest.run import BacktestResult
from huracan.core.config import EngineConfig
from huracan.core.timeutil import from_epoch_s
from huracan.service.entities import ShadowTradeRecord

__all__ = ["TRADE_COLUMNS", "summarize", "write_outputs"]

#: the columns a close writes (huracan.service.resolve.close_columns)
_CLOSE = (
    "exit_price",
    "exit_reason",
    "exit_ts",
    "shadow_pnl_bps",
    "shadow_pnl_net_bps",
    "duration_sec",
    "actual_outcome",
    "prediction_correct",
    "outcome_reason",
)
#: trades.csv: every column of the shadow_trades table (open, close, the training mark)
TRADE_COLUMNS: tuple[str, ...] = (*(f.name for f in fields(ShadowTradeRecord)), *_CLOSE, "used_in_snapshot")


def _plain(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _trade_rows(book: MemoryBook) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for st in book.trade_states.values():
        row = asdict(st.record)
        row["status"] = st.status
        row["fill_assumptions"] = json.dumps(row["fill_assumptions"], sort_keys=True)
        row.update({k: st.close.get(k) for k in _CLOSE})
        row["used_in_snapshot"] = st.used_in_snapshot
        rows.append(row)
    rows.sort(key=lambda r: (r["ts"], r["shadow_id"]))
    return rows


def _decision_rows(book: MemoryBook) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for sid, rec in book.by_signal.items():
        row = asdict(rec)
        row["gates"] = json.dumps(row["gates"], sort_keys=True, default=str)
        row["blocked_by"] = list(rec.blocked_by)
        out = book.outcomes.get(sid)
        for k in ("cf_exit_reason", "cf_outcome", "cf_exit_price", "cf_pnl_bps", "cf_pnl_net_bps", "cf_reason"):
            row[k] = None if out is None else _plain(getattr(out, k))
        row["used_in_snapshot"] = book.decision_marks.get(sid)
        rows.append(row)
    rows.sort(key=lambda r: (r["ts"], r["signal_id"]))
    return rows


def summarize(result: BacktestResult, config: EngineConfig, symbols: Sequence[str]) -> dict[str, Any]:
    """The run in figures: the keys a replay's ``summary.json`` has, plus per-symbol and per-night detail."""
    book = result.book
    decisions = list(book.by_signal.values())
    trades = list(book.trade_states.values())
    closed = [t for t in trades if t.status == "CLOSED"]
    known = [t for t in closed if t.close.get("actual_outcome") not in (None, "NO_DATA")]
    nights = result.nights
    published = [n for n in nights if n.status == "published"]
    per_symbol: dict[str, dict[str, Any]] = {}
    for s in symbols:
        d = [r for r in decisions if r.symbol == s]
        t = [x for x in known if x.record.symbol == s]
        per_symbol[s] = {
            "decisions": len(d),
            "passed": sum(r.passed for r in d),
            "closed": len(t),
            "wins": sum(x.close.get("actual_outcome") == "WIN" for x in t),
            "net_pnl_bps": sum(float(x.close.get("shadow_pnl_net_bps") or 0.0) for x in t),
        }
    blocked: Counter[str] = Counter(g for r in decisions for g in r.blocked_by)
    return {
        "kind": "backtest",
        "signals": result.signals + len(result.invalid),
        "signals_invalid": len(result.invalid),
        "decisions": len(decisions),
        "passed": sum(r.passed for r in decisions),
        "blocked_by_gate": dict(blocked),
        "shadow_trades": len(trades),
        "closed": len(closed),
        "open": sum(t.status == "OPEN" for t in trades),
        "wins": sum(t.close.get("actual_outcome") == "WIN" for t in known),
        "losses": sum(t.close.get("actual_outcome") == "LOSS" for t in known),
        "net_pnl_bps": sum(float(t.close.get("shadow_pnl_net_bps") or 0.0) for t in known),
        "gross_pnl_bps": sum(float(t.close.get("shadow_pnl_bps") or 0.0) for t in known),
        "counterfactuals": len(book.outcomes),
        "models_published": len(published),
        "models_candidates": sum(n.status == "candidate" for n in nights),
        "champion_model_id": published[-1].model_id if published else None,
        "symbols": list(symbols),
        "per_symbol": per_symbol,
        "days": (result.last_publish - result.first_publish) / 86_400,
        "first_publish": from_epoch_s(result.first_publish),
        "last_publish": from_epoch_s(result.last_publish),
        "config_hash": config.version,
        "profile": config.profile,
        "schedules_fired": result.schedules_fired,
        "schedules_skipped": result.schedules_skipped,
        "nights": [
            {
                "day": n.day,
                "status": n.status,
                "n_samples": n.n_samples,
                "model_id": n.model_id,
                "candidate_id": n.candidate_id,
                "summary": n.summary,
            }
            for n in nights
        ],
        "invalid_signals": [{"signal": s, "reason": r} for s, r in result.invalid[:100]],
        "timings_s": result.timings_s,
    }


def write_outputs(
    workspace: Path, result: BacktestResult, config: EngineConfig, symbols: Sequence[str]
) -> Mapping[str, Any]:
    """``summary.json``, ``trades.csv`` and ``decisions.parquet`` in ``workspace``; returns the summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    workspace.mkdir(parents=True, exist_ok=True)
    summary = summarize(result, config, symbols)
    (workspace / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=str), "utf-8")
    with open(workspace / "trades.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(TRADE_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(_trade_rows(result.book))
    rows = _decision_rows(result.book)
    pq.write_table(pa.Table.from_pylist(rows), workspace / "decisions.parquet")
    return summary
