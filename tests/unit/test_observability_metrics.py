"""Shadow and gate figures computed from hand-written records with known answers."""

from __future__ import annotations

import math

import pytest

from huracan.observability.metrics_computer import (
    calibration_bins,
    equity_curve,
    expected_calibration_error,
    gate_counts,
    gate_funnel,
    gate_outcomes,
    pass_rate_trend,
    shadow_metric_values,
    shadow_metrics,
    threshold_recommendations,
)
from huracan.observability.records import DecisionRow, GateValue, ShadowTrade

DAY = "2024-01-03"


def _closed(sid: str, mode: str, outcome: str, net: float, gross: float, exit_hour: int, prob: float) -> ShadowTrade:
    return ShadowTrade(
        shadow_id=sid, ts=f"{DAY}T00:00:00Z", day=DAY, symbol="BTC-USD", mode=mode, side="long", entry_price=100.0,
        status="CLOSED", exit_price=101.0, exit_reason="TP", exit_ts=f"{DAY}T{exit_hour:02d}:00:00Z",
        shadow_pnl_bps=gross, shadow_pnl_net_bps=net, actual_outcome=outcome, predicted_win_prob=prob,
    )  # fmt: skip


@pytest.fixture
def day_trades() -> list[ShadowTrade]:
    other = ShadowTrade("s8", "2024-01-02T10:00:00Z", "2024-01-02", "BTC-USD", "scalp", "long", 100.0, "CLOSED",
                        shadow_pnl_net_bps=99.0, shadow_pnl_bps=99.0, actual_outcome="WIN")  # fmt: skip
    return [
        _closed("s1", "scalp", "WIN", 10.0, 16.0, 1, 0.8),
        _closed("s2", "scalp", "LOSS", -12.0, -6.0, 2, 0.7),
        _closed("s3", "scalp", "WIN", 9.0, 15.0, 3, 0.75),
        _closed("s4", "runner", "BREAKEVEN", 0.5, 6.5, 4, 0.55),
        _closed("s5", "runner", "WIN", 50.0, 56.0, 5, 0.9),
        ShadowTrade("s6", f"{DAY}T20:00:00Z", DAY, "BTC-USD", "scalp", "long", 100.0, "OPEN"),
        ShadowTrade("s7", f"{DAY}T21:00:00Z", DAY, "BTC-USD", "runner", "long", 100.0, "ERROR"),
        other,
    ]


def test_shadow_metrics_count_rate_and_pnl(day_trades: list[ShadowTrade]) -> None:
    # Given seven trades opened on the day (5 closed, 1 open, 1 error) and one from the day before
    m = shadow_metrics(day_trades, DAY)
    # Then only the day's trades count; win rate per mode excludes open / error trades
    assert (m.trades, m.open, m.closed, m.errors) == (7, 1, 5, 1)
    assert (m.win_rate["scalp"].wins, m.win_rate["scalp"].n) == (2, 3)
    assert m.win_rate["scalp"].rate == pytest.approx(2 / 3, abs=1e-12)
    assert (m.win_rate["runner"].wins, m.win_rate["runner"].breakeven, m.win_rate["runner"].rate) == (1, 1, 0.5)
    assert m.pnl_net_bps == pytest.approx(57.5, abs=1e-12)
    assert m.pnl_gross_bps == pytest.approx(87.5, abs=1e-12)
    assert m.pnl_n == 5


def test_shadow_metric_values_against_the_seed_bands(day_trades: list[ShadowTrade]) -> None:
    values = {(v.name, v.key): v for v in shadow_metric_values(shadow_metrics(day_trades, DAY))}
    assert values[("shadow_trades_daily", "")].value == 7
    assert values[("shadow_trades_daily", "")].status == "below target"  # seed min 20
    assert values[("shadow_win_rate", "scalp")].status == "below target"  # 0.667 < 0.70
    assert values[("shadow_win_rate", "runner")].band.min == 0.87
    assert values[("shadow_pnl_daily", "")].value == pytest.approx(57.5)
    assert values[("shadow_pnl_daily", "")].status == "in band"  # 50 <= 57.5 <= 200


