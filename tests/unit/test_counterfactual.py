"""Counterfactual outcomes of blocked signals and honest per-gate good/bad block counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huracan.core.barriers import Barriers, first_touch
from huracan.core.config import load_config
from huracan.core.counterfactual import counterfactual_outcomes, gate_performance
from huracan.core.outcomes import OUTCOMES, shadow_outcome

SIGNALS = [
    (("cost",), "LOSS", -45.0),  # good block, cost alone
    (("cost",), "WIN", 30.0),  # bad block, cost alone
    (("cost", "spread"), "LOSS", -20.0),  # good block shared by two gates
    (("spread",), "BREAKEVEN", 0.5),
    (("regime", "cost", "spread"), "NO_DATA", None),
    ((), "WIN", 25.0),
    ((), "LOSS", -45.0),
    ((), "BREAKEVEN", -1.0),
    ((), "NO_DATA", None),
]


def test_good_and_bad_blocks_with_any_sole_and_share():
    perf = gate_performance(SIGNALS, gates=["cost", "spread", "regime", "volume"])
    cost = perf.gate("cost")
    assert (cost.any.n_blocked, cost.any.good, cost.any.bad, cost.any.breakeven, cost.any.no_data) == (4, 2, 1, 0, 1)
    assert cost.any.precision == pytest.approx(2 / 3)
    assert cost.any.mean_net_pnl_bps == pytest.approx((-45 + 30 - 20) / 3)
    assert (cost.sole.n_blocked, cost.sole.good, cost.sole.bad) == (2, 1, 1)
    assert cost.sole.precision == pytest.approx(0.5)
    assert cost.share.n_blocked == pytest.approx(1 + 1 + 0.5 + 1 / 3)
    assert cost.share.good == pytest.approx(1.5)
    assert cost.share.precision == pytest.approx(1.5 / 2.5)
    assert cost.share.mean_net_pnl_bps == pytest.approx((-45 + 30 - 10) / 2.5)

    spread = perf.gate("spread")
    assert (spread.any.n_blocked, spread.any.good, spread.any.bad, spread.any.breakeven) == (3, 1, 0, 1)
    assert spread.any.precision == 1.0
    assert spread.sole.precision is None  # its only sole block broke even: precision is undefined
    assert spread.sole.breakeven == 1

    regime = perf.gate("regime")
    assert (regime.any.n_blocked, regime.any.no_data, regime.any.precision, regime.any.mean_net_pnl_bps) == (
        1,
        1,
        None,
        None,
    )
    assert regime.sole.n_blocked == 0

    volume = perf.gate("volume")  # listed but never blocked: still reported, with zeros
    assert volume.any.n_blocked == 0 and volume.any.precision is None

    assert [g.gate for g in perf.gates] == ["cost", "regime", "spread", "volume"]
    assert (perf.blocked.n_blocked, perf.blocked.good, perf.blocked.bad) == (5, 2, 1)
    p = perf.passed
    assert (p.n_passed, p.wins, p.losses, p.breakeven, p.no_data) == (4, 1, 1, 1, 1)
    assert p.win_rate == pytest.approx(1 / 3)
    assert p.mean_net_pnl_bps == pytest.approx((25 - 45 - 1) / 3)


def test_a_gate_named_twice_counts_once_and_bad_outcomes_are_refused():
    perf = gate_performance([(("cost", "cost"), "LOSS", -10.0)])
    assert perf.gate("cost").sole.n_blocked == 1 and perf.gate("cost").share.n_blocked == 1.0
    with pytest.raises(ValueError, match="unknown outcome"):
        gate_performance([(("cost",), "MAYBE", 1.0)])
    with pytest.raises(KeyError):
        perf.gate("nope")


def test_nothing_at_all():
    perf = gate_performance([])
    assert perf.gates == () and perf.passed.win_rate is None and perf.blocked.precision is None


GATES = ["meta_label", "cost", "confidence", "regime", "spread", "volume"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(GATES), max_size=4),
            st.sampled_from(OUTCOMES),
            st.floats(-100, 100),
        ),
        max_size=60,
    )
)
def test_attribution_invariants(rows):
    signals = [(tuple(by), o, None if o == "NO_DATA" else pnl) for by, o, pnl in rows]
    perf = gate_performance(signals, gates=GATES)
    blocked = [s for s in signals if s[0]]
    assert perf.blocked.n_blocked == len(blocked)
    assert perf.passed.n_passed == len(signals) - len(blocked)
    # Shares add up to the blocked signals, outcome by outcome; "any" counts at least as much, "sole" at most.
    assert sum(g.share.n_blocked for g in perf.gates) == pytest.approx(len(blocked))
    assert sum(g.share.good for g in perf.gates) == pytest.approx(perf.blocked.good)
    assert sum(g.share.bad for g in perf.gates) == pytest.approx(perf.blocked.bad)
    for g in perf.gates:
        assert g.any.n_blocked >= g.share.n_blocked - 1e-9 >= g.sole.n_blocked - 2e-9
        assert g.any.n_blocked == g.any.good + g.any.bad + g.any.breakeven + g.any.no_data
        for stats in (g.any, g.sole, g.share):
            if stats.good + stats.bad > 0:
                assert stats.precision == pytest.approx(stats.good / (stats.good + stats.bad))
            else:
                assert stats.precision is None
    assert sum(g.sole.n_blocked for g in perf.gates) == sum(1 for s in blocked if len(set(s[0])) == 1)


def test_counterfactual_outcomes_match_the_resolver_on_the_ftx_month(ftx_month):
    """A blocked signal's outcome is what the resolver would have written for it as a shadow trade."""
    costs = load_config("demo").costs
    b = Barriers.from_mode(load_config("demo").mode("scalp"))
    n = len(ftx_month)
    idx = np.r_[np.arange(1, n, 53), n - 3]
    t0 = ftx_month.ts[idx].copy()
    t0[::7] += 30  # some signals off the bar grid: their first bar is not at the entry
    side = np.where(np.arange(len(idx)) % 2 == 0, 1, -1)
    entry = ftx_month.close[idx - 1]
    spread = np.linspace(0.5, 4.0, len(idx))
    got = counterfactual_outcomes(
        ftx_month,
        t0,
        side,
        entry,
        b,
        fee_bps_per_side=costs.fee_bps_per_side,
        spread_bps=spread,
        breakeven_band_bps=costs.breakeven_band_bps,
    )
    names = got.names()
    assert {"WIN", "LOSS", "NO_DATA"} <= set(names)
    for k in range(len(idx)):
        touch = first_touch(
            ftx_month.ts,
            ftx_month.high,
            ftx_month.low,
            ftx_month.close,
            ftx_month.open,
            int(t0[k]),
            float(entry[k]),
            int(side[k]),
            b,
        )
        ref = shadow_outcome(
            touch,
            fee_bps_per_side=costs.fee_bps_per_side,
            spread_bps=float(spread[k]),
            breakeven_band_bps=costs.breakeven_band_bps,
        )
        assert names[k] == ref.actual_outcome
        net = got.shadow_pnl_net_bps[k]
        assert (math.isnan(net) and ref.shadow_pnl_net_bps is None) or net == ref.shadow_pnl_net_bps
