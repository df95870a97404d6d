"""The whole-run report rendered by a real browser from a workspace: every plot present and drawn, no errors.

The workspace is written through :class:`huracan.workspace.RunWorkspace` from engine records built on three real
days of the FTX month: two symbols' worth of trades (the second a copy of the first, shifted, so per-symbol
curves differ), a champion and a candidate card, a Hamilton adoption and the nights' AUC / ECE. Chromium is
Debian's package, run as in ``test_report_render.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from huracan.core.bars import BarArrays
from huracan.core.timeutil import from_epoch_s
from huracan.observability.report import link_run_report
from huracan.observability.run_report import RUN_PLOT_IDS, render_run_report
from huracan.service.entities import DecisionOutcome, DecisionRecord, ShadowTradeOutcome, ShadowTradeRecord
from huracan.workspace import RunWorkspace, summarize_run
from tests.e2e.test_report_render import CHROMIUM, _chromium, _console_errors

SCREENSHOT = Path("/tmp/huracan_run_report_screenshot.png")
GATES = ("confidence_gate", "cost_gate", "volume_gate")


def _records(bars: BarArrays, symbol: str, offset: int, champion: str):
    """Every 37th bar a signal; a 15-bar window decides it: close up for long = WIN (real prices)."""
    decisions, d_out, trades, t_out = [], {}, [], {}
    close = bars.close
    for k, i in enumerate(range(100 + offset, len(bars) - 20, 37)):
        ts = from_epoch_s(int(bars.ts[i]) + 60)
        side = "long" if k % 2 else "short"
        move = (close[i + 15] - close[i]) / close[i] * 1e4 * (1 if side == "long" else -1)
        blocked = tuple(g for j, g in enumerate(GATES) if (k + j) % 5 == 0)
        sid = f"{symbol}-{i}"
        gates = {g: {"passed": g not in blocked, "value": float(k % 7), "threshold": 3.0} for g in GATES}
        served = champion if ts >= "2022-01-02T12:00:00Z" else None
        decisions.append(
            DecisionRecord(
                sid,
                ts[:10],
                ts,
                symbol,
                side,
                "scalp" if k % 3 else "runner",
                "mine" if k % 4 else "other",
                0.7,
                float(close[i]),
                "{}",
                gates,
                not blocked,
                blocked,
                0.6 if served else None,
                "model" if served else "none",
                "RANGE",
                "rule",
                served,
                "cfg1",
                5.0,
                12.0,
                None if blocked else f"sh-{sid}",
                None,
            )
        )
        outcome = "WIN" if move > 0 else "LOSS"
        d_out[sid] = DecisionOutcome(sid, "timeout", outcome, float(close[i + 15]), move, move - 12.0)
        if blocked:
            continue
        trades.append(
            ShadowTradeRecord(
                f"sh-{sid}",
                sid,
                ts,
                ts[:10],
                symbol,
                decisions[-1].mode,
                side,
                decisions[-1].strategy,
                float(close[i]),
                float(close[i]) * 1.003,
                float(close[i]) * 0.997,
                from_epoch_s(int(bars.ts[i]) + 960),
                100.0,
                0.1,
                0.6,
                "model",
                "{}",
                {"fee_bps_per_side": 5.0},
                served,
                "RANGE",
                "cfg1",
            )
        )
        t_out[f"sh-{sid}"] = ShadowTradeOutcome(
            f"sh-{sid}", "CLOSED", float(close[i + 15]), "timeout", from_epoch_s(int(bars.ts[i + 15]) + 60),
            move, move - 12.0, 900.0, outcome, outcome == "WIN",
        )  # fmt: skip
    return decisions, d_out, trades, t_out


def _card(ws: RunWorkspace, model_id: str, version: int, stage: str, created: str) -> dict:
    card = {"name": "meta_label", "model_id": model_id, "version": version, "stage": stage, "created_at": created}
    folder = ws.models / "meta_label" / model_id.removeprefix("sha256:")
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(card))
    return card


@pytest.fixture(scope="module")
def workspace(ftx_month: BarArrays, tmp_path_factory: pytest.TempPathFactory) -> RunWorkspace:
    bars = ftx_month.slice(60, 60 + 3 * 1440)
    champion, candidate = "sha256:" + "c" * 64, "sha256:" + "d" * 64
    ws = RunWorkspace.prepare(tmp_path_factory.mktemp("runs") / "w", "render")
    cards = [
        _card(ws, candidate, 1, "candidate", "2022-01-02T00:00:00Z"),
        _card(ws, champion, 2, "champion", "2022-01-02T12:00:00Z"),
    ]
    a = _records(bars, "BTC-PERP", 0, champion)
    b = _records(bars, "ETH-PERP", 11, champion)
    decisions, trades = a[0] + b[0], a[2] + b[2]
    d_out, t_out = {**a[1], **b[1]}, {**a[3], **b[3]}
    ws.write_decisions(decisions, d_out)
    ws.write_trades(trades, t_out)
    ws.write_bars({"BTC-PERP": bars})
    ws.write_sessions(
        [
            {"day": "2022-01-01", "ran_on": "2022-01-02", "status": "candidate", "n_samples": 300,
             "auc": [0.55, 0.49, 0.61], "ece": [0.05, 0.03, 0.09], "reasons": ["300 labelled samples"]},
            {"day": "2022-01-02", "ran_on": "2022-01-03", "status": "published", "n_samples": 1200,
             "auc": [0.62, 0.57, 0.67], "ece": [0.03, 0.02, 0.06], "reasons": []},
        ]
    )  # fmt: skip
    hamilton = {"adoptions": [[champion, "2022-01-02T12:05:00Z"]]}
    ws.write_summary(
        summarize_run(
            decisions, trades, cards, decision_outcomes=d_out, trade_outcomes=t_out, extra={"hamilton": hamilton}
        )
    )
    return ws


@pytest.fixture(scope="module")
def rendered(workspace: RunWorkspace, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: apt-get install -y chromium")
    page = render_run_report(workspace)
    link_run_report(workspace.reports)
    proc = _chromium(page.as_uri(), tmp_path_factory.mktemp("profile"), "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return page, proc.stdout, proc.stderr


def test_run_report_renders_without_console_errors(rendered: tuple[Path, str, str]) -> None:
    page, dom, stderr = rendered
    assert page.name == "run.html" and page.parent.name == "reports"
    assert _console_errors(stderr) == []
    assert "<h1>Huracan Engine — whole-run report</h1>" in dom


def test_every_run_plot_is_present_and_drawn(rendered: tuple[Path, str, str]) -> None:
    _, dom, _ = rendered
    for pid in RUN_PLOT_IDS:
        m = re.search(rf'<figure id="{pid}" class="plot">(.*?)</figure>', dom, re.S)
        assert m is not None, f"{pid} missing from the rendered DOM"
        body = m.group(1)
        assert "<svg" in body and body.count("<path") >= 3, f"{pid} has no drawing"
        assert "no data" not in body, f"{pid} rendered empty for a run with data"
    for table in ("run-figures", "run-groups", "run-gates", "run-sessions", "run-models"):
        assert f'id="{table}"' in dom


def test_figures_carry_n_and_interval_and_per_symbol_rows(workspace: RunWorkspace, rendered) -> None:
    _, dom, _ = rendered
    s = workspace.read_summary()
    wr = s["win_rate"]
    assert wr["lo"] <= wr["value"] <= wr["hi"] and wr["n"] == s["wins"] + s["losses"] + s["breakeven"] > 0
    assert f"(n={wr['n']})" in dom
    assert "symbol: BTC-PERP" in dom and "symbol: ETH-PERP" in dom and "mode: runner" in dom
    # the model timeline knows when the champion was first served and adopted
    assert "2022-01-02T12:05:00Z" in dom


def test_index_links_the_run_report(workspace: RunWorkspace, rendered) -> None:
    index = (workspace.reports / "index.html").read_text()
    assert 'href="run.html"' in index


def test_screenshot(rendered: tuple[Path, str, str], tmp_path: Path) -> None:
    page, _, _ = rendered
    proc = _chromium(page.as_uri(), tmp_path / "profile", "--window-size=1200,4000", f"--screenshot={SCREENSHOT}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert SCREENSHOT.stat().st_size > 50_000