def test_equity_curve_is_cumulative_net_in_exit_order(day_trades: list[ShadowTrade]) -> None:
    curve = equity_curve([t for t in day_trades if t.day == DAY])
    assert [t[11:13] for t, _ in curve] == ["01", "02", "03", "04", "05"]
    assert [v for _, v in curve] == pytest.approx([10.0, -2.0, 7.0, 7.5, 57.5])


def test_calibration_bins_and_ece(day_trades: list[ShadowTrade]) -> None:
    bins = calibration_bins(day_trades)
    # probs .55(BE) .7(L) .75(W) .8(W) .9(W) and s8 (no prob) left out
    assert [(b.lo, b.n) for b in bins] == [(0.5, 1), (0.7, 2), (0.8, 1), (0.9, 1)]
    assert [b.observed for b in bins] == [0.0, 0.5, 1.0, 1.0]
    assert bins[1].mean_predicted == pytest.approx(0.725)
    assert expected_calibration_error(bins) == pytest.approx((0.55 + 2 * 0.225 + 0.2 + 0.1) / 5)
    assert expected_calibration_error([]) is None


def _gates(meta: float, regime: str, spread: float) -> dict[str, GateValue]:
    return {
        "meta_label_gate": GateValue(meta > 0.6, meta, 0.6),
        "regime_gate": GateValue(regime in ("trend", "range"), regime, "trend,range"),
        "spread_gate": GateValue(spread < 5.0, spread, 5.0),
    }


def _dec(sig: str, meta: float, regime: str, spread: float, *, shadow: str | None = None,
         cf: tuple[str, float] | None = None, day: str = DAY) -> DecisionRow:  # fmt: skip
    gates = _gates(meta, regime, spread)
    blocked = tuple(g for g, v in gates.items() if not v.passed)
    return DecisionRow(
        sig, day, f"{day}T01:00:00Z", "BTC-USD", "scalp", "long", not blocked, blocked, gates, meta, regime,
        None, shadow, cf[0] if cf else None, cf[1] if cf else None,
    )  # fmt: skip


@pytest.fixture
def gate_day() -> tuple[list[DecisionRow], list[ShadowTrade]]:
    decisions = [
        _dec("d1", 0.8, "trend", 2.0, shadow="s1"),
        _dec("d2", 0.7, "trend", 3.0, shadow="s2"),
        _dec("d3", 0.5, "trend", 1.0, cf=("LOSS", -8.0)),
        _dec("d4", 0.55, "trend", 2.0, cf=("WIN", 11.0)),
        _dec("d5", 0.9, "trend", 7.0, cf=("WIN", 14.0)),
        _dec("d6", 0.4, "trend", 9.0, cf=("LOSS", -10.0)),
        _dec("d7", 0.85, "chop", 1.0, cf=("LOSS", -9.0)),
        _dec("d8", 0.65, "trend", 4.0, shadow="s3"),
        _dec("d0", 0.9, "trend", 1.0, day="2024-01-02"),
    ]
    shadow = [
        _closed("s1", "scalp", "WIN", 10.0, 16.0, 1, 0.8),
        _closed("s2", "scalp", "LOSS", -12.0, -6.0, 2, 0.7),
        _closed("s3", "scalp", "WIN", 9.0, 15.0, 3, 0.65),
    ]
    return decisions, shadow


def test_gate_counts_funnel_and_trend(gate_day: tuple[list[DecisionRow], list[ShadowTrade]]) -> None:
    decisions, _ = gate_day
    today = [d for d in decisions if d.day == DAY]
    counts = {c.gate: (c.received, c.passed, c.blocked) for c in gate_counts(today)}
    assert counts == {"meta_label_gate": (8, 5, 3), "regime_gate": (8, 7, 1), "spread_gate": (8, 6, 2)}
    assert gate_funnel(today) == [("signals", 8), ("meta_label_gate", 5), ("regime_gate", 4), ("spread_gate", 3)]
    trend = pass_rate_trend(decisions)
    assert list(trend) == ["2024-01-02", DAY]
    assert trend["2024-01-02"]["all"] == 1.0
    assert trend[DAY] == {"all": 3 / 8, "meta_label_gate": 5 / 8, "regime_gate": 7 / 8, "spread_gate": 6 / 8}


