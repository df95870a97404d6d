"""Dataset assembly: features of a signal see no bar after it; labels and provenance are consistent."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.learning.dataset import Dataset, labelled_signals

CFG = load_config("demo")
SCALP = CFG.mode("scalp")


def _assemble(bars: BarArrays, idx: np.ndarray) -> Dataset:
    side = np.where(idx % 2 == 0, 1, -1)
    return labelled_signals(
        bars,
        idx,
        side,
        np.full(len(idx), 0.6),
        np.zeros(len(idx)),
        tp_bps=SCALP.tp_bps,
        sl_bps=SCALP.sl_bps,
        timeout_sec=SCALP.timeout_sec,
        fee_bps_per_side=CFG.costs.fee_bps_per_side,
        breakeven_band_bps=CFG.costs.breakeven_band_bps,
        default_spread_bps=CFG.costs.default_spread_bps,
        row_id=[f"s{i}" for i in idx],
    )


def _perturb_after(bars: BarArrays, k: int, seed: int) -> BarArrays:
    """Every bar after k replaced by a different (but valid) path: scaled prices, random volume."""
    rng = np.random.default_rng(seed)
    scale = np.ones(len(bars))
    scale[k + 1 :] = np.exp(np.cumsum(rng.normal(0, 0.01, len(bars) - k - 1)))
    vol = bars.volume.copy()
    vol[k + 1 :] = rng.uniform(0, 1e6, len(bars) - k - 1)
    return BarArrays.from_columns(
        bars.ts, bars.open * scale, bars.high * scale, bars.low * scale, bars.close * scale, vol
    )


def test_features_at_t_ignore_every_bar_after_t(ftx_month):
    # Given the real month and a copy whose bars after k are replaced
    bars = ftx_month.slice(0, 6000)
    k = 4000
    other = _perturb_after(bars, k, seed=1)
    idx = np.arange(100, 5500, 7)
    # When both are assembled into datasets
    a, b = _assemble(bars, idx), _assemble(other, idx)
    # Then every signal emitted at or before bar k has identical features in both
    at_or_before = a.t_entry <= bars.ts[k] + 60
    rows_a = {r: i for i, r in enumerate(a.row_id)}
    rows_b = {r: i for i, r in enumerate(b.row_id)}
    common = [r for r in rows_a if r in rows_b and at_or_before[rows_a[r]]]
    assert len(common) > 400
    ia = np.array([rows_a[r] for r in common])
    ib = np.array([rows_b[r] for r in common])
    np.testing.assert_array_equal(a.X[ia], b.X[ib])
    # and the change after k is visible: later signals' features differ (the test could fail)
    later = ~at_or_before
    assert not np.allclose(a.X[later][:50], b.X[np.flatnonzero(b.t_entry > bars.ts[k] + 60)][:50])
    # Labels of signals whose whole outcome window ends before bar k+1 opens are unchanged too
    done = [r for r in common if a.t_entry[rows_a[r]] + SCALP.timeout_sec <= bars.ts[k + 1]]
    assert len(done) > 300
    np.testing.assert_array_equal(a.y[[rows_a[r] for r in done]], b.y[[rows_b[r] for r in done]])


def test_labels_follow_net_pnl_and_windows_stay_within_the_timeout(ftx_month):
    ds = _assemble(ftx_month.slice(0, 8000), np.arange(100, 7800, 3))
    assert len(ds) > 2000
    np.testing.assert_array_equal(ds.y == 1, ds.pnl_bps > CFG.costs.breakeven_band_bps)
    assert np.all(ds.t_exit > ds.t_entry)
    assert np.all(ds.t_exit - ds.t_entry <= SCALP.timeout_sec)
    assert np.all(np.diff(ds.t_entry) >= 0)
    assert ds.max_timeout_sec == SCALP.timeout_sec
    assert ds.provenance_counts() == {"historical": len(ds), "shadow": 0, "live": 0}


def test_build_sorts_rows_and_the_snapshot_id_names_the_content():
    X = np.arange(12, dtype=float).reshape(4, 3)
    kw: dict[str, Any] = {"feature_names": ("a", "b", "c"), "provenance": ["shadow", "live", "historical", "shadow"]}
    ds = Dataset.build(X, [1, 0, 1, 0], [30, 10, 20, 40], [31, 11, 21, 41], [5.0, -1.0, 2.0, 0.0], **kw)
    np.testing.assert_array_equal(ds.t_entry, [10, 20, 30, 40])
    np.testing.assert_array_equal(ds.X[:, 0], [3, 6, 0, 9])
    assert list(ds.provenance) == ["live", "historical", "shadow", "shadow"]
    same = Dataset.build(X, [1, 0, 1, 0], [30, 10, 20, 40], [31, 11, 21, 41], [5.0, -1.0, 2.0, 0.0], **kw)
    flipped = Dataset.build(X, [1, 0, 1, 1], [30, 10, 20, 40], [31, 11, 21, 41], [5.0, -1.0, 2.0, 0.0], **kw)
    assert ds.snapshot_id() == same.snapshot_id() != flipped.snapshot_id()
    joined = Dataset.concat([ds.subset(np.array([0, 1])), ds.subset(np.array([2, 3]))])
    assert joined.snapshot_id() == ds.snapshot_id()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"y": [1, 0, 2, 0]}, "WIN"),
        ({"t_exit": [29, 11, 21, 41]}, "before"),
        ({"pnl_bps": [np.nan, 0, 0, 0]}, "finite"),
        ({"provenance": "paper"}, "provenance"),
    ],
)
def test_build_refuses_broken_rows(change, match):
    args: dict[str, Any] = {
        "X": np.zeros((4, 2)),
        "y": [1, 0, 1, 0],
        "t_entry": [30, 10, 20, 40],
        "t_exit": [31, 11, 21, 41],
        "pnl_bps": [1.0, 0.0, 0.0, 0.0],
        "provenance": "historical",
    }
    args.update(change)
    with pytest.raises(ValueError, match=match):
        Dataset.build(
            args["X"],
            args["y"],
            args["t_entry"],
            args["t_exit"],
            args["pnl_bps"],
            feature_names=("a", "b"),
            provenance=args["provenance"],
        )
