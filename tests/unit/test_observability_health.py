"""System health, shadow-vs-live divergence, market context and the activity feed from known records."""

from __future__ import annotations

from typing import Any

import pytest

from huracan.observability.health import HealthInputs, system_health
from huracan.observability.live_feed import activity_events, feed_lines
from huracan.observability.market_context_logger import context_fields, market_context
from huracan.observability.records import DecisionRow, LiveTrade, ModelExport, ShadowTrade, TrainingSessionRecord
from huracan.observability.shadow_live import divergences, summarise_divergence

DAY = "2024-01-03"
AS_OF = f"{DAY}T23:00:00Z"


def _trade(sid: str, status: str, timeout_at: str, *, signal: str = "", day: str = DAY, **kw: object) -> ShadowTrade:
    return ShadowTrade(sid, f"{day}T10:00:00Z", day, "BTC-USD", "scalp", "long", 100.0, status, signal or sid,
                       timeout_at, **kw)  # type: ignore[arg-type]  # fmt: skip


def _dec(sig: str, passed: bool, shadow: str | None) -> DecisionRow:
    return DecisionRow(sig, DAY, f"{DAY}T10:00:00Z", "BTC-USD", "scalp", "long", passed,
                       () if passed else ("spread_gate",), shadow_id=shadow)  # fmt: skip


def test_integrity_checks_find_every_kind_of_break() -> None:
    closed: dict[str, Any] = {
        "exit_price": 101.0,
        "exit_reason": "TP",
        "shadow_pnl_bps": 100.0,
        "actual_outcome": "WIN",
    }
    shadow = [
        _trade("t1", "CLOSED", f"{DAY}T11:00:00Z", **closed),
        _trade("t2", "OPEN", f"{DAY}T22:56:00Z"),  # 4 min past timeout: inside the 5 min grace
        _trade("t3", "OPEN", f"{DAY}T12:00:00Z"),  # long past its timeout
        _trade("t4", "CLOSED", f"{DAY}T11:00:00Z"),  # closed without outcome columns
        _trade("t5", "CLOSED", f"{DAY}T11:00:00Z", **closed),  # no decision for it
        _trade("old", "OPEN", "2024-01-01T12:00:00Z", day="2024-01-01"),  # from an earlier day
    ]
    decisions = [
        _dec("t1", True, "t1"), _dec("t2", True, "t2"), _dec("t3", True, "t3"), _dec("t4", True, "t4"),
        _dec("x1", True, None),  # passed without a trade
        _dec("b1", False, None),
    ]  # fmt: skip
    h = system_health(decisions, shadow, DAY, AS_OF, HealthInputs(queue_depths={"dlq": 0},
                      invocations={"f": 200}, errors={"f": 3}))  # fmt: skip
    checks = {c.name: c for c in h.checks}
    assert h.open_past_timeout == ("old", "t3")
    assert checks["passed_has_trade"].offenders == ("x1",)
    assert checks["trade_has_passed_decision"].offenders == ("t5",)
    assert checks["past_timeout_closed"].offenders == ("old", "t3")
    assert checks["closed_has_outcome"].offenders == ("t4",)
    # the totals agree (5 passed, 5 trades) although x1 and t5 do not pair up: why per-record checks exist
    assert checks["counts_reconcile"].passed
    assert checks["counts_reconcile"].detail == "signals 6 = passed 5 + blocked 1; shadow trades 5"
    without_t5 = system_health(decisions, [t for t in shadow if t.shadow_id != "t5"], DAY, AS_OF)
    recon = {c.name: c for c in without_t5.checks}["counts_reconcile"]
    assert not recon.passed and recon.detail == "signals 6 = passed 5 + blocked 1; shadow trades 4"
    assert h.function_error_rates == {"f": pytest.approx(0.015)}
    assert h.shadow_error_rate == 0.0
    assert not h.ok


def test_a_clean_day_is_healthy() -> None:
    closed: dict[str, Any] = {
        "exit_price": 101.0,
        "exit_reason": "TP",
        "shadow_pnl_bps": 100.0,
        "actual_outcome": "WIN",
    }
    shadow = [_trade("t1", "CLOSED", f"{DAY}T11:00:00Z", **closed), _trade("t2", "ERROR", f"{DAY}T11:00:00Z")]
    decisions = [_dec("t1", True, "t1"), _dec("t2", True, "t2"), _dec("b", False, None)]
    h = system_health(decisions, shadow, DAY, AS_OF, HealthInputs(queue_depths={"dlq": 0, "timer": None}))
    assert all(c.passed for c in h.checks), h.checks
    assert h.shadow_error_rate == 0.5
    assert h.ok
    assert not system_health(decisions, shadow, DAY, AS_OF, HealthInputs(queue_depths={"dlq": 2})).ok


