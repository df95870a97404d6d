"""The report page, its index, the narrative and the EMF metrics, from a summary with known content."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_lambda_powertools import Metrics
from matplotlib.backends.backend_agg import FigureCanvasAgg

import huracan.observability.report as report_module
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.observability.emf import emit_daily_summary
from huracan.observability.insight_aggregator import DailySummary, build_daily_summary
from huracan.observability.narrative import FiguresNarrator, headline
from huracan.observability.records import DecisionRow, ShadowTrade
from huracan.observability.report import PLOT_IDS, render_report, write_report
from huracan.observability.sample import sample_summary
from huracan.observability.targets import METRIC_NAMES

DAY = "2024-01-03"


def _small_summary(day: str = DAY) -> DailySummary:
    trades = [
        ShadowTrade(f"s{i}", f"{day}T0{i}:00:00Z", day, "BTC-USD", "scalp", "long", 100.0, "CLOSED",
                    exit_ts=f"{day}T0{i}:30:00Z", exit_price=101.0, exit_reason="TP", shadow_pnl_bps=30.0,
                    shadow_pnl_net_bps=24.0 if i % 2 else -6.0, actual_outcome="WIN" if i % 2 else "LOSS",
                    predicted_win_prob=0.6)
        for i in range(1, 6)
    ]  # fmt: skip
    decisions = [
        DecisionRow(t.shadow_id, day, t.ts, t.symbol, t.mode, t.side, True, shadow_id=t.shadow_id) for t in trades
    ]
    return build_daily_summary(day, f"{day}T23:00:00Z", shadow=trades, decisions=decisions)


def test_headline_and_narrative_use_the_figures() -> None:
    s = _small_summary()
    # 3 wins x 24 + 2 losses x -6 = 60 bps net
    assert headline(s) == "Huracan 2024-01-03: 5 shadow trades, +60.0 bps net, no model yet, healthy"
    text = " ".join(FiguresNarrator().narrate(s))
    assert "Scalp won 3 of 5 resolved (60%)" in text
    assert "+60.0 bps after costs" in text
    assert "No training session ran today." in text


def test_report_has_every_plot_metric_and_no_external_assets() -> None:
    page = render_report(sample_summary(DAY))
    for pid in PLOT_IDS:
        assert re.search(rf'<figure id="{pid}" class="plot"><svg', page), pid
    for name in METRIC_NAMES:
        assert f"<code>{name.split('.')[0]}</code>" in page
    for tid in ("metrics-table", "gates-table", "recommendations-table", "sessions-table", "exports-table",
                "usage-table", "divergence-table", "health-table", "integrity-table"):  # fmt: skip
        assert f'id="{tid}"' in page
    assert not re.search(r'(src|href)="https?://', page)
    assert "<script" not in page


def test_empty_day_still_renders_every_plot() -> None:
    page = render_report(build_daily_summary(DAY, f"{DAY}T23:00:00Z"))
    assert all(f'id="{pid}"' in page for pid in PLOT_IDS)
    assert page.count("no data yet") >= len(PLOT_IDS)


def test_write_report_writes_day_and_index(tmp_path: Path) -> None:
    write_report(tmp_path, _small_summary("2024-01-02"))
    page = write_report(tmp_path, _small_summary(DAY))
    assert page == tmp_path / DAY / "index.html"
    doc = json.loads((tmp_path / DAY / "metrics.json").read_text())
    pnl = next(m for m in doc["metrics"] if m["name"] == "shadow_pnl_daily")
    assert (pnl["value"], pnl["status"], pnl["target"]) == (60.0, "in band", {"min": 50, "ideal": 100, "max": 200})
    index = (tmp_path / "index.html").read_text()
    assert index.index("2024-01-03/index.html") < index.index("2024-01-02/index.html")  # newest first
    assert "+60.0 bps net" in index


def test_emf_blobs_carry_seed_names_and_dimensions(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = Metrics(namespace="HuracanTest", service="daily-summary")
    s = _small_summary()
    emit_daily_summary(metrics, s, "full")  # every figure (the essential level: test_observability_levels.py)
    metrics.flush_metrics()
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    values: dict[tuple[str, str], float] = {}
    for b in blobs:
        for d in b["_aws"]["CloudWatchMetrics"]:
            for m in d["Metrics"]:
                dims = [k for k in d["Dimensions"][0] if k != "service"]
                key = str(b[dims[0]]) if dims else ""
                v = b[m["Name"]]
                values[(m["Name"], key)] = v[0] if isinstance(v, list) else v
    assert values[("shadow_trades_daily", "")] == 5
    assert values[("shadow_pnl_daily", "")] == 60.0
    assert values[("shadow_win_rate", "scalp")] == 0.6
    assert ("shadow_win_rate", "runner") not in values  # not measured: not emitted
    assert values[("integrity_checks_failed", "")] == 0


def _dense_summary() -> DailySummary:
    """A month of sessions (30 rotated date labels per panel) with ECE ticks as long as they get (0.0100)."""
    base = sample_summary(DAY)
    sessions = [
        dataclasses.replace(
            base.sessions[k % len(base.sessions)],
            date=from_epoch_s(epoch_s(f"{DAY}T00:00:00Z") - (29 - k) * 86400)[:10],
            auc=0.55 + 0.002 * k,
            auc_ci=(0.53 + 0.002 * k, 0.57 + 0.002 * k),
            ece=0.0101 + 0.00006 * k,
            ece_ci=(0.0101, 0.0119),
        )
        for k in range(30)
    ]
    return dataclasses.replace(base, sessions=sessions)


def test_same_summary_renders_the_same_bytes_whatever_was_rendered_before() -> None:
    # Given a page rendered once
    first = render_report(sample_summary(DAY))
    # When other days are rendered in between, and the shared text-size memo is emptied
    render_report(_dense_summary())
    render_report(build_daily_summary(DAY, f"{DAY}T23:00:00Z"))
    second = render_report(sample_summary(DAY))
    report_module._metrics.clear()
    third = render_report(sample_summary(DAY))
    # Then the same summary gives the same bytes (no wall-clock date in the SVG metadata either)
    assert first == second == third
    assert "dc:date" not in first and "<metadata>" not in first


_VIEWBOX = re.compile(r'^<svg [^>]*viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"')


@pytest.mark.parametrize("which", ["sample", "dense", "empty"])
def test_every_plot_is_cropped_to_what_savefig_tight_would_keep(which: str) -> None:
    summaries: dict[str, Callable[[], DailySummary]] = {
        "sample": lambda: sample_summary(DAY),
        "dense": _dense_summary,
        "empty": lambda: build_daily_summary(DAY, f"{DAY}T23:00:00Z"),
    }
    summary = summaries[which]()
    for pid, (build, _) in report_module._PLOTS.items():
        # Given a plot drawn into SVG by the single-draw path
        fig = build(summary)
        svg = report_module._svg(fig, pid)
        m = _VIEWBOX.match(svg)
        assert m is not None, pid
        x0, top, w, h = map(float, m.groups())
        # When matplotlib measures the same figure's tight box (what bbox_inches="tight" crops to)
        renderer = FigureCanvasAgg(fig).get_renderer()  # type: ignore[no-untyped-call]
        tight = fig.get_tightbbox(renderer)
        height = fig.get_figheight() * 72
        t_x0, t_x1 = tight.x0 * 72, tight.x1 * 72
        t_top, t_bottom = height - tight.y1 * 72, height - tight.y0 * 72
        # Then every label is inside the picture, with no more than savefig's 0.1 in pad around it
        assert x0 <= t_x0 and top <= t_top and x0 + w >= t_x1 and top + h >= t_bottom, (pid, m.groups(), tight)
        slack = [t_x0 - x0, t_top - top, x0 + w - t_x1, top + h - t_bottom]
        assert max(slack) <= 7.2 + 3.0, (pid, slack)
        # And side-by-side panels keep their labels off each other's plotting area
        for a in fig.axes:
            for b in fig.axes:
                inked = a.get_tightbbox(renderer)
                if a is not b and inked is not None:
                    assert not inked.overlaps(b.bbox), (pid, "labels run into the next panel")
