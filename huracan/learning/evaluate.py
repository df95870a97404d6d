"""Out-of-sample metrics, each with its n and a bootstrap interval.

One figure without an interval cannot say "no edge": an AUC of 0.53 on 400 trades is noise, on 40,000 it
is an edge. Every metric here is therefore a weighted statistic, computed once with unit weights (the point
value) and again under resampling weights (the interval), by the same code.

Resampling is a **circular block bootstrap** over rows in time order: labelled signals whose outcome windows
overlap share price moves, so they are not independent, and resampling single rows would make the intervals
too narrow. The block length is the number of rows entered within one embargo (the longest outcome window),
at least 1. Intervals are percentile intervals at ``level`` (default 95 %, two-sided).

Calibration error (ECE) uses **10 equal-count bins** of the predicted probability (rows sorted by the
prediction and cut into 10 groups of equal size): ``Σ_b (n_b / n) · |mean(y)_b − mean(p)_b|``. That plug-in
ECE is biased upwards at finite n (the absolute value of a bin's zero-mean noise is positive), and a
bootstrap replicate adds the same bias once more, so percentile intervals sat *above* their own point
("0.049 [0.057, 0.127]"). The ECE reported is therefore **bootstrap bias-corrected**: ``2·ECE − median(ECE*)``
with the *basic* interval ``[2·ECE − q_hi(ECE*), 2·ECE − q_lo(ECE*)]`` (all floored at 0). The replicates'
spread above the plug-in value estimates the bias the plug-in value has above the truth, and subtracting it
gives an estimate near 0 for a calibrated model at any n, so one fixed limit can bind at nightly sizes
(:mod:`.readiness`). The median (not the mean) of the replicates lies between their quantiles by
construction, so the interval always contains its estimate. The plug-in value stays in ``ece_plugin`` and
:func:`ece_noise_floor` (its 95 % quantile under perfect calibration) beside it, for reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace

import numpy as np

from huracan.core.bars import FloatArray, IntArray

__all__ = [
    "ECE_BINS",
    "BootstrapPlan",
    "Estimate",
    "OOSMetrics",
    "auc_point",
    "block_length",
    "bootstrap_auc",
    "bootstrap_mean",
    "debiased_ece",
    "ece_noise_floor",
    "equal_count_bins",
    "evaluate_oos",
]

ECE_BINS = 10
_EPS = 1e-15
WeightedStat = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point value with its bootstrap interval and the number of rows behind it."""

    value: float
    lo: float
    hi: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BootstrapPlan:
    """How intervals are drawn: replicate count, block length in rows, level, seed."""

    n_boot: int = 500
    block_len: int = 1
    level: float = 0.95
    seed: int = 0
    batch: int = 64

    def weights(self, n: int) -> Iterator[FloatArray]:
        """Batches of ``(b, n)`` resampling weights (how often each row was drawn in each replicate)."""
        rng = np.random.default_rng(self.seed)
        L = max(1, min(self.block_len, n))
        n_blocks = -(-n // L)
        offs = np.arange(L, dtype=np.int64)
        done = 0
        while done < self.n_boot:
            b = min(self.batch, self.n_boot - done)
            starts = rng.integers(0, n, size=(b, n_blocks))
            idx = ((starts[:, :, None] + offs) % n).reshape(b, -1)[:, :n]
            flat = idx + (np.arange(b, dtype=np.int64) * n)[:, None]
            yield np.bincount(flat.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
            done += b


def block_length(t_entry: IntArray, embargo_sec: int) -> int:
    """Rows entered within one embargo window, on average: the reach of one outcome's dependence."""
    n = len(t_entry)
    if n < 2 or embargo_sec <= 0:
        return 1
    span = float(t_entry[-1] - t_entry[0])
    if span <= 0:
        return max(1, n)
    return max(1, round(n * embargo_sec / span))


def equal_count_bins(p: FloatArray, n_bins: int = ECE_BINS) -> IntArray:
    """Bin index per row: rows sorted by ``p`` (stable) cut into ``n_bins`` groups of equal size."""
    n = len(p)
    order = np.argsort(p, kind="stable")
    bins = np.empty(n, dtype=np.int64)
    bins[order] = (np.arange(n) * n_bins) // max(n, 1)
    return bins


def _auc_stat(score: FloatArray, y: FloatArray) -> WeightedStat:
    """Weighted Mann-Whitney AUC (ties count one half), sorted once and reused for every replicate."""
    order = np.argsort(score, kind="stable")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    yo = y[order]

    def stat(w: FloatArray) -> FloatArray:
        wo = w[:, order]
        pos = np.add.reduceat(wo * yo, starts, axis=1)
        neg = np.add.reduceat(wo * (1.0 - yo), starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        num = np.sum(pos * (below + 0.5 * neg), axis=1)
        den = pos.sum(axis=1) * neg.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    return stat


def auc_point(score: FloatArray, y: FloatArray) -> float:
    """AUC of ``score`` for binary ``y`` (NaN when a class is missing)."""
    return float(_auc_stat(np.asarray(score, float), np.asarray(y, float))(np.ones((1, len(score))))[0])


def _mean_stat(v: FloatArray, mask: FloatArray | None = None) -> WeightedStat:
    m = np.ones_like(v) if mask is None else mask

    def stat(w: FloatArray) -> FloatArray:
        den = w @ m
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, (w @ (v * m)) / np.where(den > 0, den, 1.0), np.nan)

    return stat


def _ece_stat(p: FloatArray, y: FloatArray, bins: IntArray, n_bins: int) -> WeightedStat:
    onehot = np.zeros((len(p), n_bins))
    onehot[np.arange(len(p)), bins] = 1.0
    py = onehot * (y - p)[:, None]

    def stat(w: FloatArray) -> FloatArray:
        out: FloatArray = np.abs(w @ py).sum(axis=1) / w.sum(axis=1)
        return out

    return stat


def ece_noise_floor(
    p: FloatArray, *, n_bins: int = ECE_BINS, n_sim: int = 200, q: float = 0.95, seed: int = 0
) -> float:
    """The ``q``-quantile of ECE for labels drawn from ``p`` itself: what perfect calibration shows at this n."""
    n = len(p)
    if n == 0:
        return float("nan")
    bins = equal_count_bins(p, n_bins)
    rng = np.random.default_rng(seed)
    onehot = np.zeros((n, n_bins))
    onehot[np.arange(n), bins] = 1.0
    sp = p @ onehot
    eces = []
    for start in range(0, n_sim, 50):
        b = min(50, n_sim - start)
        y = (rng.random((b, n)) < p).astype(np.float64)
        eces.append(np.abs(y @ onehot - sp).sum(axis=1) / n)
    return float(np.quantile(np.concatenate(eces), q))


def _estimates(
    stats: dict[str, WeightedStat], n: int, plan: BootstrapPlan, *, debias: frozenset[str] = frozenset()
) -> dict[str, Estimate]:
    """Point values and percentile intervals; keys in ``debias`` get the bias-corrected basic interval
    (see the module docstring), floored at 0 (they are non-negative statistics such as ECE)."""
    ones = np.ones((1, n))
    points = {k: float(f(ones)[0]) for k, f in stats.items()}
    reps: dict[str, list[FloatArray]] = {k: [] for k in stats}
    for w in plan.weights(n):
        for k, f in stats.items():
            reps[k].append(f(w))
    alpha = (1.0 - plan.level) / 2.0
    out: dict[str, Estimate] = {}
    for k, v in points.items():
        r = np.concatenate(reps[k])
        r = r[np.isfinite(r)]
        lo, hi = (float(np.quantile(r, alpha)), float(np.quantile(r, 1 - alpha))) if r.size else (np.nan, np.nan)
        if k in debias and r.size:
            # bias-corrected (module docstring): the basic interval around 2·ECE − median holds it by construction
            med = float(np.median(r))
            v, lo, hi = max(0.0, 2 * v - med), max(0.0, 2 * v - hi), max(0.0, 2 * v - lo)
        if np.isfinite(v) and np.isfinite(lo) and np.isfinite(hi):
            # A biased statistic's replicates can all sit on one side of the point, so a percentile interval may
            # miss the point itself. Reported intervals always hold their point: widened to it, never narrowed.
            lo, hi = min(lo, float(v)), max(hi, float(v))
        out[k] = Estimate(value=v, lo=lo, hi=hi, n=n)
    return out


def bootstrap_auc(score: FloatArray, y: FloatArray, plan: BootstrapPlan) -> Estimate:
    """AUC of ``score`` with its block-bootstrap interval and n (NaN point when a class is missing)."""
    s = np.asarray(score, dtype=np.float64)
    return _estimates({"auc": _auc_stat(s, np.asarray(y, dtype=np.float64))}, len(s), plan)["auc"]


def debiased_ece(p: FloatArray, y: FloatArray, plan: BootstrapPlan) -> Estimate:
    """Bias-corrected ECE (10 equal-count bins) with its basic bootstrap interval (module docstring)."""
    pa = np.asarray(p, dtype=np.float64)
    bins = equal_count_bins(pa)
    stat = _ece_stat(pa, np.asarray(y, dtype=np.float64), bins, ECE_BINS)
    return _estimates({"ece": stat}, len(pa), plan, debias=frozenset({"ece"}))["ece"]


def bootstrap_mean(values: FloatArray, plan: BootstrapPlan) -> Estimate:
    """Mean of ``values`` with its block-bootstrap interval (e.g. a paired difference of hits)."""
    v = np.asarray(values, dtype=np.float64)
    return _estimates({"mean": _mean_stat(v)}, len(v), plan)["mean"]


@dataclass(frozen=True, slots=True)
class OOSMetrics:
    """Everything the readiness verdict and the report need from the out-of-sample window."""

    auc: Estimate
    brier: Estimate
    log_loss: Estimate
    ece: Estimate
    ece_floor: float
    base_rate: Estimate
    threshold: float | None
    precision: Estimate
    trades_kept: int
    kept_share: float
    pnl_kept_bps: Estimate
    pnl_all_bps: Estimate
    pnl_kept_minus_all_bps: Estimate
    champion_auc: Estimate | None = None
    auc_minus_champion: Estimate | None = None
    champion_brier: Estimate | None = None
    brier_minus_champion: Estimate | None = None
    ece_binning: str = f"{ECE_BINS} equal-count bins of the predicted probability"
    #: the plug-in ECE (biased upwards at finite n); ``ece`` is its bias-corrected value
    ece_plugin: float | None = None
    #: the gate threshold per mode when each row was judged at its own mode's threshold
    thresholds: dict[str, float] | None = None

    @property
    def threshold_text(self) -> str:
        """How kept rows were chosen, e.g. ``p > 0.45`` or ``p > each mode's threshold (scalp 0.62, runner 0.80)``."""
        if self.thresholds:
            each = ", ".join(f"{k} {v:.2f}" for k, v in self.thresholds.items())
            return f"p > each mode's threshold ({each})"
        return f"p > {self.threshold:.2f}" if self.threshold is not None else "p > threshold"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def evaluate_oos(
    p: FloatArray,
    y: FloatArray,
    pnl_bps: FloatArray,
    *,
    threshold: float | FloatArray,
    plan: BootstrapPlan,
    champion_p: FloatArray | None = None,
    thresholds: dict[str, float] | None = None,
) -> OOSMetrics:
    """Metrics of calibrated probabilities ``p`` against outcomes ``y`` (1 = WIN) on the test rows.

    Kept trades are the rows the meta-label gate would pass (``p > threshold``, the gate's rule; an array
    gives each row its own threshold: its mode's deployed ``meta_label_threshold``, named per mode in
    ``thresholds`` for the report); P&L is the
    row's net P&L in bps, so "kept minus all" is what the gate adds per signal after costs. With
    ``champion_p`` (the champion's probabilities on the same rows) the paired differences share replicates,
    so their interval reflects only the models' disagreement.
    """
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pnl = np.asarray(pnl_bps, dtype=np.float64)
    n = len(p)
    if n == 0 or len(y) != n or len(pnl) != n:
        raise ValueError("p, y and pnl_bps must be non-empty and of equal length")
    pc = np.clip(p, _EPS, 1 - _EPS)
    thr = np.broadcast_to(np.asarray(threshold, dtype=np.float64), p.shape)
    kept = (p > thr).astype(np.float64)
    bins = equal_count_bins(p)
    mean_kept = _mean_stat(pnl, kept)
    mean_all = _mean_stat(pnl)
    stats: dict[str, WeightedStat] = {
        "auc": _auc_stat(p, y),
        "brier": _mean_stat((p - y) ** 2),
        "log_loss": _mean_stat(-(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        "ece": _ece_stat(p, y, bins, ECE_BINS),
        "base_rate": _mean_stat(y),
        "precision": _mean_stat(y, kept),
        "pnl_kept": mean_kept,
        "pnl_all": mean_all,
        "pnl_diff": lambda w: mean_kept(w) - mean_all(w),
    }
    if champion_p is not None:
        cp = np.asarray(champion_p, dtype=np.float64)
        if len(cp) != n:
            raise ValueError("champion predictions must cover the same rows")
        auc_c = _auc_stat(cp, y)
        auc_n = stats["auc"]
        brier_c = _mean_stat((cp - y) ** 2)
        brier_n = stats["brier"]
        stats["champion_auc"] = auc_c
        stats["auc_diff"] = lambda w: auc_n(w) - auc_c(w)
        stats["champion_brier"] = brier_c
        stats["brier_diff"] = lambda w: brier_n(w) - brier_c(w)
    e = _estimates(stats, n, plan, debias=frozenset({"ece"}))
    ece_plugin = float(stats["ece"](np.ones((1, n)))[0])
    n_kept = int(kept.sum())
    for k in ("precision", "pnl_kept"):
        e[k] = replace(e[k], n=n_kept)
    return OOSMetrics(
        auc=e["auc"],
        brier=e["brier"],
        log_loss=e["log_loss"],
        ece=e["ece"],
        ece_floor=ece_noise_floor(p, seed=plan.seed),
        base_rate=e["base_rate"],
        threshold=float(threshold) if np.ndim(threshold) == 0 else None,
        thresholds=thresholds,
        ece_plugin=ece_plugin,
        precision=e["precision"],
        trades_kept=n_kept,
        kept_share=float(kept.mean()),
        pnl_kept_bps=e["pnl_kept"],
        pnl_all_bps=e["pnl_all"],
        pnl_kept_minus_all_bps=e["pnl_diff"],
        champion_auc=e.get("champion_auc"),
        auc_minus_champion=e.get("auc_diff"),
        champion_brier=e.get("champion_brier"),
        brier_minus_champion=e.get("brier_diff"),
    )