def test_shadow_vs_live_divergence_signs() -> None:
    shadow = [
        ShadowTrade("s1", "t", DAY, "X", "scalp", "long", 100.0, "CLOSED", exit_price=101.0,
                    shadow_pnl_net_bps=80.0, actual_outcome="WIN"),
        ShadowTrade("s2", "t", DAY, "X", "scalp", "short", 200.0, "CLOSED", exit_price=198.0,
                    shadow_pnl_net_bps=90.0, actual_outcome="WIN"),
    ]  # fmt: skip
    live = [
        LiveTrade("a", side="long", entry_price=100.1, exit_price=100.9, pnl_bps=60.0, engine_shadow_id="s1", outcome="WIN"),
        LiveTrade("b", side="short", entry_price=199.8, exit_price=198.2, pnl_bps=95.0, engine_shadow_id="s2", outcome="LOSS"),
        LiveTrade("c", engine_shadow_id="missing"),
        LiveTrade("d"),
    ]  # fmt: skip
    rows, unmatched = divergences(live, shadow)
    assert unmatched == 1
    a, b = rows
    assert a.entry_bps == pytest.approx(10.0)  # long paid 0.1 more on 100
    assert a.exit_bps == pytest.approx(0.1 / 101 * 1e4)  # long sold 0.1 lower
    assert a.pnl_bps == pytest.approx(20.0)
    assert a.same_outcome is True
    assert b.entry_bps == pytest.approx(10.0)  # short sold 0.2 lower on 200
    assert b.exit_bps == pytest.approx(0.2 / 198 * 1e4)  # short bought back 0.2 higher: worse
    assert b.pnl_bps == pytest.approx(-5.0)
    assert b.same_outcome is False
    s = summarise_divergence(rows, unmatched)
    assert (s.linked, s.unmatched) == (2, 1)
    n, mean, median, largest = s.stats["pnl_bps"]
    assert (n, mean, median, largest) == pytest.approx((2, 7.5, 7.5, 20.0))


def test_market_context_by_regime_and_symbol() -> None:
    def t(
        sid: str, regime: str, outcome: str | None, net: float | None, spread: float, sym: str = "BTC"
    ) -> ShadowTrade:
        return ShadowTrade(sid, "t", DAY, sym, "scalp", "long", 1.0, "CLOSED" if outcome else "OPEN",
                           shadow_pnl_net_bps=net, actual_outcome=outcome, regime=regime,
                           features={"spread_bps": spread, "ret_1_bps": 9.0})  # fmt: skip

    ctx = market_context(
        [t("1", "trend", "WIN", 10, 2), t("2", "trend", "LOSS", -6, 4), t("3", "chop", None, None, 9, "ETH")]
    )
    chop, trend = ctx["regime"]
    assert (trend.key, trend.trades, trend.resolved, trend.wins, trend.net_bps) == ("trend", 2, 2, 1, 4.0)
    assert trend.win_rate == 0.5 and trend.feature_means == {"spread_bps": 3.0}
    assert (chop.key, chop.resolved, chop.win_rate) == ("chop", 0, None)
    assert [g.key for g in ctx["symbol"]] == ["BTC", "ETH"]
    fields = context_fields(t("1", "trend", "WIN", 10, 2), {"x": 1})
    assert fields["regime"] == "trend" and fields["spread_bps"] == 2 and "ret_1_bps" not in fields and fields["x"] == 1


def test_activity_feed_is_time_ordered() -> None:
    ev = activity_events(
        [_dec("sig1", False, None)],
        [ShadowTrade("s1", f"{DAY}T09:00:00Z", DAY, "X", "scalp", "long", 5.0, "CLOSED", exit_ts=f"{DAY}T09:30:00Z",
                     exit_reason="TP", actual_outcome="WIN", shadow_pnl_net_bps=7.0)],
        [TrainingSessionRecord(DAY, 10, 0.6, None, None, "ready", created_at=f"{DAY}T00:10:00Z")],
        [ModelExport("sha256:" + "f" * 64, f"{DAY}T00:20:00Z", 3)],
    )  # fmt: skip
    assert [e.kind for e in ev] == ["train", "publish", "open", "close", "signal"]
    assert "blocked by spread_gate" in ev[-1].text and "+7.0 bps net" in ev[3].text
    assert len(feed_lines(ev, limit=2)) == 2