def test_good_and_bad_blocks_and_precision(gate_day: tuple[list[DecisionRow], list[ShadowTrade]]) -> None:
    decisions, shadow = gate_day
    perf = gate_outcomes([d for d in decisions if d.day == DAY], shadow)
    meta, spread, regime = perf.gate("meta_label_gate"), perf.gate("spread_gate"), perf.gate("regime_gate")
    assert (meta.any.good, meta.any.bad, meta.any.n_blocked) == (2, 1, 3)
    assert meta.any.precision == pytest.approx(2 / 3)
    assert (spread.any.good, spread.any.bad, spread.any.precision) == (1, 1, 0.5)
    assert (regime.any.good, regime.any.bad, regime.any.precision) == (1, 0, 1.0)
    assert (meta.sole.n_blocked, spread.sole.n_blocked) == (2, 1)
    # passed signals take the outcome of their shadow trade
    assert (perf.passed.n_passed, perf.passed.wins, perf.passed.losses) == (3, 2, 1)


def test_threshold_recommendation_maximises_net_expectancy(
    gate_day: tuple[list[DecisionRow], list[ShadowTrade]],
) -> None:
    decisions, shadow = gate_day
    recs = {r.gate: r for r in threshold_recommendations([d for d in decisions if d.day == DAY], shadow)}
    meta = recs["meta_label_gate"]
    # eligible (no other gate blocked): d1 .8 +10, d2 .7 -12, d3 .5 -8, d4 .55 +11, d8 .65 +9
    assert (meta.kind, meta.current, meta.eligible_n) == ("threshold", 0.6, 5)
    assert (meta.current_net_bps, meta.current_n) == pytest.approx((7.0, 3))
    assert meta.recommended == 0.5  # passes d1 d2 d4 d8: +18
    assert (meta.recommended_net_bps, meta.recommended_n) == pytest.approx((18.0, 4))
    assert meta.change
    spread = recs["spread_gate"]
    # eligible: d1 2 +10, d2 3 -12, d5 7 +14, d8 4 +9 -> passing everything (+21) beats max 5 (+7)
    assert spread.recommended == math.nextafter(7.0, math.inf)
    assert (spread.recommended_net_bps, spread.recommended_n) == pytest.approx((21.0, 4))
    assert (spread.current_net_bps, spread.current_n) == pytest.approx((7.0, 3))
    regime = recs["regime_gate"]
    # trend: +10 -12 +9 = +7 kept; chop: -9 stays out -> no change
    assert regime.recommended_allowed == ("trend",)
    assert (regime.recommended_net_bps, regime.current_net_bps) == pytest.approx((7.0, 7.0))
    assert not regime.change


def test_flat_objective_keeps_the_current_threshold() -> None:
    # Given every eligible signal above the threshold ends flat at 0 bps, no threshold is better
    decisions = [_dec(f"d{i}", 0.7 + i / 100, "trend", 1.0, cf=("WIN", 0.0)) for i in range(3)]
    (rec,) = [r for r in threshold_recommendations(decisions, []) if r.gate == "meta_label_gate"]
    assert rec.recommended == 0.6
    assert not rec.change


def test_cost_gate_with_per_signal_hurdles_is_scanned_as_an_offset() -> None:
    def dec(sig: str, value: float, hurdle: float, net: float) -> DecisionRow:
        g = {"cost_gate": GateValue(value > hurdle, value, hurdle)}
        blocked = () if value > hurdle else ("cost_gate",)
        return DecisionRow(sig, DAY, f"{DAY}T01:00:00Z", "X", "scalp", "long", not blocked, blocked, g,
                           cf_outcome="WIN" if net > 0 else "LOSS", cf_pnl_net_bps=net)  # fmt: skip

    # margins: +4 (-5 bps), +1 (+3), -1 (+6), -3 (-20)
    decisions = [dec("a", 10, 6, -5.0), dec("b", 8, 7, 3.0), dec("c", 6, 7, 6.0), dec("d", 3, 6, -20.0)]
    (rec,) = threshold_recommendations(decisions, [])
    assert (rec.kind, rec.current) == ("offset", 0.0)
    # candidates (pass margin > t): -3 -> a,b,c = +4; -1 -> a,b = -2; 0 (now) -> a,b = -2; 1 -> a = -5; 4 -> 0
    assert rec.recommended == -3.0
    assert (rec.recommended_net_bps, rec.recommended_n) == pytest.approx((4.0, 3))
    assert (rec.current_net_bps, rec.current_n) == pytest.approx((-2.0, 2))
