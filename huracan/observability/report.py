"""The daily report: one self-contained HTML page (inline SVG plots, inline CSS, no external assets).

Self-contained because it is opened from S3, from a laptop folder or an e-mail attachment, often
offline, and must look the same in each. Plots are drawn by matplotlib straight into SVG and inlined;
every plot sits in a ``<figure id="plot-…">`` (ids in :data:`PLOT_IDS`), drawn with a "no data yet"
note when its data is empty, so a test (and a reader) can rely on every plot being there.

Rendering is on the demo's critical path (7 plots a day, every day), so each plot is drawn exactly once:
no pyplot state, no ``bbox_inches="tight"`` (which draws twice), no layout engine (each measures the
figure in a hidden pass of its own). The crop that ``bbox_inches="tight"`` gave is taken from that single draw instead
(:class:`_CropRecorder`), and text measurements are memoised across plots.

:func:`render_report` returns the page; :func:`write_report` writes ``<out_dir>/<day>/index.html`` plus
``metrics.json`` and rebuilds ``<out_dir>/index.html`` listing every day (what ``huracan report`` and the
demo call); :func:`render_index` is the listing page on its own (the Lambda builds the S3 one with it).
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from matplotlib import rc_context
from matplotlib.backend_bases import GraphicsContextBase
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

from huracan.core.timeutil import epoch_s
from huracan.observability.insight_aggregator import DailySummary
from huracan.observability.narrative import FiguresNarrator, Narrator, headline, interval_text
from huracan.observability.targets import MetricValue

__all__ = ["PLOT_IDS", "link_run_report", "metrics_document", "render_index", "render_report", "write_report"]

PLOT_IDS: Final[tuple[str, ...]] = (
    "plot-equity",
    "plot-calibration",
    "plot-funnel",
    "plot-blocks",
    "plot-sessions",
    "plot-importance",
    "plot-passrate",
)
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COLORS = {"good": "#2e7d32", "bad": "#c62828", "main": "#1565c0", "alt": "#ef6c00", "grey": "#9e9e9e"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#212121;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.headline{font-size:1.1em;font-weight:600;background:#e3f2fd;padding:8px 12px;border-radius:6px}
.narrative p{line-height:1.45}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left}
.s-in{background:#e8f5e9}.s-below,.s-above{background:#ffebee}.s-high{background:#e3f2fd}.s-none{color:#757575}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:6px}
figure svg{width:520px;height:auto;display:block}
figcaption{font-size:.85em;color:#555}
pre{background:#fff;border:1px solid #eee;padding:8px;font-size:.8em;overflow-x:auto}
small{color:#757575}
"""


# ---------------------------------------------------------------------------------------- plotting
_PAD_PT: Final = 7.2  # what bbox_inches="tight" leaves around the ink (savefig.pad_inches 0.1 in)
_NO_METADATA: Final = {"Date": None, "Creator": None, "Format": None, "Type": None}
_SVG_SIZE = re.compile(r'width="[^"]*" height="[^"]*" viewBox="[^"]*"')
_METRICS_MAX: Final = 4096
_metrics: dict[tuple[str, FontProperties, bool | str], tuple[float, float, float]] = {}


def _figure(figsize: tuple[float, float], ncols: int = 1) -> tuple[Figure, Any]:
    """A bare Figure at the SVG backend's 72 dpi: no pyplot registry to close, no dpi swap at draw time."""
    fig = Figure(figsize=figsize, dpi=72)
    return fig, fig.subplots(1, ncols)


def _title(ax: Any, text: str) -> None:
    """A title at the default place, pinned there (``y=1``): none of our axes has tick labels on top, so
    matplotlib's per-draw search for a free spot above them (a tight-bbox pass over the axis) finds nothing."""
    ax.set_title(text, y=1.0)


