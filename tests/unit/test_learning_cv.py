"""Purged walk-forward CV: no training row's outcome window may meet a validation (or test) row's."""

from __future__ import annotations

import numpy as np
import pytest

from huracan.core.config import load_config
from huracan.core.features import features_history
from huracan.learning.cv import assert_no_overlap, purge_before, purged_walk_forward
from huracan.learning.dataset import labelled_signals


def _brute_overlap(train, valid, t_entry, t_exit) -> bool:
    a, b = t_entry[train][:, None], t_exit[train][:, None]
    c, d = t_entry[valid][None, :], t_exit[valid][None, :]
    return bool(np.any((a <= d) & (c <= b)))


def _random_windows(n: int, seed: int):
    rng = np.random.default_rng(seed)
    t_entry = np.sort(rng.integers(0, 200_000, size=n)).astype(np.int64)
    t_exit = t_entry + rng.integers(0, 1800, size=n)
    return t_entry, t_exit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_folds_never_overlap_validation_by_brute_force(seed):
    # Given rows with random outcome windows up to 30 minutes
    t_entry, t_exit = _random_windows(600, seed)
    # When split with an embargo equal to the longest window
    split = purged_walk_forward(t_entry, t_exit, n_folds=4, test_fraction=0.2, embargo_sec=1800)
    # Then no fold's training window meets its validation window, nor the final train the test
    for fold in split.folds:
        assert not _brute_overlap(fold.train, fold.valid, t_entry, t_exit)
        assert fold.train.max() < fold.valid.min()
    assert not _brute_overlap(split.final_train, split.test, t_entry, t_exit)
    # The purged k-fold folds used for calibration train on both sides of their block, never overlapping it
    assert len(split.calibration_folds) == 5
    for fold in split.calibration_folds:
        assert not _brute_overlap(fold.train, fold.valid, t_entry, t_exit)
        assert np.all(np.isin(fold.train, split.final_train)) and np.all(np.isin(fold.valid, split.final_train))
    middle = split.calibration_folds[2]
    assert middle.train.min() < middle.valid.min() and middle.train.max() > middle.valid.max()
    assert np.intersect1d(split.test, np.concatenate([f.train for f in split.calibration_folds])).size == 0
    # and the last rows are the test window, untouched by any fold
    assert split.test[-1] == len(t_entry) - 1
    assert np.intersect1d(split.oof_rows, split.test).size == 0


def test_purging_removes_exactly_the_rows_that_reach_the_window():
    # Given rows one minute apart, each with a 10-minute outcome window
    t_entry = np.arange(0, 100 * 60, 60, dtype=np.int64)
    t_exit = t_entry + 600
    start = int(t_entry[50])
    # When purging candidates 0..49 before a window starting at row 50, with no extra embargo beyond overlap
    res = purge_before(np.arange(50), t_entry, t_exit, start, embargo_sec=0)
    # Then rows whose exit reaches row 50's entry (exit >= start) are purged, the rest kept
    assert res.purged == 10  # rows 40..49 (exit >= start); row 40 exits exactly at start and still counts
    assert res.kept.max() == 39
    assert not _brute_overlap(res.kept, np.arange(50, 100), t_entry, t_exit)
    # And an embargo removes further rows that entered within it
    res2 = purge_before(np.arange(50), t_entry, t_exit, start, embargo_sec=1200)
    assert res2.purged == 10 and res2.embargoed == 9  # rows 31..39 entered less than 20 min before
    assert res2.kept.max() == 30


def test_embargo_shorter_than_longest_window_is_refused():
    t_entry, t_exit = _random_windows(300, 5)
    with pytest.raises(ValueError, match="embargo"):
        purged_walk_forward(t_entry, t_exit, n_folds=3, test_fraction=0.2, embargo_sec=60)


def test_unsorted_rows_are_refused():
    with pytest.raises(ValueError, match="sorted"):
        purged_walk_forward(
            np.array([5, 1, 2, 3, 4, 6, 7, 8, 9, 10]), np.arange(10) + 20, n_folds=2, test_fraction=0.2, embargo_sec=30
        )


def test_assert_no_overlap_detects_an_overlap():
    t_entry = np.array([0, 100, 200, 300], dtype=np.int64)
    t_exit = np.array([150, 250, 260, 400], dtype=np.int64)
    with pytest.raises(AssertionError):
        assert_no_overlap(np.array([0, 1]), np.array([2, 3]), t_entry, t_exit)  # row 1 ends after row 2 starts
    assert_no_overlap(np.array([0]), np.array([2, 3]), t_entry, t_exit)


def test_real_barrier_labels_are_purged_at_every_boundary(ftx_month):
    # Given signals every 3 bars of the real month, labelled with the demo runner barriers (2-hour timeout)
    cfg = load_config("demo")
    mode = cfg.mode("runner")
    f = features_history(ftx_month)
    idx = np.arange(100, len(ftx_month) - 200, 3)
    side = np.where(np.arange(len(idx)) % 2 == 0, 1, -1)
    ds = labelled_signals(
        ftx_month,
        idx,
        side,
        np.full(len(idx), 0.7),
        np.ones(len(idx)),
        tp_bps=mode.tp_bps,
        sl_bps=mode.sl_bps,
        timeout_sec=mode.timeout_sec,
        fee_bps_per_side=cfg.costs.fee_bps_per_side,
        breakeven_band_bps=cfg.costs.breakeven_band_bps,
        default_spread_bps=cfg.costs.default_spread_bps,
        history=f,
    )
    # When split with the embargo at the timeout
    split = purged_walk_forward(ds.t_entry, ds.t_exit, n_folds=4, test_fraction=0.2, embargo_sec=mode.timeout_sec)
    # Then purging removed rows at each boundary and none left overlaps (real exits vary in length)
    for fold in split.folds:
        assert fold.purged + fold.embargoed > 0
        assert ds.t_exit[fold.train].max() < ds.t_entry[fold.valid].min()
        assert ds.t_entry[fold.train].max() <= ds.t_entry[fold.valid].min() - mode.timeout_sec
    assert ds.t_exit[split.final_train].max() < ds.t_entry[split.test].min()
