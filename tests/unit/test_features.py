"""One feature definition, three routes (history / stacked windows / latest) that must agree on real data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huracan.core.bars import BarArrays
from huracan.core.features import (
    BAR_FEATURES,
    FEATURE_INDEX,
    MODEL_FEATURES,
    VOLUME_RATIO_CAP,
    WINDOW,
    BarWindows,
    features_history,
    features_latest,
    features_windows,
    model_matrix,
    model_vector,
)
from huracan.data import find_data_file, load_bars

K = len(BAR_FEATURES)


@pytest.fixture(scope="module")
def month_history(ftx_month: BarArrays) -> np.ndarray:
    return features_history(ftx_month)


@pytest.fixture(scope="module")
def bybit() -> BarArrays:
    return load_bars(
        find_data_file("bybit_BTCUSDT_1m_20221213.csv.gz"),
        quotes=find_data_file("bybit_BTCUSDT_1m_bidask_20221213.csv.gz"),
    )


def _reference_row(bars: BarArrays, i: int) -> dict[str, float]:
    """An independent, loop-by-loop reading of the module docstring's definitions (plain math)."""
    c, h, lo, v = bars.close, bars.high, bars.low, bars.volume
    r = [math.log(c[j] / c[j - 1]) for j in range(i - 59, i + 1)]
    out: dict[str, float] = {}
    for hz in (1, 5, 15, 60):
        out[f"ret_{hz}_bps"] = math.log(c[i] / c[i - hz]) * 1e4
    for w in (15, 60):
        x = r[-w:]
        mean = sum(x) / w
        out[f"rv_{w}_bps"] = math.sqrt(sum((y - mean) ** 2 for y in x) / (w - 1)) * 1e4
    trs = [max(h[j], c[j - 1]) - min(lo[j], c[j - 1]) for j in range(i - 13, i + 1)]
    out["atr_14_bps"] = sum(trs) / 14 / c[i] * 1e4
    prior = sum(v[i - 60 : i]) / 60
    out["volume_ratio_60"] = min(v[i] / prior, VOLUME_RATIO_CAP) if prior > 0 else (0.0 if v[i] == 0 else 1e3)
    if np.isfinite(bars.bid[i]):
        mid = (bars.bid[i] + bars.ask[i]) / 2
        out["spread_bps"] = max((bars.ask[i] - bars.bid[i]) / mid * 1e4, 0.0)
        out["spread_estimated"] = 0.0
    else:
        acc = 0.0
        for t in range(i - 60, i):
            eta_t = (math.log(h[t]) + math.log(lo[t])) / 2
            eta_n = (math.log(h[t + 1]) + math.log(lo[t + 1])) / 2
            lc = math.log(c[t])
            acc += (lc - eta_t) * (lc - eta_n)
        out["spread_bps"] = math.sqrt(max(4 * acc / 60, 0.0)) * 1e4
        out["spread_estimated"] = 1.0
    moves = sum(abs(x) for x in r[-15:])
    out["trend_eff_15"] = abs(math.log(c[i] / c[i - 15])) / moves if moves > 0 else 0.0
    minute = ((int(bars.ts[i]) + 60) // 60) % 1440
    out["tod_sin"] = math.sin(2 * math.pi * minute / 1440)
    out["tod_cos"] = math.cos(2 * math.pi * minute / 1440)
    return out


def test_window_constant_covers_longest_lookback(month_history: np.ndarray) -> None:
    # Given a history, the first complete row is WINDOW-1 and everything before it is NaN
    assert np.isnan(month_history[: WINDOW - 1]).all()
    assert np.isfinite(month_history[WINDOW - 1 :]).all()
    assert month_history.shape[1] == K


def test_history_equals_windows_across_the_month(ftx_month: BarArrays, month_history: np.ndarray) -> None:
    ends = np.arange(WINDOW - 1, len(ftx_month), 5)
    stacked = features_windows(BarWindows.from_history(ftx_month, ends))
    assert stacked.shape == (len(ends), K)
    np.testing.assert_allclose(stacked, month_history[ends], rtol=1e-9, atol=1e-9)


def test_history_equals_latest_across_the_month(ftx_month: BarArrays, month_history: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    ends = np.sort(rng.choice(np.arange(WINDOW - 1, len(ftx_month)), size=300, replace=False))
    ends[0], ends[-1] = WINDOW - 1, len(ftx_month) - 1
    for i in ends:
        # serving sees only a short tail of history, never the whole month
        tail = ftx_month.slice(max(0, i - WINDOW - 10), i + 1)
        np.testing.assert_allclose(features_latest(tail), month_history[i], rtol=1e-9, atol=1e-9)


def test_matches_an_independent_reference(ftx_month: BarArrays, month_history: np.ndarray) -> None:
    for i in (WINDOW - 1, 1234, 20_000, len(ftx_month) - 1):
        ref = _reference_row(ftx_month, i)
        for name, value in ref.items():
            assert month_history[i, FEATURE_INDEX[name]] == pytest.approx(value, rel=1e-9, abs=1e-9), (i, name)


def test_quotes_and_estimator_agree_on_bybit(bybit: BarArrays) -> None:
    hist = features_history(bybit)
    ends = np.arange(WINDOW - 1, len(bybit))
    stacked = features_windows(BarWindows.from_history(bybit, ends))
    np.testing.assert_allclose(stacked, hist[ends], rtol=1e-9, atol=1e-9)
    for i in ends[::17]:
        np.testing.assert_allclose(features_latest(bybit.slice(i - WINDOW + 1, i + 1)), hist[i], rtol=1e-9, atol=1e-9)
    flag = hist[ends, FEATURE_INDEX["spread_estimated"]]
    has_quote = np.isfinite(bybit.bid[ends])
    # quoted where the bar has quotes, estimated elsewhere: both routes used on this file
    assert np.array_equal(flag == 0.0, has_quote)
    assert 0.3 < has_quote.mean() < 0.7
    for i in ends[has_quote][:50]:
        mid = (bybit.bid[i] + bybit.ask[i]) / 2
        assert hist[i, FEATURE_INDEX["spread_bps"]] == pytest.approx((bybit.ask[i] - bybit.bid[i]) / mid * 1e4)
    for i in (ends[~has_quote][0], ends[has_quote][3]):
        ref = _reference_row(bybit, int(i))
        assert hist[i, FEATURE_INDEX["spread_bps"]] == pytest.approx(ref["spread_bps"], rel=1e-9, abs=1e-9)
    assert (hist[ends, FEATURE_INDEX["spread_bps"]] >= 0).all()


def _perturb_after(bars: BarArrays, i: int, seed: int) -> BarArrays:
    rng = np.random.default_rng(seed)
    n = len(bars)
    scale = np.ones(n)
    scale[i + 1 :] = rng.uniform(0.5, 2.0, n - i - 1)
    wider = np.where(np.arange(n) > i, 0.01, 0.0)  # widen the range of later bars only
    vol = bars.volume.copy()
    vol[i + 1 :] = rng.uniform(0, 1e9, n - i - 1)
    bid = bars.bid.copy()
    bid[i + 1 :] = bars.close[i + 1 :] * scale[i + 1 :] * 0.999
    return BarArrays.from_columns(
        bars.ts,
        bars.open * scale,
        bars.high * scale * (1 + wider),
        bars.low * scale * (1 - wider),
        bars.close * scale,
        vol,
        bid,
        bid * 1.002,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(i=st.integers(min_value=0, max_value=498), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_no_look_ahead(ftx_month: BarArrays, i: int, seed: int) -> None:
    # Given 500 real bars, when everything after bar i changes, then row i (and before) does not
    bars = ftx_month.slice(10_000, 10_500)
    before = features_history(bars)
    after = features_history(_perturb_after(bars, i, seed))
    np.testing.assert_array_equal(after[: i + 1], before[: i + 1])
    if i + 1 >= WINDOW:
        assert not np.array_equal(after[i + 1 :], before[i + 1 :])


def test_short_history_gives_nan_rows(ftx_month: BarArrays) -> None:
    assert np.isnan(features_latest(ftx_month.slice(0, WINDOW - 1))).all()
    assert np.isnan(features_latest(ftx_month.slice(0, 0))).all()
    assert np.isfinite(features_latest(ftx_month.slice(0, WINDOW))).all()
    assert np.isnan(features_history(ftx_month.slice(0, 30))).all()
    mixed = features_windows(BarWindows.from_bars([ftx_month.slice(0, 10), ftx_month.slice(0, 200)]))
    assert np.isnan(mixed[0]).all() and np.isfinite(mixed[1]).all()
    with pytest.raises(ValueError, match="window ends"):
        BarWindows.from_history(ftx_month, [WINDOW - 2])


def test_zero_volume_bars_stay_finite() -> None:
    bars = load_bars(find_data_file("bitstamp_BTCUSD_1m_20200101.csv.gz"))
    assert (bars.volume == 0).any()
    ratio = features_history(bars)[WINDOW - 1 :, FEATURE_INDEX["volume_ratio_60"]]
    assert np.isfinite(ratio).all() and (ratio >= 0).all() and (ratio <= VOLUME_RATIO_CAP).all()
    zero = bars.volume[WINDOW - 1 :] == 0
    assert (ratio[zero] == 0).all()


def test_straight_line_is_fully_efficient_and_midnight_is_cos_one() -> None:
    n = WINDOW + 5
    ts = 1_640_995_200 - 60 * n + 60 * np.arange(1, n + 1) - 60  # last bar opens 23:59, signal at 00:00
    close = 100.0 * np.exp(np.arange(n) * 1e-3)
    bars = BarArrays.from_columns(ts, close, close * 1.0005, close * 0.9995, close, np.ones(n))
    row = features_latest(bars)
    assert row[FEATURE_INDEX["trend_eff_15"]] == pytest.approx(1.0)
    assert row[FEATURE_INDEX["ret_15_bps"]] == pytest.approx(150.0)
    assert row[FEATURE_INDEX["rv_15_bps"]] == pytest.approx(0.0, abs=1e-9)
    assert row[FEATURE_INDEX["volume_ratio_60"]] == pytest.approx(1.0)
    assert row[FEATURE_INDEX["tod_cos"]] == pytest.approx(1.0)
    assert row[FEATURE_INDEX["tod_sin"]] == pytest.approx(0.0, abs=1e-12)


def test_model_vector_and_matrix_agree(month_history: np.ndarray) -> None:
    rows = month_history[[100, 5000, 40_000]]
    vecs = np.array(
        [
            model_vector(rows[0], "long", 0.7, "scalp"),
            model_vector(rows[1], "short", 0.6, "runner"),
            model_vector(rows[2], "short", 0.9, "scalp"),
        ]
    )
    mat = model_matrix(rows, [1, -1, -1], [0.7, 0.6, 0.9], [False, True, False])
    assert mat.shape == (3, len(MODEL_FEATURES))
    np.testing.assert_array_equal(vecs, mat)
    i = FEATURE_INDEX
    assert mat[1, i["side_ret_15_bps"]] == -rows[1, i["ret_15_bps"]]
    assert list(mat[:, i["is_runner"]]) == [0.0, 1.0, 0.0]
    assert MODEL_FEATURES[:K] == BAR_FEATURES


@pytest.mark.parametrize(("side", "mode", "match"), [("buy", "scalp", "side"), ("long", "swing", "mode")])
def test_model_vector_rejects_broken_input(month_history: np.ndarray, side: str, mode: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        model_vector(month_history[100], side, 0.5, mode)
    with pytest.raises(ValueError, match="side_sign"):
        model_matrix(month_history[100:102], [1, 0], [0.5, 0.5], [0, 0])