class _CropRecorder(RendererSVG):
    """The SVG renderer, also noting the extent of every string it draws, so the drawn page can be cropped
    to its ink like ``bbox_inches="tight"`` does, without drawing the figure a second time to find it.

    Text is the only ink outside the axes in these plots (ticks sit under their labels, legends inside);
    the axes boxes are added by :func:`_svg`. Text sizes come from a memo shared by every plot: the same
    strings (tick labels, gate names, dates) recur on every page, and a size depends only on the string
    and the font, so sharing it cannot change what a page looks like.
    """

    def __init__(self, width: float, height: float, out: io.StringIO) -> None:
        # backend_svg's methods carry no annotations, hence the no-untyped-call ignores below
        super().__init__(width, height, out, image_dpi=72, metadata=_NO_METADATA)  # type: ignore[no-untyped-call]
        self.ink = [math.inf, math.inf, -math.inf, -math.inf]  # x0, top, x1, bottom in SVG points

    def get_text_width_height_descent(
        self, s: str, prop: FontProperties, ismath: bool | str
    ) -> tuple[float, float, float]:
        key = (s, prop, ismath)
        found = _metrics.get(key)
        if found is None:
            if len(_metrics) >= _METRICS_MAX:
                _metrics.clear()
            found = super().get_text_width_height_descent(s, prop, ismath)  # type: ignore[no-untyped-call]
            _metrics[(s, prop.copy(), ismath)] = found  # a copy: the artist may change its font later
        return found

    def draw_text(
        self,
        gc: GraphicsContextBase,
        x: float,
        y: float,
        s: str,
        prop: FontProperties,
        angle: float,
        ismath: bool | str = False,
        mtext: Text | None = None,
    ) -> None:
        # (x, y) is the start of the baseline with y downwards (the SVG renderer flips y); the box
        # spans [0, w] along the baseline and [-descent, height - descent] across it, rotated by angle.
        w, h, d = self.get_text_width_height_descent(s, prop, ismath)
        c, sn = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        ink = self.ink
        for u, v in ((0.0, -d), (w, -d), (0.0, h - d), (w, h - d)):
            px, py = x + u * c - v * sn, y - (u * sn + v * c)
            ink[0], ink[1], ink[2], ink[3] = min(ink[0], px), min(ink[1], py), max(ink[2], px), max(ink[3], py)
        super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)  # type: ignore[no-untyped-call]


def _svg(fig: Figure, salt: str) -> str:
    """Draw ``fig`` once into SVG, cropped to its ink plus the usual pad. ``salt`` fixes the ids of
    clip paths and markers, and the metadata (a wall-clock date) is left out: same summary, same bytes."""
    buf = io.StringIO()
    w_in, h_in = fig.get_size_inches()
    height = h_in * 72
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        rec = _CropRecorder(w_in * 72, height, buf)
        fig.draw(rec)  # savefig would wrap rec for rasterized artists: these plots have none
        rec.finalize()  # type: ignore[no-untyped-call]
    x0, top, x1, bottom = rec.ink
    for ax in fig.axes:
        box = ax.bbox  # y upwards
        x0, top, x1, bottom = min(x0, box.x0), min(top, height - box.y1), max(x1, box.x1), max(bottom, height - box.y0)
    x0, top = x0 - _PAD_PT, top - _PAD_PT
    w, h = x1 + _PAD_PT - x0, bottom + _PAD_PT - top
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    return _SVG_SIZE.sub(f'width="{w:.3f}pt" height="{h:.3f}pt" viewBox="{x0:.3f} {top:.3f} {w:.3f} {h:.3f}"', text, 1)


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no data yet: {what}", ha="center", va="center", transform=ax.transAxes, color="#757575")
    ax.set_xticks([])
    ax.set_yticks([])


def _plot_equity(s: DailySummary) -> Figure:
    fig, ax = _figure((6, 3.2))
    if s.equity:
        start = epoch_s(f"{s.day}T00:00:00Z")
        xs = [(epoch_s(t) - start) / 3600 for t, _ in s.equity]
        ys = [v for _, v in s.equity]
        ax.step([0.0, *xs], [0.0, *ys], where="post", color=_COLORS["main"])
        ax.axhline(0, color=_COLORS["grey"], lw=0.8)
        ax.set_xlabel(f"hours since {s.day} 00:00 UTC (trade exit)")
        ax.set_ylabel("cumulative net bps")
    else:
        _empty(ax, "no resolved shadow trades")
    _title(ax, "Shadow P&L equity curve (simulated, net of costs)")
    return fig


