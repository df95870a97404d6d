"""A run's workspace: what a replay, demo or backtest leaves on disk after the emulated AWS has stopped.

Everything a run learned used to live only in the embedded stack's tables and bucket, gone when the process
exits. A workspace keeps it as plain files a user can open with any tool::

    runs/<YYYYmmddTHHMMSSZ>-<name>/
        summary.json         the run's figures (:func:`summarize_run`), overall and per symbol / mode / strategy
        decisions.parquet    every decision: gates (passed, value), probability, regime, counterfactual outcome
        trades.csv           every shadow trade, every column of the reference ``shadow_trades`` table and more
        models/              a folder registry (signed layout): ``huracan models --base-path …/models list``
        reports/             daily reports, their index and ``run.html`` (the whole-run report)
        sessions.json        one line per nightly training (AUC / ECE with intervals, verdict)   [optional]
        bars.parquet         the replayed bars (symbol, ts, OHLC), for the run report's price chart [optional]

This module writes and reads those files from the engine's own records (``huracan.service.entities``); it
imports no AWS library, so a backtest that never starts the emulator writes the same workspace. pyarrow is
imported only when Parquet is written or read.
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from huracan.service.entities import DecisionOutcome, DecisionRecord, ShadowTradeOutcome, ShadowTradeRecord

__all__ = [
    "DECISION_COLUMNS",
    "RUNS_DIR",
    "SUMMARY_SCHEMA",
    "TRADE_COLUMNS",
    "RunWorkspace",
    "WorkspaceError",
    "decision_rows",
    "max_drawdown",
    "median_interval",
    "summarize_run",
    "trade_figures",
    "trade_rows",
    "wilson_interval",
]

RUNS_DIR: Final = Path("runs")
SUMMARY_SCHEMA: Final = "huracan.run_summary/1"
RESOLVED: Final = ("WIN", "LOSS", "BREAKEVEN")
_Z95: Final = statistics.NormalDist().inv_cdf(0.975)

#: The reference ``shadow_trades`` columns, in its order, then what the serverless flow adds.
SEED_TRADE_COLUMNS: Final[tuple[str, ...]] = (
    "shadow_id",
    "ts",
    "symbol",
    "mode",
    "side",
    "entry_price",
    "trade_type",
    "simulated_size_gbp",
    "simulated_fee_gbp",
    "exit_price",
    "exit_reason",
    "shadow_pnl_bps",
    "duration_sec",
    "predicted_win_prob",
    "actual_outcome",
    "prediction_correct",
    "features_json",
    "used_in_training",
    "model_id",
    "regime",
    "tags",
)
TRADE_COLUMNS: Final[tuple[str, ...]] = (
    *SEED_TRADE_COLUMNS,
    "status",
    "signal_id",
    "day",
    "strategy",
    "timeout_at",
    "tp_price",
    "sl_price",
    "exit_ts",
    "shadow_pnl_net_bps",
    "prob_source",
    "config_version",
    "fill_assumptions",
    "error_cause",
    "outcome_reason",
)
#: Fixed decision columns; each gate adds ``gate_<name>_passed`` and ``gate_<name>_value`` after them.
DECISION_COLUMNS: Final[tuple[str, ...]] = (
    "signal_id",
    "day",
    "ts",
    "symbol",
    "side",
    "mode",
    "strategy",
    "confidence",
    "price",
    "passed",
    "blocked_by",
    "prob",
    "prob_source",
    "regime",
    "regime_source",
    "model_id",
    "config_version",
    "expected_return_bps",
    "cost_bps",
    "shadow_id",
    "cf_outcome",
    "cf_exit_reason",
    "cf_exit_price",
    "cf_pnl_bps",
    "cf_pnl_net_bps",
    "cf_reason",
    "features_json",
    "gates_json",
)
_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


class WorkspaceError(ValueError):
    """A workspace that cannot be used (e.g. it already holds another run): the CLI prints it, exit 2."""


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# ------------------------------------------------------------------------------------------ rows


def trade_rows(
    trades: Iterable[ShadowTradeRecord], outcomes: Mapping[str, ShadowTradeOutcome] | None = None
) -> list[dict[str, Any]]:
    """One flat dict per trade (``TRADE_COLUMNS``), the opened record joined with its outcome by ``shadow_id``."""
    outcomes = outcomes or {}
    rows: list[dict[str, Any]] = []
    for t in trades:
        o = outcomes.get(t.shadow_id)
        rows.append(
            {
                "shadow_id": t.shadow_id,
                "ts": t.ts,
                "symbol": t.symbol,
                "mode": t.mode,
                "side": t.side,
                "entry_price": t.entry_price,
                "trade_type": t.trade_type,
                "simulated_size_gbp": t.simulated_size_gbp,
                "simulated_fee_gbp": t.simulated_fee_gbp,
                "exit_price": None if o is None else o.exit_price,
                "exit_reason": None if o is None else o.exit_reason,
                "shadow_pnl_bps": None if o is None else o.shadow_pnl_bps,
                "duration_sec": None if o is None else o.duration_sec,
                "predicted_win_prob": t.predicted_win_prob,
                "actual_outcome": None if o is None else o.actual_outcome,
                "prediction_correct": None if o is None else o.prediction_correct,
                "features_json": t.features_json,
                "used_in_training": False if o is None else o.used_in_training,
                "model_id": t.model_id,
                "regime": t.regime,
                "tags": t.tags,
                "status": t.status if o is None else o.status,
                "signal_id": t.signal_id,
                "day": t.day,
                "strategy": t.strategy,
                "timeout_at": t.timeout_at,
                "tp_price": t.tp_price,
                "sl_price": t.sl_price,
                "exit_ts": None if o is None else o.exit_ts,
                "shadow_pnl_net_bps": None if o is None else o.shadow_pnl_net_bps,
                "prob_source": t.prob_source,
                "config_version": t.config_version,
                "fill_assumptions": json.dumps(t.fill_assumptions, sort_keys=True, default=str),
                "error_cause": None if o is None else o.error_cause,
                "outcome_reason": None if o is None else o.outcome_reason,
            }
        )
    rows.sort(key=lambda r: (str(r["ts"]), str(r["shadow_id"])))
    return rows


def _gate_parts(gate: Mapping[str, Any] | Any) -> tuple[bool | None, float | None]:
    doc = gate.as_dict() if hasattr(gate, "as_dict") else gate
    if not isinstance(doc, Mapping):
        return None, None
    passed = doc.get("passed")
    return (bool(passed) if passed is not None else None), _finite(doc.get("value"))


def _plain_gates(gates: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, g in gates.items():
        doc = g.as_dict() if hasattr(g, "as_dict") else g
        out[str(name)] = dict(doc) if isinstance(doc, Mapping) else doc
    return out


def decision_rows(
    decisions: Iterable[DecisionRecord], outcomes: Mapping[str, DecisionOutcome] | None = None
) -> list[dict[str, Any]]:
    """One flat dict per decision (``DECISION_COLUMNS`` + per-gate columns), joined with its counterfactual."""
    outcomes = outcomes or {}
    rows: list[dict[str, Any]] = []
    for d in decisions:
        o = outcomes.get(d.signal_id)
        row: dict[str, Any] = {
            "signal_id": d.signal_id,
            "day": d.day,
            "ts": d.ts,
            "symbol": d.symbol,
            "side": d.side,
            "mode": d.mode,
            "strategy": d.strategy,
            "confidence": _finite(d.confidence),
            "price": _finite(d.price),
            "passed": bool(d.passed),
            "blocked_by": [str(g) for g in d.blocked_by],
            "prob": _finite(d.prob),
            "prob_source": d.prob_source,
            "regime": d.regime,
            "regime_source": d.regime_source,
            "model_id": d.model_id,
            "config_version": d.config_version,
            "expected_return_bps": _finite(d.expected_return_bps),
            "cost_bps": _finite(d.cost_bps),
            "shadow_id": d.shadow_id,
            "cf_outcome": None if o is None else o.cf_outcome,
            "cf_exit_reason": None if o is None else o.cf_exit_reason,
            "cf_exit_price": None if o is None else _finite(o.cf_exit_price),
            "cf_pnl_bps": None if o is None else _finite(o.cf_pnl_bps),
            "cf_pnl_net_bps": None if o is None else _finite(o.cf_pnl_net_bps),
            "cf_reason": None if o is None else o.cf_reason,
            "features_json": d.features_json,
            "gates_json": json.dumps(_plain_gates(d.gates), sort_keys=True, default=str),
        }
        for name, g in d.gates.items():
            passed, value = _gate_parts(g)
            row[f"gate_{name}_passed"] = passed
            row[f"gate_{name}_value"] = value
        rows.append(row)
    rows.sort(key=lambda r: (str(r["ts"]), str(r["signal_id"])))
    return rows


# ------------------------------------------------------------------------------------------ figures


def wilson_interval(k: int, n: int, z: float = _Z95) -> tuple[float, float] | None:
    """95 % Wilson score interval for k successes in n (None for n = 0); it always contains k / n."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def median_interval(values: Sequence[float], z: float = _Z95) -> tuple[float, float] | None:
    """Distribution-free ~95 % interval for the median from order statistics (binomial ranks); None if n < 1."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        return None
    half = z * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half))
    hi = min(n - 1, math.ceil(n / 2 + half) - 1)
    return xs[lo], xs[max(lo, hi)]


def max_drawdown(pnl: Iterable[float]) -> float:
    """Largest fall (bps, >= 0) of the cumulative sum from its running peak, the peak starting at 0."""
    cum = peak = dd = 0.0
    for x in pnl:
        cum += x
        peak = max(peak, cum)
        dd = max(dd, peak - cum)
    return dd


def _estimate(value: float | None, ci: tuple[float, float] | None, n: int) -> dict[str, Any]:
    return {"value": value, "lo": None if ci is None else ci[0], "hi": None if ci is None else ci[1], "n": n}


def trade_figures(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts and P&L of trade rows (:func:`trade_rows`): net bps after simulated costs, each with n and interval.

    A trade counts toward win rate and P&L once CLOSED with WIN / LOSS / BREAKEVEN (NO_DATA left out). The
    P&L path is in exit order, so the drawdown is what a holder of every trade would have lived through.
    """
    status = Counter(str(r.get("status") or "OPEN") for r in rows)
    outcomes = Counter(str(r.get("actual_outcome")) for r in rows if r.get("status") == "CLOSED")
    resolved = [r for r in rows if r.get("status") == "CLOSED" and r.get("actual_outcome") in RESOLVED]
    resolved.sort(key=lambda r: (str(r.get("exit_ts") or r.get("ts")), str(r.get("shadow_id"))))
    net = [v for r in resolved if (v := _finite(r.get("shadow_pnl_net_bps"))) is not None]
    gross = [v for r in resolved if (v := _finite(r.get("shadow_pnl_bps"))) is not None]
    wins, losses, breakeven = outcomes["WIN"], outcomes["LOSS"], outcomes["BREAKEVEN"]
    n = wins + losses + breakeven
    mean = statistics.fmean(net) if net else None
    mean_ci = None
    if len(net) >= 2 and mean is not None:
        half = _Z95 * statistics.stdev(net) / math.sqrt(len(net))
        mean_ci = (mean - half, mean + half)
    median = statistics.median(net) if net else None
    up = sum(x for x in net if x > 0)
    down = -sum(x for x in net if x < 0)
    return {
        "shadow_trades": len(rows),
        "closed": status["CLOSED"],
        "open": status["OPEN"],
        "errors": status["ERROR"],
        "wins": wins,
        "losses": losses,
        "breakeven": breakeven,
        "no_data": outcomes["NO_DATA"],
        "win_rate": _estimate(wins / n if n else None, wilson_interval(wins, n), n),
        "net_pnl_bps": sum(net),
        "gross_pnl_bps": sum(gross),
        "mean_net_bps": _estimate(mean, mean_ci, len(net)),
        "median_net_bps": _estimate(median, median_interval(net), len(net)),
        "profit_factor": (up / down) if down > 0 else None,
        "max_drawdown_bps": max_drawdown(net),
    }


