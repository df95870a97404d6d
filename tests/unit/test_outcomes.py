"""Outcome columns of a shadow trade: gross/net P&L, WIN/LOSS/BREAKEVEN on net, prediction_correct."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huracan.core.barriers import EXIT_REASONS, REASON_NO_DATA, LabelArrays, Touch
from huracan.core.config import load_config
from huracan.core.outcomes import (
    OUTCOMES,
    actual_outcome,
    outcome_arrays,
    prediction_correct,
    shadow_outcome,
    shadow_pnl_bps,
    shadow_pnl_net_bps,
    simulated_fee_gbp,
)

SEED = load_config("seed").costs


def tp_touch(gross: float) -> Touch:
    return Touch("TP", 100.0 * (1 + gross / 1e4), 1_700_000_480, gross, 480, "")


NO_DATA = Touch("NO_DATA", None, None, None, None, "gap: bars at 1 and 181 are 180s apart, expected 60s")


def test_net_pays_fees_on_both_sides_and_the_spread():
    assert shadow_pnl_net_bps(13.0, fee_bps_per_side=5.0, spread_bps=2.0) == pytest.approx(1.0)
    assert shadow_pnl_net_bps(-35.0, 5.0, 0.0) == pytest.approx(-45.0)


def test_seed_scalp_take_profit_is_only_breakeven_after_costs():
    # The seed's +13 bps TP at 5 bps/side and a 2 bps spread nets 1 bp: inside the 1 bp band.
    out = shadow_outcome(
        tp_touch(13.0),
        fee_bps_per_side=SEED.fee_bps_per_side,
        spread_bps=SEED.default_spread_bps,
        breakeven_band_bps=SEED.breakeven_band_bps,
        predicted_win_prob=0.78,
        threshold=0.45,
    )
    assert out.shadow_pnl_bps == 13.0
    assert out.shadow_pnl_net_bps == pytest.approx(1.0)
    assert out.actual_outcome == "BREAKEVEN"
    assert out.prediction_correct is False  # it predicted a win; breaking even is not one
    assert (out.exit_reason, out.duration_sec) == ("TP", 480)


@pytest.mark.parametrize(
    ("net", "band", "expected"),
    [
        (1.0001, 1.0, "WIN"),
        (1.0, 1.0, "BREAKEVEN"),
        (0.0, 1.0, "BREAKEVEN"),
        (-1.0, 1.0, "BREAKEVEN"),
        (-1.0001, 1.0, "LOSS"),
        (0.0, 0.0, "BREAKEVEN"),
        (1e-9, 0.0, "WIN"),
        (None, 1.0, "NO_DATA"),
        (math.nan, 1.0, "NO_DATA"),
    ],
)
def test_outcome_on_net_with_inclusive_band(net, band, expected):
    assert actual_outcome(net, band) == expected


@pytest.mark.parametrize(
    ("prob", "outcome", "expected"),
    [
        (0.8, "WIN", True),
        (0.8, "LOSS", False),
        (0.8, "BREAKEVEN", False),
        (0.3, "LOSS", True),
        (0.3, "BREAKEVEN", True),
        (0.3, "WIN", False),
        (0.45, "LOSS", True),  # equal to the threshold is not a predicted win (the gate uses >)
        (0.45, "WIN", False),
        (0.8, "NO_DATA", None),
        (None, "WIN", None),
        (math.nan, "WIN", None),
    ],
)
def test_prediction_correct_truth_table(prob, outcome, expected):
    assert prediction_correct(prob, 0.45, outcome) is expected


def test_no_data_has_no_outcome_and_no_verdict():
    out = shadow_outcome(NO_DATA, fee_bps_per_side=5, spread_bps=2, breakeven_band_bps=1, predicted_win_prob=0.9)
    assert shadow_pnl_bps(NO_DATA) is None
    assert (out.shadow_pnl_bps, out.shadow_pnl_net_bps, out.actual_outcome, out.prediction_correct) == (
        None,
        None,
        "NO_DATA",
        None,
    )
    assert out.reason.startswith("gap")


def test_simulated_fee_matches_the_seed():
    assert simulated_fee_gbp(SEED.size_gbp, SEED.fee_bps_per_side) == pytest.approx(0.10)


@pytest.mark.parametrize("bad", [{"fee_bps_per_side": -1.0}, {"spread_bps": math.nan}, {"breakeven_band_bps": -0.1}])
def test_refuses_negative_or_nan_costs(bad):
    kwargs = {"fee_bps_per_side": 5.0, "spread_bps": 2.0, "breakeven_band_bps": 1.0, **bad}
    with pytest.raises(ValueError):
        shadow_outcome(tp_touch(13.0), **kwargs)


# ---------------------------------------------------------------- vectorized twin


def _labels(codes: list[int], gross: list[float]) -> LabelArrays:
    m = len(codes)
    reason = np.array(codes, dtype=np.int8)
    g = np.where(reason == REASON_NO_DATA, np.nan, np.array(gross, dtype=np.float64))
    return LabelArrays(
        reason=reason,
        exit_price=np.where(np.isnan(g), np.nan, 100.0),
        exit_ts=np.where(np.isnan(g), -1, 60).astype(np.int64),
        gross_pnl_bps=g,
        duration_sec=np.where(np.isnan(g), -1, 60).astype(np.int64),
        no_data_kind=np.where(np.isnan(g), 3, 0).astype(np.int8),
        tp_price=np.full(m, 101.0),
        sl_price=np.full(m, 99.0),
    )


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.one_of(st.sampled_from([13.0, 11.0, 9.0, 12.0, -35.0, 0.0]), st.floats(-300, 300)),
            st.floats(0, 20),
            st.one_of(st.none(), st.sampled_from([0.45, 0.5]), st.floats(0, 1)),
        ),
        min_size=1,
        max_size=40,
    ),
    band=st.sampled_from([0.0, 1.0, 2.5]),
)
def test_vectorized_equals_scalar(rows, band):
    codes = [r[0] for r in rows]
    labels = _labels(codes, [r[1] for r in rows])
    spread = np.array([r[2] for r in rows])
    probs = np.array([math.nan if r[3] is None else r[3] for r in rows])
    arr = outcome_arrays(
        labels,
        fee_bps_per_side=5.0,
        spread_bps=spread,
        breakeven_band_bps=band,
        predicted_win_prob=probs,
        threshold=0.45,
    )
    for k, (code, gross, sp, prob) in enumerate(rows):
        touch = labels.touch(k)
        assert touch.exit_reason == EXIT_REASONS[code]
        ref = shadow_outcome(
            touch,
            fee_bps_per_side=5.0,
            spread_bps=sp,
            breakeven_band_bps=band,
            predicted_win_prob=prob,
            threshold=0.45,
        )
        assert OUTCOMES[int(arr.outcome[k])] == ref.actual_outcome
        if ref.shadow_pnl_net_bps is None:
            assert math.isnan(arr.shadow_pnl_net_bps[k]) and math.isnan(arr.shadow_pnl_bps[k])
        else:
            assert arr.shadow_pnl_net_bps[k] == ref.shadow_pnl_net_bps
            assert arr.shadow_pnl_bps[k] == gross
        expected = -1 if ref.prediction_correct is None else int(ref.prediction_correct)
        assert int(arr.prediction_correct[k]) == expected
    assert arr.names() == [OUTCOMES[int(c)] for c in arr.outcome]


def test_vectorized_without_predictions_leaves_verdict_undefined():
    arr = outcome_arrays(_labels([0, 1], [13.0, -35.0]), fee_bps_per_side=5.0, spread_bps=2.0, breakeven_band_bps=1.0)
    assert arr.names() == ["BREAKEVEN", "LOSS"]
    assert arr.prediction_correct.tolist() == [-1, -1]
    with pytest.raises(ValueError):
        outcome_arrays(_labels([0], [1.0]), fee_bps_per_side=-1.0, spread_bps=2.0, breakeven_band_bps=1.0)
    with pytest.raises(ValueError, match="shape"):
        outcome_arrays(_labels([0], [1.0]), fee_bps_per_side=5.0, spread_bps=[1.0, 2.0], breakeven_band_bps=1.0)
