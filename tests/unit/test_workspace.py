"""The run workspace: files written from the engine's records read back whole, and the run's figures."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from huracan.service.entities import DecisionOutcome, DecisionRecord, ShadowTradeOutcome, ShadowTradeRecord
from huracan.workspace import (
    SEED_TRADE_COLUMNS,
    TRADE_COLUMNS,
    RunWorkspace,
    WorkspaceError,
    max_drawdown,
    median_interval,
    summarize_run,
    wilson_interval,
)

GATES_PASS: dict[str, dict[str, Any]] = {
    "confidence_gate": {"passed": True, "value": 0.8, "threshold": 0.6},
    "regime_gate": {"passed": True, "value": "trend", "threshold": "trend|range"},
}
GATES_BLOCK: dict[str, dict[str, Any]] = {
    "confidence_gate": {"passed": False, "value": 0.4, "threshold": 0.6},
    "regime_gate": {"passed": True, "value": "trend", "threshold": "trend|range"},
}


def _decision(i: int, symbol: str, passed: bool, mode: str = "scalp", strategy: str = "mine") -> DecisionRecord:
    return DecisionRecord(
        signal_id=f"s{i}",
        day=f"2024-01-0{1 + i % 2}",
        ts=f"2024-01-0{1 + i % 2}T00:{i:02d}:00Z",
        symbol=symbol,
        side="long",
        mode=mode,
        strategy=strategy,
        confidence=0.8 if passed else 0.4,
        price=100.0,
        features_json='{"ret_1": 0.001}',
        gates=GATES_PASS if passed else GATES_BLOCK,
        passed=passed,
        blocked_by=() if passed else ("confidence_gate",),
        prob=0.61 if passed else None,
        prob_source="model" if passed else "none",
        regime="trend",
        regime_source="rule",
        model_id=None,
        config_version="cfg123",
        expected_return_bps=4.0,
        cost_bps=12.0,
        shadow_id=f"sh{i}" if passed else None,
        expires_at_epoch=None,
    )


def _trade(i: int, symbol: str, mode: str = "scalp") -> ShadowTradeRecord:
    return ShadowTradeRecord(
        shadow_id=f"sh{i}",
        signal_id=f"s{i}",
        ts=f"2024-01-0{1 + i % 2}T00:{i:02d}:00Z",
        day=f"2024-01-0{1 + i % 2}",
        symbol=symbol,
        mode=mode,
        side="long",
        strategy="mine",
        entry_price=100.0,
        tp_price=100.3,
        sl_price=99.7,
        timeout_at=f"2024-01-0{1 + i % 2}T00:{i + 15:02d}:00Z",
        simulated_size_gbp=100.0,
        simulated_fee_gbp=0.1,
        predicted_win_prob=0.61,
        prob_source="model",
        features_json='{"ret_1": 0.001}',
        fill_assumptions={"fee_bps_per_side": 5.0},
        model_id=None,
        regime="trend",
        config_version="cfg123",
    )


def _closed(i: int, outcome: str, net: float) -> ShadowTradeOutcome:
    return ShadowTradeOutcome(
        shadow_id=f"sh{i}",
        status="CLOSED",
        exit_price=100.3 if outcome == "WIN" else 99.7,
        exit_reason="TP" if outcome == "WIN" else "SL",
        exit_ts=f"2024-01-0{1 + i % 2}T00:{i + 5:02d}:00Z",
        shadow_pnl_bps=net + 12.0,
        shadow_pnl_net_bps=net,
        duration_sec=300.0,
        actual_outcome=outcome,
        prediction_correct=outcome == "WIN",
    )


def _run() -> tuple[
    list[DecisionRecord], dict[str, DecisionOutcome], list[ShadowTradeRecord], dict[str, ShadowTradeOutcome]
]:
    # Given two symbols: BTC with 3 passes (WIN +18, LOSS -42, still OPEN) and a blocked loser; ETH with a
    # pass that won (+18) and a blocked winner
    decisions = [
        _decision(0, "BTC", True),
        _decision(1, "BTC", True),
        _decision(2, "BTC", True, mode="runner"),
        _decision(3, "BTC", False),
        _decision(4, "ETH", True, strategy="other"),
        _decision(5, "ETH", False),
    ]
    cf = {
        "s3": DecisionOutcome("s3", "SL", "LOSS", 99.7, -30.0, -42.0),
        "s5": DecisionOutcome("s5", "TP", "WIN", 100.3, 30.0, 18.0),
    }
    trades = [_trade(0, "BTC"), _trade(1, "BTC"), _trade(2, "BTC", mode="runner"), _trade(4, "ETH")]
    outcomes = {"sh0": _closed(0, "WIN", 18.0), "sh1": _closed(1, "LOSS", -42.0), "sh4": _closed(4, "WIN", 18.0)}
    return decisions, cf, trades, outcomes


def test_summary_figures_overall_and_per_symbol() -> None:
    decisions, cf, trades, outcomes = _run()
    card = {"name": "meta_label", "stage": "champion", "version": 1, "model_id": "sha256:" + "a" * 64}
    cand = {"name": "meta_label", "stage": "candidate", "version": 2, "model_id": "sha256:" + "b" * 64}
    s = summarize_run(decisions, trades, [card, cand], decision_outcomes=cf, trade_outcomes=outcomes, signals=7)
    # Then every required key is there with the figures the records imply
    assert (s["signals"], s["decisions"], s["passed"], s["shadow_trades"]) == (7, 6, 4, 4)
    assert (s["closed"], s["open"], s["wins"], s["losses"]) == (3, 1, 2, 1)
    assert s["net_pnl_bps"] == pytest.approx(-6.0)
    assert (s["models_published"], s["models_candidates"]) == (1, 1)
    assert s["champion_model_id"] == card["model_id"]
    assert s["symbols"] == ["BTC", "ETH"] and s["days"] == 2.0 and s["config_hash"] == "cfg123"
    assert (s["good_blocks"], s["bad_blocks"]) == (1, 1)
    # per symbol: BTC 1 win + 1 loss, ETH 1 win
    assert s["by_symbol"]["BTC"]["net_pnl_bps"] == pytest.approx(-24.0)
    assert s["by_symbol"]["ETH"]["wins"] == 1 and s["by_symbol"]["ETH"]["decisions"] == 2
    assert set(s["by_mode"]) == {"scalp", "runner"} and set(s["by_strategy"]) == {"mine", "other"}
    # win rate with n and an interval that contains it
    wr = s["win_rate"]
    assert wr["n"] == 3 and wr["lo"] <= wr["value"] <= wr["hi"]
    assert s["profit_factor"] == pytest.approx(36.0 / 42.0)
    # gate funnel and good/bad blocks per gate
    assert s["gates"]["confidence_gate"] == {
        "passed": 4, "blocked": 2, "good_blocks": 1, "bad_blocks": 1, "blocked_net_bps": pytest.approx(-24.0)
    }  # fmt: skip
    assert s["funnel"] == [["confidence_gate", 4], ["regime_gate", 4]]


def test_files_round_trip(tmp_path: Path) -> None:
    decisions, cf, trades, outcomes = _run()
    ws = RunWorkspace.prepare(tmp_path / "w", "demo")
    assert ws.models.is_dir() and ws.reports.is_dir()
    ws.write_trades(trades, outcomes)
    ws.write_decisions(decisions, cf)
    ws.write_summary(summarize_run(decisions, trades, [], decision_outcomes=cf, trade_outcomes=outcomes))
    # trades.csv: every reference shadow_trades column, one row per trade, outcomes joined
    with open(ws.trades_path, newline="") as fh:
        header = next(csv.reader(fh))
    assert header[: len(SEED_TRADE_COLUMNS)] == list(SEED_TRADE_COLUMNS) and header == list(TRADE_COLUMNS)
    back = {r["shadow_id"]: r for r in ws.read_trades()}
    assert len(back) == 4
    assert back["sh1"]["shadow_pnl_net_bps"] == -42.0 and back["sh1"]["actual_outcome"] == "LOSS"
    assert back["sh2"]["status"] == "OPEN" and back["sh2"]["exit_price"] is None
    # decisions.parquet: gates as columns, counterfactuals joined
    rows = {r["signal_id"]: r for r in ws.read_decisions()}
    assert len(rows) == 6
    assert rows["s3"]["gate_confidence_gate_passed"] is False and rows["s3"]["gate_confidence_gate_value"] == 0.4
    assert rows["s3"]["cf_outcome"] == "LOSS" and rows["s3"]["blocked_by"] == ["confidence_gate"]
    assert rows["s0"]["gate_regime_gate_value"] is None  # text values live in gates_json
    assert json.loads(rows["s0"]["gates_json"])["regime_gate"]["value"] == "trend"
    # summary.json is strict JSON and reopens
    assert RunWorkspace.open(ws.root).read_summary()["shadow_trades"] == 4


def test_default_path_and_refusing_a_used_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ws = RunWorkspace.prepare(None, "BTC-PERP demo", now=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert ws.root == Path("runs/20240102T030405Z-BTC-PERP-demo")
    again = RunWorkspace.prepare(None, "BTC-PERP demo", now=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert again.root == Path("runs/20240102T030405Z-BTC-PERP-demo-2")
    ws.write_summary({"signals": 0})
    with pytest.raises(WorkspaceError, match="already holds a run"):
        RunWorkspace.prepare(ws.root, "again")
    with pytest.raises(WorkspaceError, match="not a run workspace"):
        RunWorkspace.open(tmp_path / "nothing")


def test_summary_nan_becomes_null(tmp_path: Path) -> None:
    ws = RunWorkspace.prepare(tmp_path / "w", "x")
    ws.write_summary({"a": float("nan"), "b": {"c": float("inf")}, "d": {"x", "y"}})
    assert json.loads(ws.summary_path.read_text()) == {"a": None, "b": {"c": None}, "d": ["x", "y"]}


@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (3, 10), (70, 100), (0, 0)])
def test_wilson_interval_contains_the_rate(k: int, n: int) -> None:
    ci = wilson_interval(k, n)
    if n == 0:
        assert ci is None
        return
    assert ci is not None and 0.0 <= ci[0] <= k / n <= ci[1] <= 1.0 and ci[0] < ci[1]


def test_median_interval_and_drawdown() -> None:
    xs = [float(x) for x in range(1, 21)]
    lo, hi = median_interval(xs) or (0.0, 0.0)
    assert lo <= 10.5 <= hi and lo > 1.0 and hi < 20.0
    assert median_interval([]) is None
    # +10, -4, -8 (trough 22 below... peak 10 -> -2), +30: the deepest fall is 12
    assert max_drawdown([10.0, -4.0, -8.0, 30.0]) == 12.0
    assert max_drawdown([-5.0, 1.0]) == 5.0  # a fall from the start counts


def test_run_report_renders_from_a_workspace_with_only_records(tmp_path: Path) -> None:
    # Given a workspace as a backtest would leave it: decisions, trades, summary; no bars, sessions or models
    from huracan.observability.run_report import RUN_PLOT_IDS, render_run_report

    decisions, cf, trades, outcomes = _run()
    ws = RunWorkspace.prepare(tmp_path / "w", "backtest")
    ws.write_decisions(decisions, cf)
    ws.write_trades(trades, outcomes)
    ws.write_summary(summarize_run(decisions, trades, [], decision_outcomes=cf, trade_outcomes=outcomes))
    page = render_run_report(ws.root).read_text()
    # Then every plot is there, the ones without data say so in place, and no link points at missing pages
    for pid in RUN_PLOT_IDS:
        assert f'<figure id="{pid}" class="plot">' in page
    assert "no model registered in this run" in page and "no bars kept in this workspace" in page
    assert 'href="index.html"' not in page
    assert "Net -6 bps after simulated costs; win rate 66.7%" in page


def test_a_promoted_challenger_counts_as_published() -> None:
    # A challenger promoted on forward evidence keeps stage "challenger" on its signed card; the pointer names it
    decisions, cf, trades, outcomes = _run()
    promoted = {"name": "meta_label", "stage": "challenger", "version": 1, "model_id": "sha256:" + "a" * 64}
    live = {"name": "meta_label", "stage": "challenger", "version": 2, "model_id": "sha256:" + "b" * 64}
    s = summarize_run(
        decisions,
        trades,
        [promoted, live],
        decision_outcomes=cf,
        trade_outcomes=outcomes,
        champion_model_id=promoted["model_id"],
    )
    assert (s["models_published"], s["models_challengers"], s["champion_model_id"]) == (1, 2, promoted["model_id"])
