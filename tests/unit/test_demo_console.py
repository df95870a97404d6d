"""What the replay prints at the end: days of data (not the calendar span), sessions dated as the reports date them."""

from __future__ import annotations

import io

import pytest

from huracan.data import find_data_file, load_bars
from huracan.local.demo import DemoSummary, print_summary
from huracan.local.keep import bar_days


def _summary(days: float, span: float, nights: list[dict[str, object]]) -> DemoSummary:
    return DemoSummary(
        data="f.csv", profile="demo", days=days, records_sent=10, bars=11_520, signals=0, decisions=0, passed=0,
        blocked=0, blocked_by_gate={}, gates_seen_passing=set(), gates_seen_blocking=set(), shadow_trades=0,
        closed=0, open_=0, errors=0, by_mode={}, exit_reasons={}, pnl_bps_gross=0.0, pnl_bps_net=0.0,
        good_blocks=0, bad_blocks=0, schedules_fired={}, wall_s=1.0, records_per_s=10.0,
        extra={"span_days": span, "nights": nights, "workspace": "runs/x", "run_report": "runs/x/reports/run.html",
               "run": {"models_published": 1, "models_candidates": 2}},
    )  # fmt: skip


def test_an_eight_day_file_is_eight_days_of_data() -> None:
    # Given the Coinbase sample: 8 separate days spread over two years
    data, span = bar_days(load_bars(find_data_file("coinbase_BTCUSD_1m_8days_2016-2018.csv.gz")))
    assert 8.0 <= data < 9.0 and span == pytest.approx(547.0)
    out = io.StringIO()
    print_summary(_summary(data, span, []), out)
    text = out.getvalue()
    assert f"{data:.1f} days of data (spread over {span:.0f} calendar days)" in text
    assert "547.0 days" not in text


def test_sessions_are_dated_by_the_day_they_ran_and_intervals_hold_their_point() -> None:
    nights = [
        {"day": "2022-01-04", "ran_on": "2022-01-05", "status": "published", "n_samples": 1019,
         "auc": [0.764, 0.684, 0.838], "ece": [0.062, 0.061, 0.129], "summary": "READY"},
        {"day": "2022-01-05", "ran_on": "2022-01-06", "status": "candidate", "n_samples": 200,
         "auc": [0.5, 0.5, 0.5], "ece": None, "summary": "NOT READY"},
    ]  # fmt: skip
    out = io.StringIO()
    print_summary(_summary(6.0, 6.0, nights), out)
    text = out.getvalue()
    assert "    2022-01-05  n= 1,019  AUC 0.764 [0.684, 0.838]" in text
    assert "AUC 0.500 (no spread: every prediction was the same)" in text
    assert "run kept in runs/x" in text and "whole-run report: runs/x/reports/run.html" in text
    assert "spread over" not in text