def _gate_figures(rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[list[Any]]]:
    """Per gate over the run: passed / blocked and good (blocked a loser) / bad (blocked a winner) blocks,
    by counterfactual outcome; and the funnel, signals left after each gate in the order gates run."""
    order: list[str] = []
    for r in rows:
        for k in r:
            if k.startswith("gate_") and k.endswith("_passed"):
                name = k[len("gate_") : -len("_passed")]
                if name not in order:
                    order.append(name)
    gates: dict[str, dict[str, Any]] = {
        g: {"passed": 0, "blocked": 0, "good_blocks": 0, "bad_blocks": 0, "blocked_net_bps": 0.0} for g in order
    }
    funnel = [0] * len(order)
    for r in rows:
        alive = True
        for i, g in enumerate(order):
            ok = r.get(f"gate_{g}_passed")
            if ok is None:
                continue
            gates[g]["passed" if ok else "blocked"] += 1
            if not ok:
                cf = r.get("cf_outcome")
                gates[g]["good_blocks"] += cf == "LOSS"
                gates[g]["bad_blocks"] += cf == "WIN"
                gates[g]["blocked_net_bps"] += _finite(r.get("cf_pnl_net_bps")) or 0.0
            alive = alive and bool(ok)
            funnel[i] += alive
    return gates, [[g, funnel[i]] for i, g in enumerate(order)]


