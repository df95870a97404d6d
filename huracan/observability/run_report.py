"""The whole-run report: one self-contained page (``reports/run.html``) over everything a run did.

The daily pages answer "what happened today"; a user testing a strategy asks "what did the whole run
show": the equity of every shadow trade over the run (all, per symbol, strategy and mode) with its drawdown,
the per-trade figures with their n and intervals, where the gates blocked winners or losers, how the nightly
models' AUC and ECE moved and which verdict each night got, which model was published, served and adopted by
Hamilton when, and one day's prices with the trades drawn on them.

It is rendered from a run's workspace (:class:`huracan.workspace.RunWorkspace`) alone — ``summary.json``,
``trades.csv``, ``decisions.parquet``, ``sessions.json``, ``bars.parquet`` and the model cards under
``models/`` — so a replay, the demo and a backtest get the same page, and it can be rendered again long after
the run. Like the daily report, every plot sits in a ``<figure id="plot-run-…">`` (:data:`RUN_PLOT_IDS`) and
says "no data" in place when it has nothing to draw.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from matplotlib.figure import Figure

from huracan.core.timeutil import parse_ts
from huracan.observability.narrative import interval_text
from huracan.observability.report import _COLORS, _CSS, _e, _empty, _figure, _svg, _table, _title
from huracan.workspace import RunWorkspace

__all__ = ["RUN_PLOT_IDS", "RunData", "load_run", "render_run_page", "render_run_report"]

RUN_PLOT_IDS: Final[tuple[str, ...]] = (
    "plot-run-equity",
    "plot-run-groups",
    "plot-run-drawdown",
    "plot-run-funnel",
    "plot-run-blocks",
    "plot-run-learning",
    "plot-run-models",
    "plot-run-price",
)
_PALETTE: Final = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#9e9d24")
_STATUS_COLOR: Final = {"published": _COLORS["good"], "candidate": _COLORS["alt"]}


class RunData:
    """What the page is drawn from, read once from the workspace."""

    def __init__(
        self,
        summary: Mapping[str, Any],
        trades: Sequence[Mapping[str, Any]],
        decisions: Sequence[Mapping[str, Any]],
        sessions: Sequence[Mapping[str, Any]],
        cards: Sequence[Mapping[str, Any]],
        bars: Any = None,
        title: str = "",
        daily_index: bool = False,
    ) -> None:
        self.summary = summary
        self.trades = trades
        self.decisions = decisions
        self.sessions = sessions
        self.cards = cards
        self.bars = bars
        self.title = title
        self.daily_index = daily_index

    def resolved(self) -> list[Mapping[str, Any]]:
        """Closed trades with a WIN / LOSS / BREAKEVEN outcome and a net P&L, in exit order."""
        rows = [
            t
            for t in self.trades
            if t.get("status") == "CLOSED"
            and t.get("actual_outcome") in ("WIN", "LOSS", "BREAKEVEN")
            and t.get("shadow_pnl_net_bps") is not None
        ]
        return sorted(rows, key=lambda t: (str(t.get("exit_ts") or t.get("ts")), str(t.get("shadow_id"))))


def load_run(ws: RunWorkspace) -> RunData:
    return RunData(
        summary=ws.read_summary(),
        trades=ws.read_trades(),
        decisions=ws.read_decisions(),
        sessions=ws.read_sessions(),
        cards=ws.model_cards(),
        bars=ws.read_bars(),
        title=ws.root.name,
        daily_index=(ws.reports / "index.html").is_file(),
    )


def _dt(ts: Any) -> datetime | None:
    try:
        return parse_ts(str(ts)) if ts else None
    except ValueError:
        return None


def _curve(rows: Sequence[Mapping[str, Any]]) -> tuple[list[datetime], list[float]]:
    xs: list[datetime] = []
    ys: list[float] = []
    total = 0.0
    for t in rows:
        when = _dt(t.get("exit_ts") or t.get("ts"))
        if when is None:
            continue
        total += float(t["shadow_pnl_net_bps"])
        xs.append(when)
        ys.append(total)
    return xs, ys


def _date_axis(ax: Any) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    loc = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))  # type: ignore[no-untyped-call]


# ------------------------------------------------------------------------------------------ plots


def _plot_equity(r: RunData) -> Figure:
    fig, ax = _figure((7, 3.4))
    rows = r.resolved()
    if rows:
        xs, ys = _curve(rows)
        ax.step(xs, ys, where="post", color=_COLORS["main"], lw=1.6, label=f"all ({len(rows)} trades)")
        ax.axhline(0, color=_COLORS["grey"], lw=0.8)
        ax.set_ylabel("cumulative net bps")
        ax.legend(fontsize=8, loc="upper left")
        _date_axis(ax)
    else:
        _empty(ax, "no resolved shadow trades")
    _title(ax, "Cumulative net P&L over the run (simulated, after costs)")
    return fig


def _plot_groups(r: RunData) -> Figure:
    fig = Figure(figsize=(10, 3.2), dpi=72)
    axes = fig.subplots(1, 3)
    rows = r.resolved()
    for ax, key, label in zip(axes, ("symbol", "strategy", "mode"), ("symbol", "strategy", "mode"), strict=True):
        groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for t in rows:
            groups[str(t.get(key) or "?")].append(t)
        if groups:
            for i, (name, g) in enumerate(sorted(groups.items())):
                xs, ys = _curve(g)
                ax.step(xs, ys, where="post", color=_PALETTE[i % len(_PALETTE)], lw=1.2, label=f"{name} (n={len(g)})")
            ax.axhline(0, color=_COLORS["grey"], lw=0.8)
            ax.legend(fontsize=7, loc="upper left")
            _date_axis(ax)
        else:
            _empty(ax, "no resolved trades")
        _title(ax, f"per {label}")
    axes[0].set_ylabel("cumulative net bps")
    return fig


def _plot_drawdown(r: RunData) -> Figure:
    fig, ax = _figure((7, 2.6))
    xs, ys = _curve(r.resolved())
    if xs:
        peak = 0.0
        under = []
        for y in ys:
            peak = max(peak, y)
            under.append(y - peak)
        ax.fill_between(xs, under, 0, step="post", color=_COLORS["bad"], alpha=0.35)
        ax.step(xs, under, where="post", color=_COLORS["bad"], lw=1)
        ax.set_ylabel("bps below the peak")
        _date_axis(ax)
        _title(ax, f"Drawdown (max {-min(under):.0f} bps)")
    else:
        _empty(ax, "no resolved trades")
        _title(ax, "Drawdown")
    return fig


def _plot_funnel(r: RunData) -> Figure:
    fig, ax = _figure((6, 3.2))
    funnel = [(str(g), int(n)) for g, n in (r.summary.get("funnel") or [])]
    signals = int(r.summary.get("decisions") or 0)
    if signals and funnel:
        names = ["signals", *(g for g, _ in funnel)][::-1]
        vals = [signals, *(n for _, n in funnel)][::-1]
        ax.barh(names, vals, color=_COLORS["main"])
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:,}", va="center", fontsize=8)
        ax.set_xlabel("signals still standing after each gate")
    else:
        _empty(ax, "no decisions")
    _title(ax, "Gate funnel over the run")
    return fig


def _plot_blocks(r: RunData) -> Figure:
    fig, ax = _figure((6, 3.2))
    gates = {g: v for g, v in (r.summary.get("gates") or {}).items() if v.get("blocked")}
    if gates:
        idx = list(range(len(gates)))
        good = [int(v.get("good_blocks") or 0) for v in gates.values()]
        bad = [int(v.get("bad_blocks") or 0) for v in gates.values()]
        ax.bar([i - 0.2 for i in idx], good, 0.4, color=_COLORS["good"], label="good (blocked a loser)")
        ax.bar([i + 0.2 for i in idx], bad, 0.4, color=_COLORS["bad"], label="bad (blocked a winner)")
        ax.set_xticks(idx, [g.replace("_gate", "") for g in gates], fontsize=8)
        ax.set_ylabel("blocked signals (counterfactual)")
        ax.legend(fontsize=8)
    else:
        _empty(ax, "no blocked signals")
    _title(ax, "Good vs bad blocks per gate over the run")
    return fig


def _est(x: Any) -> tuple[float, float | None, float | None] | None:
    if isinstance(x, list | tuple) and x and x[0] is not None:
        lo = x[1] if len(x) > 1 else None
        hi = x[2] if len(x) > 2 else None
        return float(x[0]), lo, hi
    if isinstance(x, Mapping) and x.get("value") is not None:
        return float(x["value"]), x.get("lo"), x.get("hi")
    return None


def _plot_learning(r: RunData) -> Figure:
    fig = Figure(figsize=(9, 3.2), dpi=72)
    a1, a2 = fig.subplots(1, 2)
    rows = [(s, _est(s.get("auc")), _est(s.get("ece"))) for s in r.sessions]
    rows = [x for x in rows if x[1] is not None or x[2] is not None]
    if rows:
        labels = [str(s.get("ran_on") or s.get("day") or "")[5:] for s, _, _ in rows]
        for ax, k, name in ((a1, 1, "AUC (out of sample)"), (a2, 2, "ECE")):
            for status in sorted({str(s.get("status")) for s, _, _ in rows}):
                pts = [
                    (i, e)
                    for i, (s, a, c) in enumerate(rows)
                    if str(s.get("status")) == status and (e := (a if k == 1 else c)) is not None
                ]
                if not pts:
                    continue
                # A bootstrap interval need not contain its point (ECE is biased upwards): never a negative bar.
                lo = [max(0.0, e[0] - e[1]) if e[1] is not None else 0.0 for _, e in pts]
                hi = [max(0.0, e[2] - e[0]) if e[2] is not None else 0.0 for _, e in pts]
                ax.errorbar(
                    [i for i, _ in pts], [e[0] for _, e in pts], yerr=[lo, hi], fmt="o", ms=4, capsize=2,
                    color=_STATUS_COLOR.get(status, _COLORS["grey"]), label=status,
                )  # fmt: skip
            if k == 1:
                ax.axhline(0.5, color=_COLORS["grey"], ls="--", lw=0.8, label="no skill (0.5)")
            step = max(1, len(labels) // 10)
            ax.set_xticks(range(0, len(labels), step), labels[::step], fontsize=7, rotation=45)
            ax.set_xlabel("training run at 00:00 UTC on")
            ax.legend(fontsize=7)
            _title(ax, f"{name} per nightly training")
    else:
        _empty(a1, "no nightly training with metrics")
        _empty(a2, "no nightly training with metrics")
        _title(a1, "AUC per nightly training")
        _title(a2, "ECE per nightly training")
    return fig


def model_timeline(r: RunData) -> list[dict[str, Any]]:
    """One row per meta-label model: registered (stage), first and last decision it served, Hamilton adoptions."""
    served: dict[str, list[str]] = defaultdict(list)
    for d in r.decisions:
        if d.get("model_id") and d.get("prob_source") not in (None, "none", "confidence"):
            served[str(d["model_id"])].append(str(d.get("ts")))
    adoptions: dict[str, list[str]] = defaultdict(list)
    for entry in (r.summary.get("hamilton") or {}).get("adoptions") or []:
        if isinstance(entry, list | tuple) and len(entry) == 2:
            adoptions[str(entry[0])].append(str(entry[1]))
    rows: list[dict[str, Any]] = []
    for c in sorted(r.cards, key=lambda c: (str(c.get("name")), int(c.get("version") or 0))):
        if str(c.get("name")) != "meta_label":
            continue
        mid = str(c.get("model_id"))
        ts = sorted(served.get(mid, []))
        rows.append(
            {
                "model_id": mid,
                "version": c.get("version"),
                "stage": c.get("stage"),
                "registered_at": c.get("created_at"),
                "first_served": ts[0] if ts else None,
                "last_served": ts[-1] if ts else None,
                "decisions_served": len(ts),
                "adopted_at": sorted(adoptions.get(mid, [])),
            }
        )
    return rows


def _plot_models(r: RunData) -> Figure:
    rows = model_timeline(r)
    fig, ax = _figure((7, min(8.0, max(3.0, 1.0 + 0.16 * len(rows)))))
    if rows:
        for i, m in enumerate(rows):
            reg = _dt(m["registered_at"])
            if m["first_served"]:
                a, b = _dt(m["first_served"]), _dt(m["last_served"])
                ax.plot([a, b], [i, i], color=_COLORS["main"], lw=5, alpha=0.5, label="served" if i == 0 else None)
            if reg is not None:
                champ = m["stage"] == "champion"
                ax.plot(
                    [reg], [i], "s" if champ else "o", ms=7,
                    color=_COLORS["good"] if champ else _COLORS["alt"],
                    label=None,
                )  # fmt: skip
            for at in m["adopted_at"]:
                when = _dt(at)
                if when is not None:
                    ax.plot([when], [i], "^", ms=8, color="#6a1b9a")
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], marker="s", ls="", color=_COLORS["good"], label="published (champion)"),
            Line2D([], [], marker="o", ls="", color=_COLORS["alt"], label="candidate (not published)"),
            Line2D([], [], lw=5, alpha=0.5, color=_COLORS["main"], label="served by the gates"),
            Line2D([], [], marker="^", ls="", color="#6a1b9a", label="adopted by Hamilton"),
        ]
        ax.legend(handles=handles, fontsize=7, loc="lower right")
        step = max(1, -(-len(rows) // 25))
        ticks = list(range(0, len(rows), step))
        ax.set_yticks(ticks, [f"v{rows[i]['version']} {str(rows[i]['model_id'])[7:15]}" for i in ticks], fontsize=7)
        ax.set_ylim(-0.8, len(rows) - 0.2)
        _date_axis(ax)
    else:
        _empty(ax, "no model registered in this run")
    _title(ax, "Model timeline")
    return fig


def price_day(r: RunData) -> tuple[str, str] | None:
    """(symbol, day) with the most shadow trades, the day the price chart shows."""
    count = Counter((str(t.get("symbol")), str(t.get("day"))) for t in r.trades if t.get("day"))
    if not count:
        return None
    return sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _plot_price(r: RunData) -> Figure:
    fig, ax = _figure((8, 3.4))
    pick = price_day(r)
    if pick is None or r.bars is None:
        _empty(ax, "no trades" if pick is None else "no bars kept in this workspace")
        _title(ax, "One day's prices with shadow entries and exits")
        return fig
    symbol, day = pick
    start = int(parse_ts(f"{day}T00:00:00Z").timestamp())
    cols = r.bars.to_pydict()
    pts = [
        (datetime.fromtimestamp(ts, UTC), c)
        for s, ts, c in zip(cols["symbol"], cols["ts"], cols["close"], strict=True)
        if s == symbol and start <= ts < start + 86400
    ]
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=_COLORS["grey"], lw=0.8, label="close")
    trades = [t for t in r.trades if t.get("symbol") == symbol and t.get("day") == day]
    for side, marker in (("long", "^"), ("short", "v")):
        sel = [t for t in trades if t.get("side") == side]
        if sel:
            ax.scatter(
                [_dt(t["ts"]) for t in sel], [t["entry_price"] for t in sel], marker=marker, s=28,
                color=_COLORS["main"], label=f"entry {side} ({len(sel)})", zorder=3,
            )  # fmt: skip
    for outcome, color in (("WIN", _COLORS["good"]), ("LOSS", _COLORS["bad"]), ("BREAKEVEN", _COLORS["grey"])):
        sel = [t for t in trades if t.get("actual_outcome") == outcome and t.get("exit_ts") and t.get("exit_price")]
        if sel:
            ax.scatter(
                [_dt(t["exit_ts"]) for t in sel], [t["exit_price"] for t in sel], marker="x", s=24,
                color=color, label=f"exit {outcome.lower()} ({len(sel)})", zorder=3,
            )  # fmt: skip
    ax.legend(fontsize=7, loc="best")
    ax.set_ylabel(f"{symbol} price")
    _date_axis(ax)
    _title(ax, f"{symbol} on {day}: shadow entries and exits ({len(trades)} trades, the run's busiest day)")
    return fig


_PLOTS: Final = {
    "plot-run-equity": (_plot_equity, "Every resolved shadow trade's net P&L, summed in exit order."),
    "plot-run-groups": (_plot_groups, "The same curve split by symbol, by strategy and by mode."),
    "plot-run-drawdown": (_plot_drawdown, "How far the cumulative net P&L stood below its running peak."),
    "plot-run-funnel": (_plot_funnel, "Signals left after each gate, in the order the gates run."),
    "plot-run-blocks": (_plot_blocks, "Blocked signals whose counterfactual outcome was a loss (good) or a win (bad)."),
    "plot-run-learning": (_plot_learning, "Each night's out-of-sample AUC and ECE with 95% intervals, by verdict."),
    "plot-run-models": (_plot_models, "When each meta-label model was registered, served and adopted by Hamilton."),
    "plot-run-price": (_plot_price, "The busiest day's prices with every shadow entry and exit."),
}

# ------------------------------------------------------------------------------------------ html


def _n(x: Any, fmt: str = ",.0f") -> str:
    return "–" if x is None else format(float(x), fmt)


def _est_text(e: Mapping[str, Any] | None, fmt: str = "+.1f", pct: bool = False) -> str:
    if not e or e.get("value") is None:
        return f"– <small>(n={int((e or {}).get('n') or 0)})</small>"

    def f(x: Any) -> str:
        return format(float(x), ".1%") if pct else format(float(x), fmt)

    ci = f" [{f(e['lo'])}, {f(e['hi'])}]" if e.get("lo") is not None and e.get("hi") is not None else ""
    return f"{f(e['value'])}<small>{ci} (n={int(e.get('n') or 0)})</small>"


def run_headline(s: Mapping[str, Any]) -> str:
    closed = int(s.get("wins") or 0) + int(s.get("losses") or 0) + int(s.get("breakeven") or 0)
    wr = s.get("win_rate") or {}
    rate = (
        f"win rate {float(wr['value']):.1%} [{float(wr['lo']):.1%}, {float(wr['hi']):.1%}] over {closed} trades"
        if wr.get("value") is not None
        else "no resolved trades"
    )
    models = int(s.get("models_published") or 0)
    return (
        f"Net {float(s.get('net_pnl_bps') or 0):+.0f} bps after simulated costs; {rate}; "
        f"{models} model{'s' if models != 1 else ''} published, {int(s.get('models_candidates') or 0)} kept as candidates."
    )


def _figures_table(s: Mapping[str, Any]) -> str:
    pf = s.get("profit_factor")
    rows = [
        ("Signals / decisions", f"{int(s.get('signals') or 0):,} / {int(s.get('decisions') or 0):,}"),
        ("Passed every gate", f"{int(s.get('passed') or 0):,}"),
        (
            "Shadow trades (closed / open / error)",
            f"{int(s.get('shadow_trades') or 0):,} ({int(s.get('closed') or 0):,} / {int(s.get('open') or 0):,} / "
            f"{int(s.get('errors') or 0):,})",
        ),
        (
            "Wins / losses / breakeven / no data",
            f"{s.get('wins', 0)} / {s.get('losses', 0)} / {s.get('breakeven', 0)} / {s.get('no_data', 0)}",
        ),
        ("Win rate [95% Wilson interval]", _est_text(s.get("win_rate"), pct=True)),
        ("Net P&L, bps (sum over resolved trades)", _n(s.get("net_pnl_bps"), "+,.1f")),
        ("Gross P&L, bps (before fees and spread)", _n(s.get("gross_pnl_bps"), "+,.1f")),
        ("Mean net bps per trade [95% interval]", _est_text(s.get("mean_net_bps"))),
        ("Median net bps per trade [95% order-statistic interval]", _est_text(s.get("median_net_bps"))),
        ("Profit factor (gains / losses, net)", "– (no losing trade)" if pf is None else f"{float(pf):.2f}"),
        ("Max drawdown, bps", _n(s.get("max_drawdown_bps"), ",.1f")),
        ("Good / bad blocks (counterfactual)", f"{s.get('good_blocks', 0)} / {s.get('bad_blocks', 0)}"),
    ]
    return _table(["figure", "value"], [(_e(a), b) for a, b in rows], tid="run-figures")


def _groups_table(s: Mapping[str, Any]) -> str:
    rows = []
    for dim in ("by_symbol", "by_strategy", "by_mode"):
        for name, g in (s.get(dim) or {}).items():
            rows.append(
                (
                    _e(f"{dim[3:]}: {name or '–'}"),
                    f"{int(g.get('decisions') or 0):,}",
                    f"{int(g.get('passed') or 0):,}",
                    f"{int(g.get('shadow_trades') or 0):,}",
                    _est_text(g.get("win_rate"), pct=True),
                    _n(g.get("net_pnl_bps"), "+,.1f"),
                    _est_text(g.get("mean_net_bps")),
                    "–" if g.get("profit_factor") is None else f"{float(g['profit_factor']):.2f}",
                    _n(g.get("max_drawdown_bps"), ",.1f"),
                )
            )
    head = ["group", "decisions", "passed", "trades", "win rate", "net bps", "mean net bps", "PF", "max DD bps"]
    return _table(head, rows, tid="run-groups")


def _gates_table(s: Mapping[str, Any]) -> str:
    rows = [
        (
            _e(g),
            f"{int(v.get('passed') or 0):,}",
            f"{int(v.get('blocked') or 0):,}",
            f"{int(v.get('good_blocks') or 0):,}",
            f"{int(v.get('bad_blocks') or 0):,}",
            _n(v.get("blocked_net_bps"), "+,.1f"),
        )
        for g, v in (s.get("gates") or {}).items()
    ]
    head = ["gate", "passed", "blocked", "good blocks", "bad blocks", "net bps of what it blocked"]
    return _table(head, rows, tid="run-gates")


def _sessions_table(r: RunData) -> str:
    def est(x: Any) -> str:
        e = _est(x)
        if e is None:
            return "–"
        ci = interval_text(e[0], (e[1], e[2]) if e[1] is not None and e[2] is not None else None, ".3f")
        return f"{e[0]:.3f}<small>{_e(ci)}</small>"

    rows = [
        (
            _e(s.get("ran_on") or s.get("day")),
            _e(s.get("day")),
            f"{int(s.get('n_samples') or 0):,}",
            est(s.get("auc")),
            est(s.get("ece")),
            _e(s.get("status")),
            _e("; ".join(str(x) for x in (s.get("reasons") or []))[:160]),
        )
        for s in r.sessions
    ]
    head = ["ran at 00:00 UTC on", "data up to", "n", "AUC [95%] (no skill: 0.5)", "ECE [95%]", "verdict", "reasons"]
    return _table(head, rows, tid="run-sessions")


def _models_table(r: RunData) -> str:
    rows = [
        (
            f"<code>{_e(str(m['model_id'])[:19])}</code>",
            _e(m["version"]),
            _e(m["stage"]),
            _e(m["registered_at"] or "–"),
            _e(m["first_served"] or "–"),
            f"{m['decisions_served']:,}",
            _e(", ".join(m["adopted_at"]) or "–"),
        )
        for m in model_timeline(r)
    ]
    head = ["model", "v", "stage", "registered", "first served", "decisions served", "adopted by Hamilton"]
    return _table(head, rows, tid="run-models")


def render_run_page(r: RunData) -> str:
    s = r.summary
    plots = "".join(
        f'<figure id="{pid}" class="plot">{_svg(fn(r), pid.removeprefix("plot-"))}'
        f"<figcaption>{_e(cap)}</figcaption></figure>"
        for pid, (fn, cap) in _PLOTS.items()
    )
    symbols = ", ".join(str(x) for x in s.get("symbols") or []) or "–"
    span = f"{s.get('first_day') or '–'} to {s.get('last_day') or '–'}"
    daily = ' <a href="index.html">Daily reports</a>.' if r.daily_index else ""
    body = f"""
