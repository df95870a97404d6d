"""The backtest's virtual schedule: the 23:00 summaries and 00:00 trainings the local runtime would fire."""

from __future__ import annotations

import numpy as np

from huracan.backtest.run import schedule_times, signal_windows, window_ends
from huracan.core.bars import BarArrays
from huracan.core.features import WINDOW, BarWindows
from huracan.core.timeutil import epoch_s, from_epoch_s


def _t(ts: str) -> int:
    return int(epoch_s(ts))


def test_two_days_fire_what_the_runtime_fires_after_the_first_record() -> None:
    # Given records published every minute from 00:01 on day 1 through 00:00 on day 3
    publish = np.arange(_t("2022-01-01T00:01:00Z"), _t("2022-01-03T00:00:00Z") + 1, 60)
    events, skipped = schedule_times(publish)
    # Then the 00:00 of day 1 is before the first record (not fired); the last record's 00:00 is fired
    assert [(from_epoch_s(t), n) for t, n in events] == [
        ("2022-01-01T23:00:00Z", "summary"),
        ("2022-01-02T00:00:00Z", "nightly"),
        ("2022-01-02T23:00:00Z", "summary"),
        ("2022-01-03T00:00:00Z", "nightly"),
    ]
    assert skipped == {}


def test_a_gap_of_more_than_two_days_runs_its_first_midnight_and_skips_the_rest() -> None:
    # Given a day of data, nine days of nothing, then another day
    day1 = np.arange(_t("2022-01-01T00:01:00Z"), _t("2022-01-01T12:00:00Z"), 60)
    day10 = np.arange(_t("2022-01-10T08:00:00Z"), _t("2022-01-10T10:00:00Z"), 60)
    events, skipped = schedule_times(np.concatenate([day1, day10]))
    names = [(from_epoch_s(t), n) for t, n in events]
    # Then what day 1 is owed runs (its 23:00 summary, the midnight training on it), nothing inside the gap
    assert names == [("2022-01-01T23:00:00Z", "summary"), ("2022-01-02T00:00:00Z", "nightly")]
    assert skipped == {"summary": 8, "nightly": 8}


def test_windows_hold_only_bars_closed_by_the_signal_and_pad_short_histories_like_the_handler() -> None:
    # Given 100 one-minute bars and signals on a close, 17 s after a close, and inside the first hour
    n = 100
    ts = np.arange(n, dtype=np.int64) * 60 + _t("2022-01-01T00:00:00Z")
    px = 100.0 + np.arange(n, dtype=np.float64)
    bars = BarArrays.from_columns(ts, px, px + 1, px - 1, px, np.ones(n))
    sig_ts = np.array([ts[80] + 60, ts[80] + 60 + 17, ts[10] + 60], dtype=np.float64)
    ends = window_ends(bars, sig_ts)
    # Then each window ends with the last bar that closed by the signal's time (bar 80, bar 80, bar 10)
    assert ends.tolist() == [81, 81, 11]
    got = signal_windows(bars, ends)
    want = BarWindows.from_bars([bars.slice(max(0, e - WINDOW), e) for e in ends.tolist()])
    for name in ("high", "low", "close", "volume", "ts_last", "bid_last", "ask_last"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