def _group(
    decisions: Sequence[Mapping[str, Any]], trades: Sequence[Mapping[str, Any]], key: str
) -> dict[str, dict[str, Any]]:
    d_by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    t_by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for d in decisions:
        d_by[str(d.get(key) or "")].append(d)
    for t in trades:
        t_by[str(t.get(key) or "")].append(t)
    out: dict[str, dict[str, Any]] = {}
    for k in sorted(set(d_by) | set(t_by)):
        ds = d_by.get(k, [])
        out[k] = {
            "decisions": len(ds),
            "passed": sum(1 for d in ds if d.get("passed")),
            **trade_figures(t_by.get(k, [])),
        }
    return out


def _is_meta(card: Mapping[str, Any]) -> bool:
    return str(card.get("name") or "meta_label") == "meta_label"


def summarize_run(
    decisions: Iterable[DecisionRecord],
    trades: Iterable[ShadowTradeRecord],
    models: Iterable[Mapping[str, Any]],
    *,
    decision_outcomes: Mapping[str, DecisionOutcome] | None = None,
    trade_outcomes: Mapping[str, ShadowTradeOutcome] | None = None,
    signals: int | None = None,
    config_hash: str | None = None,
    champion_model_id: str | None = None,
    days: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's figures (what ``summary.json`` holds), overall and per symbol, mode and strategy.

    ``models`` are the model cards (``manifest.json`` documents) the run registered. ``signals`` defaults
    to the number of decisions (every signal gets one); ``config_hash`` to the decisions' config version
    when they agree; ``champion_model_id`` to the highest-version meta-label champion; ``days`` to the
    number of UTC days with a decision.
    """
    d_rows = decision_rows(decisions, decision_outcomes)
    t_rows = trade_rows(trades, trade_outcomes)
    return summarize_rows(
        d_rows,
        t_rows,
        list(models),
        signals=signals,
        config_hash=config_hash,
        champion_model_id=champion_model_id,
        days=days,
        extra=extra,
    )


def summarize_rows(
    d_rows: Sequence[Mapping[str, Any]],
    t_rows: Sequence[Mapping[str, Any]],
    cards: Sequence[Mapping[str, Any]],
    *,
    signals: int | None = None,
    config_hash: str | None = None,
    champion_model_id: str | None = None,
    days: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`summarize_run` on rows already flattened (:func:`decision_rows`, :func:`trade_rows`)."""
    meta = [c for c in cards if _is_meta(c)]
    # A challenger promoted on forward evidence keeps stage "challenger" on its signed card: the champion the
    # pointer names counts as published whatever its card's stage (earlier promotions: see challengers.json).
    champions = sorted(
        (
            c
            for c in meta
            if c.get("stage") == "champion" or (champion_model_id and c.get("model_id") == champion_model_id)
        ),
        key=lambda c: int(c.get("version") or 0),
    )
    versions = sorted({str(d.get("config_version")) for d in d_rows if d.get("config_version")})
    day_set = sorted({str(d.get("day")) for d in d_rows if d.get("day")})
    ts = sorted(str(d.get("ts")) for d in d_rows if d.get("ts"))
    blocked_by: Counter[str] = Counter(g for d in d_rows for g in (d.get("blocked_by") or ()))
    gates, funnel = _gate_figures(d_rows)
    good = sum(1 for d in d_rows if not d.get("passed") and d.get("cf_outcome") == "LOSS")
    bad = sum(1 for d in d_rows if not d.get("passed") and d.get("cf_outcome") == "WIN")
    summary: dict[str, Any] = {
        "schema": SUMMARY_SCHEMA,
        "signals": len(d_rows) if signals is None else int(signals),
        "decisions": len(d_rows),
        "passed": sum(1 for d in d_rows if d.get("passed")),
        "blocked": sum(1 for d in d_rows if not d.get("passed")),
        **trade_figures(t_rows),
        "good_blocks": good,
        "bad_blocks": bad,
        "blocked_by_gate": dict(sorted(blocked_by.items())),
        "gates": gates,
        "funnel": funnel,
        "models_published": len(champions),
        "models_candidates": sum(1 for c in meta if c.get("stage") == "candidate"),
        "models_challengers": sum(1 for c in meta if c.get("stage") == "challenger"),
        "detectors_published": sum(1 for c in cards if not _is_meta(c) and c.get("stage") == "champion"),
        "champion_model_id": champion_model_id
        if champion_model_id is not None
        else (str(champions[-1]["model_id"]) if champions else None),
        "symbols": sorted({str(d.get("symbol")) for d in d_rows} | {str(t.get("symbol")) for t in t_rows}),
        "days": float(len(day_set)) if days is None else float(days),
        "first_day": day_set[0] if day_set else None,
        "last_day": day_set[-1] if day_set else None,
        "first_ts": ts[0] if ts else None,
        "last_ts": ts[-1] if ts else None,
        "config_hash": config_hash if config_hash is not None else (versions[0] if len(versions) == 1 else None),
        "config_versions": versions,
        "by_symbol": _group(d_rows, t_rows, "symbol"),
        "by_mode": _group(d_rows, t_rows, "mode"),
        "by_strategy": _group(d_rows, t_rows, "strategy"),
    }
    if extra:
        summary.update(extra)
    return summary


# ------------------------------------------------------------------------------------------ files


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, set | frozenset | tuple):
        return sorted(obj) if isinstance(obj, set | frozenset) else list(obj)
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    return str(obj)


