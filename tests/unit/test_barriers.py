"""Triple-barrier rules, and the vectorized labeler agreeing with the one-trade resolver everywhere."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huracan.core import barriers as barriers_mod
from huracan.core.barriers import (
    EXIT_REASONS,
    NO_DATA_KINDS,
    Barriers,
    LabelArrays,
    Touch,
    barrier_prices,
    first_touch,
    label_events,
    side_sign,
)
from huracan.core.bars import BarArrays
from huracan.core.config import load_config

T0 = 1_700_000_000  # a whole minute
B = Barriers(tp_bps=100.0, sl_bps=50.0, timeout_sec=300)  # 5 one-minute bars
ENTRY = 100.0
TP_L, SL_L = barrier_prices(ENTRY, 1, B)
TP_S, SL_S = barrier_prices(ENTRY, -1, B)


def make_bars(rows: list[tuple[float, float, float, float]], ts: list[int] | None = None) -> BarArrays:
    """Bars from (open, high, low, close) rows, one minute apart from T0 unless ``ts`` is given."""
    ts = ts if ts is not None else [T0 + 60 * i for i in range(len(rows))]
    a = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return BarArrays.from_columns(ts, a[:, 0], a[:, 1], a[:, 2], a[:, 3], np.ones(len(rows)))


def flat(n: int, price: float = ENTRY) -> list[tuple[float, float, float, float]]:
    return [(price, price + 0.1, price - 0.1, price)] * n


def resolve(
    bars: BarArrays, side: int | str = 1, entry_ts: int = T0, barriers: Barriers = B, entry: float = ENTRY
) -> Touch:
    """first_touch, after checking that label_events gives the very same result for this event."""
    touch = first_touch(bars.ts, bars.high, bars.low, bars.close, bars.open, entry_ts, entry, side, barriers)
    idx = int(np.searchsorted(bars.ts, entry_ts))
    labels = label_events(
        bars,
        np.array([idx]),
        np.array([side_sign(side)]),
        np.array([entry]),
        barriers.tp_bps,
        barriers.sl_bps,
        barriers.timeout_sec,
        entry_ts=np.array([entry_ts]),
    )
    assert_same(touch, labels.touch(0))
    return touch


def assert_same(ref: Touch, vec: Touch) -> None:
    assert vec.exit_reason == ref.exit_reason
    assert vec.exit_price == ref.exit_price  # exact: the same arithmetic, bit for bit
    assert vec.exit_ts == ref.exit_ts
    assert vec.gross_pnl_bps == ref.gross_pnl_bps
    assert vec.duration_sec == ref.duration_sec
    if ref.exit_reason == "NO_DATA":
        assert ref.reason.startswith(vec.reason + ":")


# ---------------------------------------------------------------- barrier prices and settings


def test_barrier_prices_long_above_short_below():
    long, short = barrier_prices(ENTRY, 1, B), barrier_prices(ENTRY, -1, B)
    assert long == pytest.approx((101.0, 99.5))
    assert short == pytest.approx((99.0, 100.5))
    assert barrier_prices(ENTRY, "long", B) == (TP_L, SL_L)
    assert barrier_prices(ENTRY, "short", B) == (TP_S, SL_S)
    with pytest.raises(ValueError, match="side"):
        barrier_prices(ENTRY, 0, B)


@pytest.mark.parametrize("profile", ["seed", "demo"])
@pytest.mark.parametrize("mode", ["scalp", "runner"])
def test_barriers_from_mode_config(profile, mode):
    cfg = load_config(profile).mode(mode)
    b = Barriers.from_mode(cfg)
    assert (b.tp_bps, b.sl_bps, b.timeout_sec) == (cfg.tp_bps, cfg.sl_bps, cfg.timeout_sec)


@pytest.mark.parametrize("kwargs", [{"tp_bps": 0.0}, {"sl_bps": -1.0}, {"sl_bps": 10_000.0}, {"timeout_sec": 0}])
def test_barriers_refuse_nonsense(kwargs):
    with pytest.raises(ValueError):
        Barriers(**{"tp_bps": 10.0, "sl_bps": 10.0, "timeout_sec": 60, **kwargs})


def test_timeout_must_be_whole_bars():
    bars = make_bars(flat(10))
    with pytest.raises(ValueError, match="whole number of bars"):
        first_touch(bars.ts, bars.high, bars.low, bars.close, bars.open, T0, ENTRY, 1, Barriers(10, 10, 90))
    with pytest.raises(ValueError, match="whole number of bars"):
        label_events(bars, np.array([0]), np.array([1]), np.array([ENTRY]), 10, 10, 90)


# ---------------------------------------------------------------- the rules, one at a time


def test_long_take_profit_exits_at_barrier_at_bar_end():
    rows = flat(5)
    rows[3] = (ENTRY, TP_L + 0.2, ENTRY - 0.1, ENTRY)
    t = resolve(make_bars(rows))
    assert (t.exit_reason, t.exit_price, t.exit_ts, t.duration_sec) == ("TP", TP_L, T0 + 4 * 60, 240)
    assert t.gross_pnl_bps == pytest.approx(100.0)


def test_touch_at_exactly_the_barrier_counts():
    rows = flat(5)
    rows[1] = (ENTRY, TP_L, ENTRY - 0.1, ENTRY)
    assert resolve(make_bars(rows)).exit_reason == "TP"
    rows[1] = (ENTRY, ENTRY + 0.1, SL_L, ENTRY)
    assert resolve(make_bars(rows)).exit_reason == "SL"


def test_long_stop_loss():
    rows = flat(5)
    rows[2] = (ENTRY, ENTRY + 0.1, SL_L - 0.3, ENTRY)
    t = resolve(make_bars(rows))
    assert (t.exit_reason, t.exit_price, t.exit_ts) == ("SL", SL_L, T0 + 180)
    assert t.gross_pnl_bps == pytest.approx(-50.0)


def test_bar_touching_both_barriers_takes_the_stop():
    rows = flat(5)
    rows[2] = (ENTRY, TP_L + 1, SL_L - 1, ENTRY)
    assert resolve(make_bars(rows)).exit_reason == "SL"
    assert resolve(make_bars(rows), side=-1).exit_reason == "SL"


def test_gap_beyond_take_profit_fills_at_the_open():
    rows = flat(5)
    rows[2] = (TP_L + 0.7, TP_L + 1, TP_L + 0.5, TP_L + 0.6)
    t = resolve(make_bars(rows))
    assert (t.exit_reason, t.exit_price) == ("TP", TP_L + 0.7)
    assert t.gross_pnl_bps == pytest.approx(170.0)


def test_gap_beyond_stop_fills_at_the_open_worse_than_the_stop():
    rows = flat(5)
    rows[1] = (SL_L - 2, SL_L - 1, SL_L - 3, SL_L - 2)
    t = resolve(make_bars(rows))
    assert (t.exit_reason, t.exit_price) == ("SL", SL_L - 2)
    assert t.gross_pnl_bps is not None and t.gross_pnl_bps < -50.0


def test_open_beyond_take_profit_wins_even_if_the_bar_later_reaches_the_stop():
    # The open is the bar's first price: the order is known, so the both-touched rule does not apply.
    rows = flat(5)
    rows[1] = (TP_L + 0.5, TP_L + 0.6, SL_L - 1, SL_L - 1)
    t = resolve(make_bars(rows))
    assert (t.exit_reason, t.exit_price) == ("TP", TP_L + 0.5)


def test_timeout_exits_at_last_close_of_the_window():
    rows = [*flat(4), (ENTRY, ENTRY + 0.2, ENTRY - 0.2, ENTRY + 0.3), (TP_L + 5, TP_L + 5, TP_L + 5, TP_L + 5)]
    t = resolve(make_bars(rows))  # the 6th bar is after the window: its touch does not count
    assert (t.exit_reason, t.exit_price, t.exit_ts, t.duration_sec) == ("timeout", ENTRY + 0.3, T0 + 300, 300)
    assert t.gross_pnl_bps == pytest.approx(30.0)
    short = resolve(make_bars(rows), side=-1)
    assert short.gross_pnl_bps == pytest.approx(-30.0)


def test_bars_before_entry_are_not_part_of_the_path():
    rows = [(ENTRY, TP_L + 3, SL_L - 3, ENTRY), *flat(5)]
    ts = [T0 - 60 + 60 * i for i in range(6)]
    assert resolve(make_bars(rows, ts)).exit_reason == "timeout"


def test_short_is_mirrored():
    rows = flat(5)
    rows[2] = (ENTRY, ENTRY + 0.1, TP_S - 0.1, ENTRY)
    t = resolve(make_bars(rows), side=-1)
    assert (t.exit_reason, t.exit_price, t.exit_ts) == ("TP", TP_S, T0 + 180)
    assert t.gross_pnl_bps == pytest.approx(100.0)
    rows[2] = (ENTRY, SL_S + 0.1, ENTRY - 0.1, ENTRY)
    t = resolve(make_bars(rows), side="short")
    assert (t.exit_reason, t.exit_price) == ("SL", SL_S)
    assert t.gross_pnl_bps == pytest.approx(-50.0)
    rows[2] = (SL_S + 1, SL_S + 2, SL_S + 0.5, SL_S + 1)
    assert resolve(make_bars(rows), side=-1).exit_price == SL_S + 1


# ---------------------------------------------------------------- missing data is explicit


def no_data(t: Touch, kind: str) -> None:
    assert t.exit_reason == "NO_DATA"
    assert (t.exit_price, t.exit_ts, t.gross_pnl_bps, t.duration_sec) == (None, None, None, None)
    assert t.reason.startswith(kind + ":")


def test_no_bars_at_all_in_the_window():
    bars = make_bars(flat(3), [T0 - 600, T0 - 540, T0 + 300])
    no_data(resolve(bars), "no bars")


def test_entry_after_the_last_bar():
    no_data(resolve(make_bars(flat(3)), entry_ts=T0 + 180), "no bars")


def test_first_bar_not_at_entry():
    bars = make_bars(flat(6), [T0 + 60 * i for i in range(1, 7)])
    no_data(resolve(bars), "first bar not at entry")


def test_gap_inside_the_window_even_after_a_touch():
    rows = flat(5)
    rows[0] = (ENTRY, TP_L + 1, ENTRY, ENTRY)  # touched in the first bar, then a minute is missing
    ts = [T0, T0 + 60, T0 + 180, T0 + 240, T0 + 300]
    no_data(resolve(make_bars(rows, ts)), "gap")


def test_gap_after_the_window_does_not_matter():
    ts = [T0 + 60 * i for i in range(5)] + [T0 + 3600]
    assert resolve(make_bars(flat(6), ts)).exit_reason == "timeout"


def test_incomplete_window_at_the_end_of_the_data():
    no_data(resolve(make_bars(flat(4))), "incomplete")
    rows = flat(4)
    rows[0] = (ENTRY, TP_L + 1, ENTRY, ENTRY)
    no_data(resolve(make_bars(rows)), "incomplete")


def test_non_finite_price_in_the_window():
    rows = flat(5)
    rows[3] = (ENTRY, math.nan, ENTRY - 0.1, ENTRY)
    no_data(resolve(make_bars(rows)), "bad price")


def test_label_events_checks_its_inputs():
    bars = make_bars(flat(10))
    with pytest.raises(ValueError, match="side"):
        label_events(bars, np.array([0]), np.array([0]), np.array([ENTRY]), 10, 10, 60)
    with pytest.raises(ValueError, match="first bar at or after"):
        label_events(bars, np.array([2]), np.array([1]), np.array([ENTRY]), 10, 10, 60, entry_ts=np.array([T0]))
    with pytest.raises(ValueError, match="entry_idx"):
        label_events(bars, np.array([11]), np.array([1]), np.array([ENTRY]), 10, 10, 60)
    with pytest.raises(ValueError, match="positive"):
        label_events(bars, np.array([0]), np.array([1]), np.array([-1.0]), 10, 10, 60)


def test_label_events_on_empty_inputs():
    bars = make_bars(flat(3))
    assert (
        len(label_events(bars, np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([]), 1, 1, 60)) == 0
    )
    empty = make_bars([])
    lab = label_events(empty, np.array([0]), np.array([1]), np.array([ENTRY]), 1, 1, 60)
    assert EXIT_REASONS[int(lab.reason[0])] == "NO_DATA" and NO_DATA_KINDS[int(lab.no_data_kind[0])] == "no bars"


# ---------------------------------------------------------------- property: vectorized == reference

BARRIER_SETS = [Barriers(100.0, 50.0, 300), Barriers(13.0, 35.0, 900), Barriers(40.0, 40.0, 60)]
ENTRIES = [100.0, 100.5]


def _levels() -> list[float]:
    lv = [99.0, 99.5, 100.0, 100.5, 101.0, 101.5]
    for b in BARRIER_SETS:
        for e in ENTRIES:
            for s in (1, -1):
                lv.extend(barrier_prices(e, s, b))
    return lv


LEVELS = _levels()


@st.composite
def paths(draw: st.DrawFn) -> BarArrays:
    n = draw(st.integers(0, 45))
    steps = draw(st.lists(st.sampled_from([60] * 12 + [120, 30, 90, 600]), min_size=n, max_size=n))
    ts = (T0 + np.cumsum([0, *steps])[:n]).tolist()
    rows = []
    for _ in range(n):
        o = draw(st.sampled_from(LEVELS))
        c = draw(st.sampled_from(LEVELS))
        hi = max(o, c, draw(st.sampled_from(LEVELS)))
        lo = min(o, c, draw(st.sampled_from(LEVELS)))
        rows.append((o, hi, lo, c))
    return make_bars(rows, ts)


@st.composite
def events(draw: st.DrawFn, bars: BarArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    k = draw(st.integers(1, 30))
    span_end = int(bars.ts[-1]) + 120 if len(bars) else T0 + 120
    t = []
    for _ in range(k):
        if len(bars) and draw(st.booleans()):
            t.append(int(bars.ts[draw(st.integers(0, len(bars) - 1))]))  # on a bar, as a signal would be
        else:
            t.append(draw(st.integers(T0 - 120, span_end)))  # anywhere: between bars, before, after
    t0 = np.array(t, dtype=np.int64)
    side = np.array(draw(st.lists(st.sampled_from([1, -1]), min_size=k, max_size=k)), dtype=np.int64)
    entry = np.array(draw(st.lists(st.sampled_from(ENTRIES), min_size=k, max_size=k)))
    return t0, np.searchsorted(bars.ts, t0).astype(np.int64), side, entry


def assert_agree(
    bars: BarArrays,
    t0: np.ndarray,
    idx: np.ndarray,
    side: np.ndarray,
    entry: np.ndarray,
    barriers: Barriers,
    bar_sec: int = 60,
) -> LabelArrays:
    lab = label_events(
        bars, idx, side, entry, barriers.tp_bps, barriers.sl_bps, barriers.timeout_sec, bar_sec=bar_sec, entry_ts=t0
    )
    for k in range(len(t0)):
        ref = first_touch(
            bars.ts,
            bars.high,
            bars.low,
            bars.close,
            bars.open,
            int(t0[k]),
            float(entry[k]),
            int(side[k]),
            barriers,
            bar_sec=bar_sec,
        )
        assert_same(ref, lab.touch(k))
    return lab


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), bars=paths(), which=st.sampled_from(range(len(BARRIER_SETS))), chunk=st.sampled_from([3, 8192]))
def test_label_events_equals_first_touch_on_random_paths(data, bars, which, chunk):
    t0, idx, side, entry = data.draw(events(bars))
    with mock.patch.object(barriers_mod, "_CHUNK_BARS", chunk):  # small chunks exercise chunk borders
        assert_agree(bars, t0, idx, side, entry, BARRIER_SETS[which])


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    tp=st.lists(st.sampled_from([13.0, 40.0, 100.0]), min_size=1, max_size=20),
)
def test_per_event_barrier_arrays(data, tp):
    bars = data.draw(paths())
    k = len(tp)
    t0 = np.array([int(bars.ts[0]) if len(bars) else T0] * k, dtype=np.int64)
    idx = np.searchsorted(bars.ts, t0).astype(np.int64)
    side = np.array(data.draw(st.lists(st.sampled_from([1, -1]), min_size=k, max_size=k)), dtype=np.int64)
    sl = np.array(data.draw(st.lists(st.sampled_from([35.0, 50.0]), min_size=k, max_size=k)))
    lab = label_events(bars, idx, side, np.full(k, 100.0), np.array(tp), sl, 300, entry_ts=t0)
    for j in range(k):
        ref = first_touch(
            bars.ts,
            bars.high,
            bars.low,
            bars.close,
            bars.open,
            int(t0[j]),
            100.0,
            int(side[j]),
            Barriers(tp[j], float(sl[j]), 300),
        )
        assert_same(ref, lab.touch(j))


# ---------------------------------------------------------------- the real FTX month

CONFIGS = [(p, m) for p in ("seed", "demo") for m in ("scalp", "runner")]


def _signals(bars: BarArrays, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signals at each bar's open, priced at the previous bar's close (the bars.py convention)."""
    prev_close = np.r_[bars.open[0], bars.close[:-1]]
    return bars.ts[idx], prev_close[idx]


