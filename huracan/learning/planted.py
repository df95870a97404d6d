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
:func:`permute_within_blocks` removes the dependence (labels shuffled within consecutive time blocks, so
the base rate's drift over the month survives but the link to the features does not): the null case.

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

__all__ = ["PlantedEdge", "permute_within_blocks", "planted_edge_dataset", "signal_bars"]

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


def permute_within_blocks(ds: Dataset, *, block_rows: int, seed: int) -> Dataset:
    """The same rows with (label, P&L) pairs shuffled inside consecutive blocks: dependence removed."""
    rng = np.random.default_rng(seed)
    n = len(ds)
    perm = np.arange(n)
    for start in range(0, n, block_rows):
        stop = min(n, start + block_rows)
        perm[start:stop] = start + rng.permutation(stop - start)
    return Dataset(
        X=ds.X,
        y=ds.y[perm],
        t_entry=ds.t_entry,
        t_exit=ds.t_exit,
        pnl_bps=ds.pnl_bps[perm],
        provenance=ds.provenance,
        row_id=ds.row_id,
        feature_names=ds.feature_names,
        max_timeout_sec=ds.max_timeout_sec,
    )