def _clean(obj: Any) -> Any:
    """NaN / inf become None: ``summary.json`` is strict JSON that any reader accepts."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _csv_cell(x: Any) -> Any:
    if x is None:
        return ""
    if isinstance(x, float):  # numpy floats too: their repr is "np.float64(...)"
        return repr(float(x)) if math.isfinite(x) else ""
    return x


@dataclass(frozen=True)
class RunWorkspace:
    """One run's folder (see the module docstring); create it with :meth:`prepare`, reopen it with :meth:`open`."""

    root: Path

    @classmethod
    def prepare(cls, path: Path | None, name: str, *, now: datetime | None = None) -> RunWorkspace:
        """Create the folder (``runs/<UTC timestamp>-<name>/`` when ``path`` is None) with ``models/`` and
        ``reports/``. A folder that already holds a run is refused: its models and trades would mix."""
        if path is None:
            stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
            slug = _NAME_RE.sub("-", name).strip("-.") or "run"
            path = RUNS_DIR / f"{stamp}-{slug}"
            k = 2
            while path.exists():  # two runs started in the same second never share a folder
                path = RUNS_DIR / f"{stamp}-{slug}-{k}"
                k += 1
        root = Path(path)
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root}: is a file, not a workspace folder")
        ws = cls(root)
        if ws.summary_path.exists() or (ws.models.is_dir() and any(ws.models.iterdir())):
            raise WorkspaceError(f"{root} already holds a run; choose another --workspace or remove it")
        ws.models.mkdir(parents=True, exist_ok=True)
        ws.reports.mkdir(parents=True, exist_ok=True)
        return ws

    @classmethod
    def open(cls, path: Path) -> RunWorkspace:
        """An existing workspace (it must have ``summary.json``)."""
        ws = cls(Path(path))
        if not ws.summary_path.is_file():
            raise WorkspaceError(f"{path}: not a run workspace (no summary.json)")
        return ws

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def summary_path(self) -> Path:
        return self.root / "summary.json"

    @property
    def decisions_path(self) -> Path:
        return self.root / "decisions.parquet"

    @property
    def trades_path(self) -> Path:
        return self.root / "trades.csv"

    @property
    def sessions_path(self) -> Path:
        return self.root / "sessions.json"

    @property
    def bars_path(self) -> Path:
        return self.root / "bars.parquet"

    @property
    def run_report_path(self) -> Path:
        return self.reports / "run.html"

    # --- writing --------------------------------------------------------------------------------

    def write_decisions(
        self, decisions: Iterable[DecisionRecord], outcomes: Mapping[str, DecisionOutcome] | None = None
    ) -> Path:
        """``decisions.parquet``: one row per decision, a ``gate_<name>_passed`` / ``_value`` pair per gate
        (non-numeric values such as the regime are in ``gates_json``), the counterfactual as ``cf_*``."""
        return self.write_decision_rows(decision_rows(decisions, outcomes))

    def write_decision_rows(self, rows: Sequence[Mapping[str, Any]]) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        text = {
            "signal_id", "day", "ts", "symbol", "side", "mode", "strategy", "prob_source", "regime",
            "regime_source", "model_id", "config_version", "shadow_id", "cf_outcome", "cf_exit_reason",
            "cf_reason", "features_json", "gates_json",
        }  # fmt: skip
        gate_cols = sorted({k for r in rows for k in r if k.startswith("gate_") and k not in DECISION_COLUMNS})
        fields = []
        for col in (*DECISION_COLUMNS, *gate_cols):
            if col in text:
                typ: Any = pa.string()
            elif col == "passed" or col.endswith("_passed"):
                typ = pa.bool_()
            elif col == "blocked_by":
                typ = pa.list_(pa.string())
            else:
                typ = pa.float64()
            fields.append(pa.field(col, typ))
        schema = pa.schema(fields)
        table = pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema)
        pq.write_table(table, self.decisions_path)
        return self.decisions_path

    def write_trades(
        self, trades: Iterable[ShadowTradeRecord], outcomes: Mapping[str, ShadowTradeOutcome] | None = None
    ) -> Path:
        """``trades.csv``: every shadow trade, the reference ``shadow_trades`` columns first (``TRADE_COLUMNS``)."""
        return self.write_trade_rows(trade_rows(trades, outcomes))

    def write_trade_rows(self, rows: Sequence[Mapping[str, Any]]) -> Path:
        with open(self.trades_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=TRADE_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for r in rows:
                writer.writerow({c: _csv_cell(r.get(c)) for c in TRADE_COLUMNS})
        return self.trades_path

    def write_summary(self, summary: Mapping[str, object]) -> Path:
        doc = _clean(json.loads(json.dumps(summary, default=_json_default)))
        self.summary_path.write_text(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n", "utf-8")
        return self.summary_path

    def write_sessions(self, sessions: Sequence[Mapping[str, Any]]) -> Path:
        """``sessions.json``: the nightly trainings (day, n, AUC / ECE ``[value, lo, hi]``, status, reasons)."""
        doc = _clean(json.loads(json.dumps(list(sessions), default=_json_default)))
        self.sessions_path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", "utf-8")
        return self.sessions_path

    def write_bars(self, bars: Mapping[str, Any]) -> Path:
        """``bars.parquet`` from ``{symbol: BarArrays}`` (ts in epoch seconds): the run report's price chart."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for symbol, b in sorted(bars.items()):
            n = len(b.ts)
            tables.append(
                pa.table(
                    {
                        "symbol": pa.array([symbol] * n, pa.string()),
                        "ts": pa.array(b.ts, pa.int64()),
                        "open": pa.array(b.open, pa.float64()),
                        "high": pa.array(b.high, pa.float64()),
                        "low": pa.array(b.low, pa.float64()),
                        "close": pa.array(b.close, pa.float64()),
                    }
                )
            )
        if tables:
            pq.write_table(pa.concat_tables(tables), self.bars_path)
        return self.bars_path

    # --- reading --------------------------------------------------------------------------------

    def read_summary(self) -> dict[str, Any]:
        doc = json.loads(self.summary_path.read_text("utf-8"))
        return doc if isinstance(doc, dict) else {}

    def read_sessions(self) -> list[dict[str, Any]]:
        if not self.sessions_path.is_file():
            return []
        doc = json.loads(self.sessions_path.read_text("utf-8"))
        return [d for d in doc if isinstance(d, dict)] if isinstance(doc, list) else []

    def read_trades(self) -> list[dict[str, Any]]:
        """``trades.csv`` back as rows with numbers and booleans restored (empty cells are None)."""
        numeric = {
            "entry_price", "simulated_size_gbp", "simulated_fee_gbp", "exit_price", "shadow_pnl_bps",
            "duration_sec", "predicted_win_prob", "tp_price", "sl_price", "shadow_pnl_net_bps",
        }  # fmt: skip
        booleans = {"prediction_correct", "used_in_training"}
        if not self.trades_path.is_file():
            return []
        out: list[dict[str, Any]] = []
        with open(self.trades_path, newline="", encoding="utf-8") as fh:
            for raw in csv.DictReader(fh):
                row: dict[str, Any] = {}
                for k, v in raw.items():
                    if v == "":
                        row[k] = None
                    elif k in numeric:
                        row[k] = float(v)
                    elif k in booleans:
                        row[k] = v == "True"
                    else:
                        row[k] = v
                out.append(row)
        return out

    def read_decisions(self) -> list[dict[str, Any]]:
        if not self.decisions_path.is_file():
            return []
        import pyarrow.parquet as pq

        rows: list[dict[str, Any]] = pq.read_table(self.decisions_path).to_pylist()
        return rows

    def read_bars(self) -> Any:
        """The bars as a pyarrow Table (None when the run wrote none)."""
        if not self.bars_path.is_file():
            return None
        import pyarrow.parquet as pq

        return pq.read_table(self.bars_path)

    def model_cards(self) -> list[dict[str, Any]]:
        """Every ``models/<name>/<hex>/manifest.json`` (read for reporting; ``huracan models verify`` checks them)."""
        cards: list[dict[str, Any]] = []
        for path in sorted(self.models.glob("*/*/manifest.json")):
            try:
                doc = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict):
                cards.append(doc)
        return cards
