"""The cost model: the seed's £100 / £0.10 arithmetic, slippage direction, and the unknown-spread default."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from huracan.core.config import CostConfig, load_config
from huracan.core.costs import CostModel

SEED = CostModel(load_config("seed").costs)


def test_seed_amounts() -> None:
    # the seed: "Size: £100 (simulated)", "Fee: £0.10 (simulated)" at 5 bps a side
    assert SEED.simulated_size_gbp == 100.0
    assert SEED.simulated_fee_gbp == pytest.approx(0.10)
    assert SEED.fee_bps_per_side == 5.0
    # "Shadow P&L: +£0.13 (13 bps)"
    assert SEED.pnl_gbp(13.0) == pytest.approx(0.13)


def test_round_trip_is_two_fees_plus_the_spread() -> None:
    assert SEED.round_trip_cost_bps(4.2) == pytest.approx(14.2)
    assert SEED.slippage_bps(4.2) == pytest.approx(2.1)
    assert SEED.net_pnl_bps(13.0, 2.0) == pytest.approx(1.0)
    np.testing.assert_allclose(SEED.round_trip_cost_bps(np.array([0.0, 3.0, np.nan])), [10.0, 13.0, 12.0])


def test_unknown_or_negative_spread() -> None:
    assert SEED.effective_spread_bps(float("nan")) == 2.0  # default_spread_bps of the seed profile
    assert SEED.effective_spread_bps(-1.0) == 0.0
    np.testing.assert_array_equal(SEED.effective_spread_bps(np.array([np.nan, -1.0, 3.0])), [2.0, 0.0, 3.0])


def test_fills_move_against_the_taker() -> None:
    assert SEED.entry_fill_price(2045.50, "long", 4.0) == pytest.approx(2045.50 * 1.0002)
    assert SEED.entry_fill_price(2045.50, "short", 4.0) == pytest.approx(2045.50 * 0.9998)
    assert SEED.exit_fill_price(2045.50, "long", 4.0) < 2045.50 < SEED.exit_fill_price(2045.50, "short", 4.0)
    with pytest.raises(ValueError, match="side"):
        SEED.entry_fill_price(100.0, "buy", 1.0)


@given(
    price=st.floats(min_value=1e-3, max_value=1e6),
    spread=st.floats(min_value=0.0, max_value=500.0),
    side=st.sampled_from(["long", "short"]),
)
def test_round_trip_at_an_unchanged_mid_loses_the_spread(price: float, spread: float, side: str) -> None:
    entry = SEED.entry_fill_price(price, side, spread)
    exit_ = SEED.exit_fill_price(price, side, spread)
    sign = 1.0 if side == "long" else -1.0
    realised_bps = sign * (exit_ - entry) / price * 1e4
    assert realised_bps == pytest.approx(-spread, abs=1e-6)
    assert SEED.net_pnl_bps(0.0, spread) == pytest.approx(-spread - 10.0)


@given(net=st.floats(min_value=-1000, max_value=1000))
def test_outcome_band(net: float) -> None:
    outcome = SEED.outcome(net)
    if abs(net) <= 1.0:
        assert outcome == "BREAKEVEN"
    else:
        assert outcome == ("WIN" if net > 0 else "LOSS")


def test_outcome_rejects_nan_and_other_settings_apply() -> None:
    with pytest.raises(ValueError):
        SEED.outcome(math.nan)
    cheap = CostModel(CostConfig(size_gbp=250.0, fee_bps_per_side=1.0, breakeven_band_bps=0.0, default_spread_bps=5.0))
    assert cheap.simulated_fee_gbp == pytest.approx(0.05)
    assert cheap.round_trip_cost_bps(math.nan) == pytest.approx(7.0)
    assert cheap.outcome(0.5) == "WIN"