def _plot_calibration(s: DailySummary) -> Figure:
    fig, ax = _figure((4.6, 4.2))
    if s.calibration:
        ax.plot([0, 1], [0, 1], ls="--", color=_COLORS["grey"], label="perfect")
        x = [b.mean_predicted for b in s.calibration]
        y = [b.observed for b in s.calibration]
        sizes = [20 + 180 * b.n / max(c.n for c in s.calibration) for b in s.calibration]
        ax.plot(x, y, color=_COLORS["main"], lw=1)
        ax.scatter(x, y, s=sizes, color=_COLORS["main"], label="bins (size = n)", zorder=3)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted win probability")
        ax.set_ylabel("observed win rate")
        ax.legend(loc="upper left", fontsize=8)
        ece = f" ECE {s.calibration_ece:.3f}" if s.calibration_ece is not None else ""
        _title(ax, f"Calibration reliability (shadow trades){ece}")
    else:
        _empty(ax, "no resolved trades with a prediction")
        _title(ax, "Calibration reliability")
    return fig


def _plot_funnel(s: DailySummary) -> Figure:
    fig, ax = _figure((6, 3.2))
    if s.funnel and s.funnel[0][1]:
        names = [n for n, _ in s.funnel][::-1]
        vals = [v for _, v in s.funnel][::-1]
        ax.barh(names, vals, color=_COLORS["main"])
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v}", va="center", fontsize=8)
        ax.set_xlabel("signals still standing")
    else:
        _empty(ax, "no signals")
    _title(ax, "Gate funnel (evaluation order)")
    return fig


def _plot_blocks(s: DailySummary) -> Figure:
    fig, ax = _figure((6, 3.2))
    reps = [r for r in s.gate_performance.gates if r.any.n_blocked]
    if reps:
        idx = list(range(len(reps)))
        ax.bar(
            [i - 0.2 for i in idx],
            [r.any.good for r in reps],
            0.4,
            color=_COLORS["good"],
            label="good (blocked a loser)",
        )
        ax.bar(
            [i + 0.2 for i in idx], [r.any.bad for r in reps], 0.4, color=_COLORS["bad"], label="bad (blocked a winner)"
        )
        ax.set_xticks(idx, [r.gate.replace("_gate", "") for r in reps], fontsize=8)
        ax.set_ylabel("blocked signals")
        ax.legend(fontsize=8)
    else:
        _empty(ax, "no blocked signals with an outcome")
    _title(ax, "Good vs bad blocks per gate")
    return fig


def _plot_sessions(s: DailySummary) -> Figure:
    fig, (a1, a2) = _figure((7, 3.2), ncols=2)
    rows = [x for x in s.sessions if x.auc is not None or x.ece is not None]
    if rows:
        labels = [x.date[5:] for x in rows]
        for ax, attr, ci, color, title in (
            (a1, "auc", "auc_ci", _COLORS["main"], "AUC per session"),
            (a2, "ece", "ece_ci", _COLORS["alt"], "ECE per session"),
        ):
            pts = [(i, getattr(x, attr), getattr(x, ci)) for i, x in enumerate(rows) if getattr(x, attr) is not None]
            if pts:
                xs = [p[0] for p in pts]
                ys = [float(p[1]) for p in pts]
                # A bootstrap interval need not contain the point estimate (ECE is biased); never draw a negative bar.
                lo = [
                    max(0.0, y - (p[2][0] if p[2] and p[2][0] is not None else y)) for y, p in zip(ys, pts, strict=True)
                ]
                hi = [
                    max(0.0, (p[2][1] if p[2] and p[2][1] is not None else y) - y) for y, p in zip(ys, pts, strict=True)
                ]
                ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-", color=color, capsize=3)
                ax.set_xticks(range(len(rows)), labels, rotation=45, fontsize=7)
            else:
                _empty(ax, attr)
            _title(ax, title)
        a1.axhline(0.5, color=_COLORS["grey"], lw=0.8, ls="--")
        # What tight_layout chose for these panels (rotated MM-DD labels, 0.xx ticks), fixed: tight_layout
        # is a hidden extra draw, and the outer margins are cropped away by _svg anyway.
        fig.subplots_adjust(left=0.08, right=0.976, bottom=0.161, top=0.886, wspace=0.239)
    else:
        _empty(a1, "no training sessions")
        _empty(a2, "no training sessions")
        fig.subplots_adjust(left=0.021, right=0.979, bottom=0.047, top=0.953, wspace=0.046)
    return fig