@pytest.mark.parametrize(("profile", "mode"), CONFIGS)
def test_ftx_month_vectorized_equals_reference(ftx_month, profile, mode):
    b = Barriers.from_mode(load_config(profile).mode(mode))
    n = len(ftx_month)
    horizon = b.timeout_sec // 60
    idx = np.unique(np.r_[np.arange(0, n, 11), np.arange(n - horizon - 5, n)]).astype(np.int64)
    t0, entry = _signals(ftx_month, idx)
    for s in (1, -1):
        lab = assert_agree(ftx_month, t0, idx, np.full(len(idx), s), entry, b)
        reasons = {EXIT_REASONS[int(r)] for r in lab.reason}
        assert {"SL", "NO_DATA"} <= reasons  # real data reaches both the stop and the end of the data
        assert int((lab.reason == 3).sum()) == int((idx + horizon > n).sum())  # exactly the windows past the end


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from(CONFIGS))
def test_ftx_month_with_bars_removed(ftx_month, data, which):
    """Real prices with real-looking outages: windows over a hole are NO_DATA in both implementations."""
    n = len(ftx_month)
    start = data.draw(st.integers(0, n - 600))
    holes = data.draw(st.lists(st.integers(start + 1, start + 598), min_size=1, max_size=4, unique=True))
    keep = np.setdiff1d(np.arange(start, start + 600), holes)
    cut = BarArrays.from_columns(
        ftx_month.ts[keep],
        ftx_month.open[keep],
        ftx_month.high[keep],
        ftx_month.low[keep],
        ftx_month.close[keep],
        ftx_month.volume[keep],
    )
    b = Barriers.from_mode(load_config(which[0]).mode(which[1]))
    # signals at every minute, including minutes whose bar is missing
    t0 = np.arange(int(cut.ts[0]), int(cut.ts[-1]) + 120, 60, dtype=np.int64)
    idx = np.searchsorted(cut.ts, t0).astype(np.int64)
    entry = np.interp(t0, cut.ts, cut.open)
    side = np.where(np.arange(len(t0)) % 2 == 0, 1, -1).astype(np.int64)
    lab = assert_agree(cut, t0, idx, side, entry, b)
    assert int((lab.no_data_kind == NO_DATA_KINDS.index("gap")).sum()) > 0


def test_misaligned_bar_inside_a_one_bar_window_is_a_gap():
    # Found by the property test: a bar 30 s after the entry bar starts inside a 60 s window.
    bars = make_bars(flat(3), [T0, T0 + 30, T0 + 60])
    no_data(resolve(bars, barriers=Barriers(40.0, 40.0, 60)), "gap")