<main>
<h1>Huracan Engine — whole-run report</h1>
<p class="headline" id="headline">{_e(run_headline(s))}</p>
<p><small>Run {_e(r.title)}: {_e(symbols)}, {_e(span)} ({float(s.get("days") or 0):.1f} days of data),
config {_e(s.get("config_hash") or "–")}. Shadow (paper) trading only: no real money; P&amp;L in bps of the
simulated position, net of simulated fees and half-spread slippage.{daily}</small></p>
<h2>Figures over the run</h2>
{_figures_table(s)}
<h2>Plots</h2>
<div class="grid" id="plots">{plots}</div>
<h2>Per symbol, strategy and mode</h2>
{_groups_table(s)}
<h2>Gates over the run</h2>
{_gates_table(s)}
<h2>Nightly training: AUC / ECE and verdicts</h2>
{_sessions_table(r)}
<h2>Models</h2>
{_models_table(r)}
</main>"""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Huracan whole-run report {_e(r.title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def render_run_report(workspace: RunWorkspace | Path) -> Path:
    """Write ``<workspace>/reports/run.html`` from the workspace's files; returns its path."""
    ws = workspace if isinstance(workspace, RunWorkspace) else RunWorkspace.open(Path(workspace))
    ws.reports.mkdir(parents=True, exist_ok=True)
    page = ws.run_report_path
    page.write_text(render_run_page(load_run(ws)), encoding="utf-8")
    return page