def _plot_importance(s: DailySummary) -> Figure:
    fig, ax = _figure((6, 3.4))
    rows = s.importance_change[:10]
    if rows:
        names = [r[0] for r in rows][::-1]
        idx = list(range(len(names)))
        ax.barh([i + 0.2 for i in idx], [r[1] for r in rows][::-1], 0.4, color=_COLORS["grey"], label="previous")
        ax.barh([i - 0.2 for i in idx], [r[2] for r in rows][::-1], 0.4, color=_COLORS["main"], label="latest")
        ax.set_yticks(idx, names, fontsize=8)
        ax.set_xlabel("share of importance")
        ax.legend(fontsize=8)
        _title(ax, "Feature importance change (last two sessions)")
    elif s.importance:
        names = list(s.importance)[::-1]
        ax.barh(names, [s.importance[n][-1] for n in names], color=_COLORS["main"])
        _title(ax, "Feature importance (one session so far)")
    else:
        _empty(ax, "no importances")
        _title(ax, "Feature importance change")
    return fig


def _plot_passrate(s: DailySummary) -> Figure:
    fig, ax = _figure((6, 3.2))
    days = list(s.pass_rate_trend)
    if days:
        keys = sorted({k for v in s.pass_rate_trend.values() for k in v}, key=lambda k: (k != "all", k))
        for k in keys:
            ys = [s.pass_rate_trend[d].get(k) for d in days]
            pts = [(i, y) for i, y in enumerate(ys) if y is not None]
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                "o-",
                lw=2.5 if k == "all" else 1,
                label=k.replace("_gate", ""),
            )
        ax.set_xticks(range(len(days)), [d[5:] for d in days], fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("pass rate")
        ax.legend(fontsize=7, ncol=2)
    else:
        _empty(ax, "no signals")
    _title(ax, "Pass-rate trend per gate")
    return fig


_PLOTS: Final[dict[str, tuple[Callable[[DailySummary], Figure], str]]] = {
    "plot-equity": (_plot_equity, "Cumulative simulated P&L of the day's shadow trades, after fees and spread."),
    "plot-calibration": (_plot_calibration, "Predicted win probability vs observed win rate (equal-width bins)."),
    "plot-funnel": (_plot_funnel, "How many signals survive each gate, in the order the gates run."),
    "plot-blocks": (_plot_blocks, "Blocks judged by the counterfactual outcome (a gate gets every signal it blocked)."),
    "plot-sessions": (_plot_sessions, "Out-of-sample AUC and ECE per training session with 95 % intervals."),
    "plot-importance": (_plot_importance, "Normalised importance shares, previous vs latest session."),
    "plot-passrate": (_plot_passrate, "Share of signals each gate passed, per day."),
}


# ------------------------------------------------------------------------------------------- html
def _e(x: object) -> str:
    return html.escape(str(x))


def _f(x: float | None, fmt: str = ".3f") -> str:
    return "–" if x is None else format(x, fmt)


def _ci(ci: tuple[float, float] | None, fmt: str = ".3f", value: float | None = None) -> str:
    if ci is None:
        return ""
    if value is not None:
        return f" <small>{_e(interval_text(value, ci, fmt).strip())}</small>"
    return f" <small>[{ci[0]:{fmt}}, {ci[1]:{fmt}}]</small>"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], left: int = 1, tid: str = "") -> str:
    ident = f' id="{tid}"' if tid else ""
    th = "".join(f'<th class="l">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table{ident}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _status_class(m: MetricValue) -> str:
    """Red for a miss; above a band that also has a minimum (win rate, P&L, trades a day) is not a failure,
    only a ceiling-only band (importance drift, adoption lag) is missed from above."""
    if m.status == "above target" and m.band.min is not None:
        return "s-high"
    return {"in band": "s-in", "below target": "s-below", "above target": "s-above"}.get(m.status, "s-none")


def _metric_value(m: MetricValue) -> str:
    if m.value is None:
        return "–"
    if m.unit in ("ratio", "share"):
        return f"{m.value:.1%}"
    if m.unit in ("count", "samples", "sessions/day", "models/day"):
        return f"{m.value:g}"
    return f"{m.value:.3f}" if abs(m.value) < 10 else f"{m.value:.1f}"


def _metrics_table(s: DailySummary) -> str:
    rows = [
        (
            f"<code>{_e(m.name)}</code>" + (f" <small>{_e(m.key)}</small>" if m.key else ""),
            _metric_value(m),
            _e(m.unit),
            _e(m.band.text()),
            f'<span class="{_status_class(m)}">{_e(m.status)}</span>',
            "–" if m.n is None else str(m.n),
            _e(m.note),
        )
        for m in s.metrics
    ]
    return _table(["metric", "value", "unit", "target band", "status", "n", "note"], rows, tid="metrics-table")


def _gates_section(s: DailySummary) -> str:
    perf = {r.gate: r for r in s.gate_performance.gates}
    rows = []
    for g in s.gates:
        r = perf.get(g.gate)
        rows.append(
            (
                _e(g.gate),
                str(g.received),
                str(g.passed),
                str(g.blocked),
                _f(g.pass_rate, ".1%"),
                str(r.any.good) if r else "–",
                str(r.any.bad) if r else "–",
                _f(r.any.precision, ".1%") if r else "–",
                str(r.sole.n_blocked) if r else "–",
                _f(r.any.mean_net_pnl_bps, "+.1f") if r else "–",
            )
        )
    table = _table(
        [
            "gate",
            "received",
            "passed",
            "blocked",
            "pass rate",
            "good blocks",
            "bad blocks",
            "precision",
            "sole blocks",
            "mean net bps of blocked",
        ],
        rows,
        tid="gates-table",
    )
    rec_rows = []
    for rec_ in s.recommendations:
        if rec_.recommended_allowed is not None:
            cur, rec = "current list", ", ".join(rec_.recommended_allowed) or "(none)"
        elif rec_.kind == "offset":
            cur, rec = "+0 (per-signal hurdle)", f"{rec_.recommended:+.4g}"
        else:
            cur, rec = _f(rec_.current, ".4g"), _f(rec_.recommended, ".4g")
        rec_rows.append(
            (
                _e(rec_.gate),
                _e(rec_.mode),
                _e(rec_.kind),
                _e(cur),
                _e(rec),
                f"{rec_.current_net_bps:+.1f} (n={rec_.current_n})",
                f"{rec_.recommended_net_bps:+.1f} (n={rec_.recommended_n})",
                str(rec_.eligible_n),
            )
        )
    recs = (
        _table(
            ["gate", "mode", "kind", "current", "recommended", "net bps now", "net bps at recommended", "eligible n"],
            rec_rows,
            left=3,
            tid="recommendations-table",
        )
        if rec_rows
        else "<p><small>No signals with known outcomes yet: no recommendation.</small></p>"
    )
    p = s.gate_performance.passed
    passed = (
        f"<p>Passed signals: {p.n_passed} (wins {p.wins}, losses {p.losses}, breakeven {p.breakeven}, "
        f"no data {p.no_data}; win rate {_f(p.win_rate, '.1%')}).</p>"
    )
    note = (
        "<p><small>Recommendations are marginal (only signals no other gate blocked), score a threshold by the "
        "sum of net P&amp;L of what would pass, and break ties toward the current threshold. One day is a "
        "small sample.</small></p>"
    )
    return table + passed + "<h3>Threshold recommendations</h3>" + recs + note


def _challengers_section(s: DailySummary) -> str:
    """Champion (or prior) vs each challenger on the same forward decisions, with intervals."""
    if not s.challengers:
        return (
            "<h3>Challengers in shadow</h3><p><small>No challenger is served in shadow: no model has passed the "
            "offline checks (lift over the cost baseline, P&amp;L at each mode's threshold, calibration).</small></p>"
        )

    def tri(t: tuple[float, float, float] | None, fmt: str = ".3f", sign: str = "") -> str:
        return "–" if t is None else f"{t[0]:{sign}{fmt}} [{t[1]:{sign}{fmt}}, {t[2]:{sign}{fmt}}]"

    rows = [
        (
            f"<code>{_e(c.model_id[:19])}</code>",
            _e(c.status),
            str(c.nights),
            str(c.n),
            tri(c.challenger_auc),
            tri(c.incumbent_auc),
            tri(c.auc_diff, sign="+"),
            "–" if c.z is None else f"{c.z:+.2f} (needs {c.z_crit or float('nan'):.2f})",
            tri(c.pnl_diff_bps, ".2f", "+"),
            _e(c.reason),
        )
        for c in s.challengers
    ]
    return (
        "<h3>Challengers in shadow</h3>"
        + _table(
            [
                "challenger",
                "status",
                "nights",
                "forward decisions",
                "challenger AUC",
                "champion / prior AUC",
                "AUC difference",
                "z",
                "kept P&amp;L difference (bps per decision)",
                "last look",
            ],
            rows,
            left=1,
            tid="challengers-table",
        )
        + "<p><small>Both models on the same decisions made after the challenger was trained, with known "
        "outcomes (95 % block-bootstrap intervals); P&amp;L of what each would keep at its mode's threshold. "
        "Promotion needs z above the bound that spends 0.05 false promotions a year over every nightly look."
        "</small></p>"
    )


def _learning_section(s: DailySummary) -> str:
    rows = [
        (
            _e(x.date),
            str(x.n),
            _f(x.auc) + _ci(x.auc_ci, value=x.auc),
            _f(x.ece, ".4f") + _ci(x.ece_ci, ".4f", x.ece),
            _f(x.brier, ".4f") + _ci(x.brier_ci, ".4f", x.brier),
            _e(x.verdict),
            _e("; ".join(x.reasons)),
            f"<code>{_e(x.model_id[:19])}</code>" if x.model_id else "–",
        )
        for x in s.sessions
    ]
    sessions = _table(
        ["date", "n", "AUC", "ECE", "Brier", "verdict", "reasons", "published"], rows, tid="sessions-table"
    )
    r = s.readiness
    checks = _table(
        ["check", "ok", "detail"],
        [(_e(c), {True: "yes", False: "NO", None: "–"}[ok], _e(d)) for c, ok, d in r.checks],
        tid="readiness-table",
    )
    ready = {True: "ready for Hamilton", False: "not ready", None: "no session yet"}[r.ready]
    exports = _table(
        ["exported at", "model", "version", "validated", "AUC"],
        [
            (
                _e(e.created_at),
                f"<code>{_e(e.model_id[:23])}</code>",
                _f(e.version, "d") if e.version else "–",
                {True: "yes", False: "NO", None: "unknown"}[e.validated],
                _f(e.auc),
            )
            for e in s.exports
        ],
        tid="exports-table",
    )
    usage = _table(
        ["model", "shadow trades", "live trades"],
        [(f"<code>{_e(m[:23])}</code>", str(c["shadow"]), str(c["live"])) for m, c in s.model_usage.items()],
        tid="usage-table",
    )
    a = s.adoption
    adoption = (
        "<p>No export yet.</p>"
        if a is None
        else f"<p>Latest export <code>{_e(a.model_id[:23])}</code> at {_e(a.exported_at)}: "
        + (
            f"first live trade {_e(a.first_use)} ({a.lag_days:.2f} days)"
            if a.adopted
            else f"not used yet ({a.lag_days:.2f} days)"
        )
        + f"; {a.on_current} of {a.live_after_export} live trades since then used it.</p>"
    )
    return (
        f"<p>Latest verdict: <b>{ready}</b>.</p>"
        + checks
        + "<h3>Training sessions</h3>"
        + sessions
        + "<h3>Export history</h3>"
        + exports
        + adoption
        + "<h3>Which model every trade used</h3>"
        + usage
    )


def _live_section(s: DailySummary) -> str:
    d = s.divergence_summary
    stats = _table(
        ["component (bps, + = live worse)", "n", "mean", "median", "largest"],
        [(k, str(n), _f(mean, "+.2f"), _f(med, "+.2f"), _f(mx, "+.2f")) for k, (n, mean, med, mx) in d.stats.items()],
        tid="divergence-table",
    )
    rows = _table(
        ["live trade", "shadow trade", "entry", "exit", "P&L", "same outcome"],
        [
            (
                _e(r.trade_id),
                _e(r.shadow_id),
                _f(r.entry_bps, "+.2f"),
                _f(r.exit_bps, "+.2f"),
                _f(r.pnl_bps, "+.2f"),
                {True: "yes", False: "no", None: "–"}[r.same_outcome],
            )
            for r in s.divergence[:50]
        ],
        left=2,
    )
    return (
        f"<p>{d.linked} live trades linked to a shadow trade; {d.unmatched} name an unknown shadow trade.</p>"
        + stats
        + rows
    )


def _context_section(s: DailySummary) -> str:
    out = []
    for by, groups in s.context.items():
        feats = sorted({f for g in groups for f in g.feature_means})
        out.append(f"<h3>By {by}</h3>")
        out.append(
            _table(
                [by, "trades", "resolved", "win rate", "net bps", *feats],
                [
                    (
                        _e(g.key),
                        str(g.trades),
                        str(g.resolved),
                        _f(g.win_rate, ".1%"),
                        f"{g.net_bps:+.1f}",
                        *(_f(g.feature_means.get(f), ".2f") for f in feats),
                    )
                    for g in groups
                ],
            )
        )
    return "".join(out)


def _health_section(s: DailySummary) -> str:
    h = s.health
    i = h.inputs
    inputs = _table(
        ["figure", "value"],
        [
            ("stream iterator age (ms)", _f(i.iterator_age_ms, ".0f")),
            ("records behind", "–" if i.records_behind is None else str(i.records_behind)),
            *(
                (f"queue depth: {_e(q)}", "not measured" if d is None else str(d))
                for q, d in sorted(i.queue_depths.items())
            ),
            ("shadow trades in ERROR", _f(h.shadow_error_rate, ".1%")),
            *((f"error rate: {_e(fn)}", _f(r, ".2%")) for fn, r in h.function_error_rates.items()),
            ("open trades past timeout", str(len(h.open_past_timeout))),
        ],
        tid="health-table",
    )
    checks = _table(
        ["integrity check", "ok", "detail", "first offenders"],
        [(_e(c.name), "yes" if c.passed else "NO", _e(c.detail), _e(", ".join(c.offenders))) for c in h.checks],
        tid="integrity-table",
    )
    return inputs + checks


def render_report(summary: DailySummary, narrator: Narrator | None = None) -> str:
    """The whole page for one day (deterministic for the same summary: plots use fixed SVG id salts)."""
    s = summary
    paras = (narrator or FiguresNarrator()).narrate(s)
    plots = "".join(
        f'<figure id="{pid}" class="plot">{_svg(fn(s), pid.removeprefix("plot-"))}'
        f"<figcaption>{_e(cap)}</figcaption></figure>"
        for pid, (fn, cap) in _PLOTS.items()
    )
    feed = "\n".join(_e(f"{e.ts}  {e.kind:<7} {e.text}") for e in s.feed[-40:])
    body = f"""
<main>
<h1>Huracan Engine — daily summary {_e(s.day)}</h1>
<p class="headline" id="headline">{_e(headline(s))}</p>
<p><small>As of {_e(s.as_of)}. Shadow (paper) trading only: no real money. Figures computed from the engine's tables.</small></p>
<h2>What we learned today</h2>
<div class="narrative" id="narrative">{"".join(f"<p>{_e(p)}</p>" for p in paras)}</div>
<h2>Key metrics vs target</h2>
{_metrics_table(s)}
<h2>Plots</h2>
<div class="grid" id="plots">{plots}</div>
<h2>Gate performance</h2>
{_gates_section(s)}
<h2>Model readiness and learning progress</h2>
{_learning_section(s)}
{_challengers_section(s)}
<h2>Shadow vs live (Hamilton)</h2>
{_live_section(s)}
<h2>Market context of the day's shadow trades</h2>
{_context_section(s)}
<h2>System health</h2>
{_health_section(s)}
<h2>Learning activity feed</h2>
<pre id="feed">{feed or "(nothing today)"}</pre>
</main>"""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Huracan daily summary {_e(s.day)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def metrics_document(summary: DailySummary) -> dict[str, Any]:
    """The machine-readable companion of a report (``metrics.json``): headline and every metric."""
    return {
        "day": summary.day,
        "as_of": summary.as_of,
        "headline": headline(summary),
        "metrics": [
            {
                "name": m.name,
                "key": m.key,
                "value": m.value,
                "unit": m.unit,
                "status": m.status,
                "n": m.n,
                "target": {"min": m.band.min, "ideal": m.band.ideal, "max": m.band.max},
            }
            for m in summary.metrics
        ],
    }


def render_index(entries: Iterable[tuple[str, str]], run_report: str | None = None) -> str:
    """The listing page: one link per day (newest first) with its headline, and the whole-run report if any."""
    rows = sorted(entries, key=lambda e: e[0], reverse=True)
    items = "".join(f'<li><a href="{_e(d)}/index.html">{_e(d)}</a> — {_e(h)}</li>' for d, h in rows)
    run = (
        f'<p id="run-report"><a href="{_e(run_report)}">The whole run</a>: P&amp;L, drawdown, gates, models and '
        "learning over every day below.</p>"
        if run_report
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Huracan daily summaries</title>'
        f"<style>{_CSS}</style></head><body><main><h1>Huracan daily summaries</h1>{run}"
        f'<ul id="days">{items or "<li>No reports yet.</li>"}</ul></main></body></html>\n'
    )


def _index_entries(root: Path) -> list[tuple[str, str]]:
    entries = []
    for d in sorted(root.iterdir()):
        if d.is_dir() and _DAY_RE.match(d.name) and (d / "index.html").exists():
            try:
                head = str(json.loads((d / "metrics.json").read_text(encoding="utf-8")).get("headline", ""))
            except (OSError, ValueError):
                head = ""
            entries.append((d.name, head))
    return entries


def link_run_report(out_dir: str | Path, run_report: str = "run.html") -> Path:
    """Rebuild ``<out_dir>/index.html`` with a link to the whole-run report beside the daily pages."""
    root = Path(out_dir)
    index = root / "index.html"
    index.write_text(render_index(_index_entries(root), run_report=run_report), encoding="utf-8")
    return index


def write_report(out_dir: str | Path, summary: DailySummary, narrator: Narrator | None = None) -> Path:
    """Write ``<out_dir>/<day>/index.html`` and ``metrics.json``, refresh ``<out_dir>/index.html``; returns the page."""
    root = Path(out_dir)
    day_dir = root / summary.day
    day_dir.mkdir(parents=True, exist_ok=True)
    page = day_dir / "index.html"
    page.write_text(render_report(summary, narrator), encoding="utf-8")
    (day_dir / "metrics.json").write_text(
        json.dumps(metrics_document(summary), indent=2, sort_keys=True), encoding="utf-8"
    )
    run = "run.html" if (root / "run.html").is_file() else None
    (root / "index.html").write_text(render_index(_index_entries(root), run_report=run), encoding="utf-8")
    return page
