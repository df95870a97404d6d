"""Signals with a known edge on real price paths: the learner's known-answer tests and power curve.

Real minute data gives simple signals almost no edge, so "the model found nothing" cannot by itself tell a
broken learner from an honest one. Here the answer is planted: signals are emitted on the real bars, their
features are the real features, and the probability that a signal wins is, by construction,

    p = sigmoid(base + strength · z),   z = the chosen feature's rank among the signals, scaled to a
                                        uniform with mean 0 and variance 1 (so within ±1.73),

with the label drawn from ``p`` under a fixed seed. Ranks rather than a plain z-score because real features
are heavy-tailed (volatility, volume ratio): a z-score would put most signals near 0 and the strength would
mean something different for every feature. The best any model can do on a window is then the AUC
of the true ``p`` against the drawn labels (:attr:`PlantedEdge.attainable_auc`), computable exactly.
:func:`null_labels` removes the dependence: every label is drawn afresh from the base rate, independently
of every feature and of time, and its P&L from the P&L of rows with the same label. (Shuffling labels
*within* time blocks, as this module first did, is not a null: each block keeps its mean, so any feature
that tracks slow variation still predicts it — attainable AUC 0.52–0.62 after that shuffle on the real
month, and 6 of 20 such "nulls" were promoted.)

P&L follows the label as a barrier trade would: a WIN earns ``tp_bps``, anything else loses ``sl_bps``,
both net of the round-trip cost (two fees plus the spread feature at entry).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from huracan.core.bars import BarArrays, FloatArray, IntArray
from huracan.core.features import BAR_SEC, FEATURE_INDEX, MODEL_FEATURES, features_history
from huracan.learning.dataset import Dataset, signal_features
from huracan.learning.evaluate import auc_point

__all__ = ["PlantedEdge", "null_labels", "planted_edge_dataset", "signal_bars"]

_I_RET15 = FEATURE_INDEX["ret_15_bps"]
_I_SPREAD = FEATURE_INDEX["spread_bps"]


@dataclass(frozen=True, slots=True)
class PlantedEdge:
    """A dataset whose win probabilities are known row by row."""

    dataset: Dataset
    true_p: FloatArray
    feature: str
    strength: float

    def attainable_auc(self, rows: IntArray) -> float:
        """AUC of the true probabilities on ``rows``: the ceiling for any model on those labels."""
        return auc_point(self.true_p[rows], self.dataset.y[rows])


def signal_bars(bars: BarArrays, history: FloatArray, timeout_sec: int, stride: int) -> IntArray:
    """Bars that can emit a signal: full feature window and a complete, gap-free outcome window after."""
    h = timeout_sec // BAR_SEC
    n = len(bars)
    i = np.arange(0, max(n - h, 0), dtype=np.int64)
    # the signal of bar i enters at ts[i] + BAR_SEC; its path is bars i+1 .. i+h, all present
    ok = np.isfinite(history[i, 0]) & (bars.ts[i + h] - bars.ts[i] == h * BAR_SEC)
    out: IntArray = i[ok][::stride]
    return out


def planted_edge_dataset(
    bars: BarArrays,
    *,
    strength: float,
    feature: str = "trend_eff_15",
    base: float = 0.0,
    stride: int = 1,
    seed: int = 0,
    tp_bps: float = 40.0,
    sl_bps: float = 40.0,
    timeout_sec: int = 1800,
    fee_bps_per_side: float = 5.0,
    history: FloatArray | None = None,
) -> PlantedEdge:
    """Signals every ``stride`` bars of ``bars`` whose WIN probability depends on ``feature`` by ``strength``."""
    if feature not in MODEL_FEATURES:
        raise ValueError(f"unknown feature {feature!r}")
    f = features_history(bars) if history is None else history
    idx = signal_bars(bars, f, timeout_sec, stride)
    if len(idx) == 0:
        raise ValueError("no bar can emit a signal with a complete outcome window")
    ret15 = f[idx, _I_RET15]
    side = np.where(ret15 >= 0, 1, -1)
    confidence = 0.5 + 0.45 * np.tanh(np.abs(ret15) / 50.0)
    X = signal_features(bars, idx, side, confidence, np.zeros(len(idx)), history=f)
    v = X[:, MODEL_FEATURES.index(feature)]
    rank = np.empty(len(v))
    rank[np.argsort(v, kind="stable")] = np.arange(len(v))
    z = ((rank + 0.5) / len(v) - 0.5) * np.sqrt(12.0)
    p = 1.0 / (1.0 + np.exp(-(base + strength * z)))
    rng = np.random.default_rng(seed)
    y = (rng.random(len(p)) < p).astype(np.float64)
    spread = np.nan_to_num(X[:, _I_SPREAD], nan=2.0)
    cost = 2.0 * fee_bps_per_side + spread
    pnl = np.where(y == 1.0, tp_bps, -sl_bps) - cost
    t_entry = bars.ts[idx] + BAR_SEC
    ds = Dataset.build(
        X,
        y,
        t_entry,
        t_entry + timeout_sec,
        pnl,
        feature_names=MODEL_FEATURES,
        provenance="historical",
        max_timeout_sec=timeout_sec,
    )
    # Dataset.build sorts by t_entry; idx is already increasing, so true_p stays aligned.
    return PlantedEdge(dataset=ds, true_p=p, feature=feature, strength=strength)


def null_labels(ds: Dataset, *, seed: int) -> Dataset:
    """The same rows and features with labels independent of them: the null case of every test of the learner.

    Each label is a Bernoulli draw at the dataset's base rate; each row's P&L is drawn (with replacement)
    from the P&L of the rows that carried the same label, so a WIN still earns what wins earned.
    """
    rng = np.random.default_rng(seed)
    n = len(ds)
    y = (rng.random(n) < float(np.mean(ds.y))).astype(np.float64)
    pnl = np.empty(n)
    for label in (0.0, 1.0):
        pool = ds.pnl_bps[ds.y == label]
        if len(pool) == 0:
            pool = ds.pnl_bps
        sel = y == label
        pnl[sel] = pool[rng.integers(0, len(pool), size=int(sel.sum()))]
    return Dataset(
        X=ds.X,
        y=y,
        t_entry=ds.t_entry,
        t_exit=ds.t_exit,
        pnl_bps=pnl,
        provenance=ds.provenance,
        row_id=ds.row_id,
        feature_names=ds.feature_names,
        max_timeout_sec=ds.max_timeout_sec,
    )
