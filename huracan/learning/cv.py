"""Purged walk-forward splits: every validation score is one the model could have had in real time.

A labelled signal is not a point in time but an interval: its outcome is decided somewhere in
``[t_entry, t_exit]``. Two rows whose intervals overlap share price moves, so a model trained on one and
scored on the other has seen part of the answer. Walk-forward alone does not prevent that at a fold's
boundary, hence (López de Prado, *Advances in Financial Machine Learning*, ch. 7):

- **purge**: a training row whose outcome window reaches the validation window (``t_exit >= start``) is
  dropped;
- **embargo**: so is a training row that *entered* less than ``embargo_sec`` before the validation window.
  With ``embargo_sec`` at least the longest timeout, no training row can overlap even when a ``t_exit``
  were wrong; :func:`purged_walk_forward` refuses a shorter embargo.

Layout (rows sorted by ``t_entry``): the last ``test_fraction`` of rows is the out-of-sample test, used once,
at the end. The rows before it are cut into ``n_folds + 1`` consecutive blocks; fold ``j`` trains on blocks
``0..j-1`` (expanding window) and validates on block ``j``. The final model trains on all rows before the
test, purged against the test window the same way.

The same blocks also give **purged k-fold** folds (:attr:`WalkForwardSplit.calibration_folds`): block ``j``
is predicted by a model trained on every *other* block, purged on both sides (rows after the block must
enter more than ``embargo_sec`` after the block's last outcome ends). Walk-forward scores say what the model
would have scored in real time; these out-of-fold scores come from models trained on as much data as the
final one, which is what a calibrator needs: a calibrator fitted on walk-forward scores learns the early,
small models' extrapolation errors and transfers them to the final model (measured on the FTX month with
planted edges on volatility features: test ECE 0.04–0.10 instead of ≈ 0.01).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from huracan.core.bars import IntArray

__all__ = [
    "Fold",
    "PurgeResult",
    "WalkForwardSplit",
    "assert_no_overlap",
    "purge_around",
    "purge_before",
    "purged_walk_forward",
]


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """Training rows kept before a window starts, and how many were removed by each rule."""

    kept: IntArray
    purged: int
    embargoed: int


@dataclass(frozen=True, slots=True)
class Fold:
    """One walk-forward step: row indices to train on and to validate on."""

    train: IntArray
    valid: IntArray
    purged: int
    embargoed: int


@dataclass(frozen=True, slots=True)
class WalkForwardSplit:
    """All folds, the final training set and the out-of-sample test rows."""

    folds: tuple[Fold, ...]
    calibration_folds: tuple[Fold, ...]
    final_train: IntArray
    test: IntArray
    embargo_sec: int
    final_purged: int
    final_embargoed: int

    @property
    def oof_rows(self) -> IntArray:
        """Rows that receive an out-of-fold prediction (every validation block, in time order)."""
        if not self.folds:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([f.valid for f in self.folds])


def purge_before(
    candidates: IntArray, t_entry: IntArray, t_exit: IntArray, window_start: int, embargo_sec: int
) -> PurgeResult:
    """Keep candidate rows whose outcome ends before ``window_start`` and that entered ``embargo_sec`` earlier."""
    reaches = t_exit[candidates] >= window_start
    too_close = ~reaches & (t_entry[candidates] > window_start - embargo_sec)
    keep = ~reaches & ~too_close
    return PurgeResult(kept=candidates[keep], purged=int(reaches.sum()), embargoed=int(too_close.sum()))


def purge_around(
    candidates: IntArray, t_entry: IntArray, t_exit: IntArray, valid: IntArray, embargo_sec: int
) -> PurgeResult:
    """Keep candidates entirely before ``valid`` (as :func:`purge_before`) or entirely after it plus the embargo."""
    start = int(t_entry[valid].min())
    end = int(t_exit[valid].max())
    te, tx = t_entry[candidates], t_exit[candidates]
    before = (tx < start) & (te <= start - embargo_sec)
    after = te > end + embargo_sec
    keep = before | after
    overlapping = ~keep & (tx >= start) & (te <= end)
    return PurgeResult(
        kept=candidates[keep], purged=int(overlapping.sum()), embargoed=int((~keep & ~overlapping).sum())
    )


def purged_walk_forward(
    t_entry: IntArray,
    t_exit: IntArray,
    *,
    n_folds: int,
    test_fraction: float,
    embargo_sec: int,
) -> WalkForwardSplit:
    """Split rows sorted by ``t_entry`` into purged walk-forward folds and a final out-of-sample test."""
    n = len(t_entry)
    if len(t_exit) != n:
        raise ValueError("t_entry and t_exit must have the same length")
    if n_folds < 1:
        raise ValueError("n_folds must be at least 1")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must lie strictly between 0 and 1")
    if n > 1 and bool(np.any(np.diff(t_entry) < 0)):
        raise ValueError("rows must be sorted by t_entry")
    if bool(np.any(t_exit < t_entry)):
        raise ValueError("every t_exit must be at or after its t_entry")
    longest = int(np.max(t_exit - t_entry)) if n else 0
    if embargo_sec < longest:
        raise ValueError(
            f"embargo {embargo_sec}s is shorter than the longest outcome window ({longest}s): "
            "training rows could overlap validation rows"
        )
    n_test = round(n * test_fraction)
    n_dev = n - n_test
    if n_test < 1 or n_dev < n_folds + 1:
        raise ValueError(f"{n} rows are too few for {n_folds} folds and a test window")
    bounds = np.linspace(0, n_dev, n_folds + 2).round().astype(np.int64)
    folds: list[Fold] = []
    for j in range(1, n_folds + 1):
        valid = np.arange(bounds[j], bounds[j + 1], dtype=np.int64)
        start = int(t_entry[valid[0]])
        res = purge_before(np.arange(0, bounds[j], dtype=np.int64), t_entry, t_exit, start, embargo_sec)
        folds.append(Fold(train=res.kept, valid=valid, purged=res.purged, embargoed=res.embargoed))
    test = np.arange(n_dev, n, dtype=np.int64)
    final = purge_before(np.arange(0, n_dev, dtype=np.int64), t_entry, t_exit, int(t_entry[n_dev]), embargo_sec)
    dev = final.kept
    cal: list[Fold] = []
    for j in range(n_folds + 1):
        valid = dev[(dev >= bounds[j]) & (dev < bounds[j + 1])]
        if len(valid) == 0:
            continue
        res = purge_around(dev[(dev < bounds[j]) | (dev >= bounds[j + 1])], t_entry, t_exit, valid, embargo_sec)
        cal.append(Fold(train=res.kept, valid=valid, purged=res.purged, embargoed=res.embargoed))
    return WalkForwardSplit(
        folds=tuple(folds),
        calibration_folds=tuple(cal),
        final_train=final.kept,
        test=test,
        embargo_sec=embargo_sec,
        final_purged=final.purged,
        final_embargoed=final.embargoed,
    )


def assert_no_overlap(train: IntArray, valid: IntArray, t_entry: IntArray, t_exit: IntArray) -> None:
    """Raise if any training row's outcome window meets any validation row's (a guard for tests and runs)."""
    if len(train) == 0 or len(valid) == 0:
        return
    # Intervals [a, b] and [c, d] meet iff a <= d and c <= b; check against the validation hull's pieces.
    v_lo = t_entry[valid]
    v_hi = t_exit[valid]
    order = np.argsort(v_lo, kind="stable")
    v_lo, v_hi = v_lo[order], np.maximum.accumulate(v_hi[order])
    a, b = t_entry[train], t_exit[train]
    # For each training row, the validation rows that start at or before b; the widest of them reaches v_hi[k].
    k = np.searchsorted(v_lo, b, side="right") - 1
    has = k >= 0
    if bool(np.any(has & (v_hi[np.maximum(k, 0)] >= a))):
        raise AssertionError("a training row's outcome window overlaps a validation row's")
