"""Forward evidence: a challenger is promoted on decisions made after it was trained, never on its own folds.

Offline checks (purged folds, an out-of-sample window) judge a model on the past it was fitted around; each
night re-tests a new model on such a window, and a 1–2 % per-night false promotion compounds into several
false champions a year — and a null champion is easy for later challengers to "not be worse than". So a
model that passes the offline checks is only a **challenger**: served in shadow beside the champion (the
evaluate function stores its probability on every decision it scored; no gate reads it), and promoted only
when the decisions made *after it was trained* — rows no fold could have seen — show it better than what
gates today (the champion, or the prior when there is none) on the **same decisions**:

- the paired AUC difference (challenger − incumbent) on the forward decisions with a known outcome, its
  standard error from a circular block bootstrap (blocks of one outcome window, as offline), giving
  ``z = difference / se``;
- the paired P&L of what each would have kept at the mode's deployed ``meta_label_threshold``:
  ``mean_i pnl_i · (1{p_challenger,i > t_i} − 1{p_incumbent,i > t_i})`` in bps per decision, with its interval.

**The sequential test: Bonferroni alpha spending over calendar looks.** Every night each live challenger
is looked at once, and at most ``max_live`` challengers live at a time, so a year holds at most
``365 · max_live`` looks. Each look spends ``α_look = α_year / (365 · max_live)`` (one-sided): promotion needs
``z ≥ z_crit = Φ⁻¹(1 − α_look)`` (3.81 for α_year = 0.05 and two challengers). By the union bound the expected
number of false promotions in a year is at most ``α_year`` whatever the correlation between looks, however
many challengers come and go, and however long each lives. A mixture SPRT would spend less per look on a
long-lived challenger but needs a sum of independent increments, which a paired AUC on overlapping outcome
windows is not; the union bound needs nothing. Promotion also needs the kept-P&L difference not below 0
(a stricter rule cannot raise the false-promotion rate).

A challenger is **retired** when it expires (``max_nights`` looks without promotion), or fails: its AUC
difference interval lies entirely below 0 (worse than what gates today). Everything here is pure: the
nightly job and the in-process backtest call the same functions and persist the outcome themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from huracan.core.bars import FloatArray, IntArray
from huracan.learning.evaluate import BootstrapPlan, Estimate, _auc_stat, _mean_stat, block_length

__all__ = ["ForwardComparison", "ForwardRows", "ForwardRule", "ForwardVerdict", "compare_forward", "judge_forward"]

Action = Literal["promote", "keep", "retire"]


@dataclass(frozen=True, slots=True)
class ForwardRule:
    """The forward promotion rule's settings (see the module docstring)."""

    alpha_per_year: float = 0.05
    max_live: int = 2
    nights_per_year: int = 365
    #: looks (nights) a challenger is given before it expires
    max_nights: int = 30
    #: forward decisions with a known outcome before any look may promote, and of each class
    min_decisions: int = 100
    min_per_class: int = 15
    n_boot: int = 300
    level: float = 0.95

    @property
    def alpha_look(self) -> float:
        return self.alpha_per_year / (self.nights_per_year * self.max_live)

    @property
    def z_crit(self) -> float:
        return NormalDist().inv_cdf(1.0 - self.alpha_look)


@dataclass(frozen=True, slots=True)
class ForwardRows:
    """Forward decisions with a known outcome, each scored by the challenger and by what gated it."""

    y: FloatArray
    pnl_bps: FloatArray
    threshold: FloatArray
    incumbent_p: FloatArray
    challenger_p: FloatArray
    t_entry: IntArray
    modes: npt.NDArray[np.str_]

    def __post_init__(self) -> None:
        n = len(self.y)
        for name in ("pnl_bps", "threshold", "incumbent_p", "challenger_p", "t_entry", "modes"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"forward rows: {name} has {len(getattr(self, name))} values for {n} decisions")

    def __len__(self) -> int:
        return len(self.y)

    @staticmethod
    def build(
        y: Any, pnl_bps: Any, threshold: Any, incumbent_p: Any, challenger_p: Any, t_entry: Any, modes: Any
    ) -> ForwardRows:
        """Arrays in time order (sorted by ``t_entry``, stable)."""
        t = np.asarray(t_entry, dtype=np.int64)
        o = np.argsort(t, kind="stable")
        return ForwardRows(
            y=np.asarray(y, dtype=np.float64)[o],
            pnl_bps=np.asarray(pnl_bps, dtype=np.float64)[o],
            threshold=np.broadcast_to(np.asarray(threshold, dtype=np.float64), t.shape)[o],
            incumbent_p=np.asarray(incumbent_p, dtype=np.float64)[o],
            challenger_p=np.asarray(challenger_p, dtype=np.float64)[o],
            t_entry=t[o],
            modes=np.asarray(modes, dtype=np.str_)[o],
        )


@dataclass(frozen=True, slots=True)
class ForwardComparison:
    """Challenger vs incumbent on the same forward decisions, every figure with n and interval."""

    n: int
    n_wins: int
    challenger_auc: Estimate
    incumbent_auc: Estimate
    auc_diff: Estimate
    auc_diff_se: float
    z: float
    challenger_kept: int
    incumbent_kept: int
    challenger_pnl_kept_bps: Estimate
    incumbent_pnl_kept_bps: Estimate
    pnl_diff_bps: Estimate
    by_mode: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        a, b, d, p = self.challenger_auc, self.incumbent_auc, self.auc_diff, self.pnl_diff_bps
        return (
            f"on {self.n} forward decisions: AUC {a.value:.3f} [{a.lo:.3f}, {a.hi:.3f}] vs {b.value:.3f} "
            f"[{b.lo:.3f}, {b.hi:.3f}], difference {d.value:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}] (z {self.z:+.2f}); "
            f"kept P&L {p.value:+.2f} [{p.lo:+.2f}, {p.hi:+.2f}] bps per decision "
            f"({self.challenger_kept} vs {self.incumbent_kept} kept)"
        )


_NAN = Estimate(float("nan"), float("nan"), float("nan"), 0)


def _estimates_and_replicates(
    stats: Mapping[str, Any], n: int, plan: BootstrapPlan
) -> tuple[dict[str, Estimate], dict[str, FloatArray]]:
    """Point values, percentile intervals and the finite replicates (for a standard error), in one pass."""
    ones = np.ones((1, n))
    points = {k: float(f(ones)[0]) for k, f in stats.items()}
    points["d"] = points["c"] - points["i"]  # the paired AUC difference, from the same replicates
    chunks: dict[str, list[FloatArray]] = {k: [] for k in points}
    for w in plan.weights(n):
        for k, f in stats.items():
            chunks[k].append(f(w))
        chunks["d"].append(chunks["c"][-1] - chunks["i"][-1])
    alpha = (1.0 - plan.level) / 2.0
    est: dict[str, Estimate] = {}
    reps: dict[str, FloatArray] = {}
    for k, v in points.items():
        r = np.concatenate(chunks[k])
        r = r[np.isfinite(r)]
        reps[k] = r
        lo, hi = (float(np.quantile(r, alpha)), float(np.quantile(r, 1 - alpha))) if r.size else (np.nan, np.nan)
        est[k] = Estimate(value=v, lo=lo, hi=hi, n=n)
    return est, reps


def compare_forward(
    rows: ForwardRows, *, rule: ForwardRule | None = None, embargo_sec: int = 0, seed: int = 0
) -> ForwardComparison:
    """The paired comparison of the module docstring (bootstrap blocks of one ``embargo_sec`` outcome window)."""
    rule = rule or ForwardRule()
    n = len(rows)
    if n == 0:
        return ForwardComparison(0, 0, _NAN, _NAN, _NAN, float("nan"), float("nan"), 0, 0, _NAN, _NAN, _NAN, {})
    plan = BootstrapPlan(
        n_boot=rule.n_boot, block_len=block_length(rows.t_entry, embargo_sec), level=rule.level, seed=seed
    )
    y = rows.y
    kc = (rows.challenger_p > rows.threshold).astype(np.float64)
    ki = (rows.incumbent_p > rows.threshold).astype(np.float64)
    auc_c, auc_i = _auc_stat(rows.challenger_p, y), _auc_stat(rows.incumbent_p, y)
    stats = {
        "c": auc_c,
        "i": auc_i,
        "pc": _mean_stat(rows.pnl_bps * kc),
        "pi": _mean_stat(rows.pnl_bps * ki),
        "pd": _mean_stat(rows.pnl_bps * (kc - ki)),
    }
    e, reps = _estimates_and_replicates(stats, n, plan)
    se = float(np.std(reps["d"], ddof=1)) if reps["d"].size > 1 else float("nan")
    d = e["d"].value
    z = d / se if se > 0 and np.isfinite(d) else (float("inf") if d > 0 and se == 0 else float("nan"))
    by_mode: dict[str, dict[str, Any]] = {}
    for m in np.unique(rows.modes):
        sel = rows.modes == m
        by_mode[str(m)] = {
            "n": int(sel.sum()),
            "challenger_auc": _auc_stat(rows.challenger_p[sel], y[sel])(np.ones((1, int(sel.sum()))))[0].item(),
            "incumbent_auc": _auc_stat(rows.incumbent_p[sel], y[sel])(np.ones((1, int(sel.sum()))))[0].item(),
            "threshold": float(rows.threshold[sel][0]),
        }
    return ForwardComparison(
        n=n,
        n_wins=int(y.sum()),
        challenger_auc=e["c"],
        incumbent_auc=e["i"],
        auc_diff=e["d"],
        auc_diff_se=se,
        z=float(z),
        challenger_kept=int(kc.sum()),
        incumbent_kept=int(ki.sum()),
        challenger_pnl_kept_bps=e["pc"],
        incumbent_pnl_kept_bps=e["pi"],
        pnl_diff_bps=e["pd"],
        by_mode=by_mode,
    )


@dataclass(frozen=True, slots=True)
class ForwardVerdict:
    """What one night's look decides for one challenger, and why."""

    action: Action
    reasons: tuple[str, ...]
    nights: int
    z_crit: float
    alpha_look: float
    comparison: ForwardComparison

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return out


def judge_forward(comparison: ForwardComparison, *, nights: int, rule: ForwardRule | None = None) -> ForwardVerdict:
    """Promote, keep or retire after this night's look (``nights`` = looks so far, this one included)."""
    rule = rule or ForwardRule()
    c = comparison
    reasons: list[str] = []
    action: Action = "keep"

    def verdict() -> ForwardVerdict:
        return ForwardVerdict(action, tuple(reasons), nights, rule.z_crit, rule.alpha_look, c)

    n_loss = c.n - c.n_wins
    if c.n < rule.min_decisions or min(c.n_wins, n_loss) < rule.min_per_class:
        reasons.append(
            f"{c.n} forward decisions with an outcome ({c.n_wins} wins): fewer than {rule.min_decisions} "
            f"(or {rule.min_per_class} of a class) — no forward evidence yet"
        )
    else:
        reasons.append(c.text())
        if np.isfinite(c.auc_diff.hi) and c.auc_diff.hi < 0:
            action = "retire"
            reasons.append("failed: worse than what gates today on the same forward decisions")
            return verdict()
        if c.z >= rule.z_crit and c.pnl_diff_bps.value >= 0:
            action = "promote"
            reasons.append(
                f"promoted: z {c.z:.2f} ≥ {rule.z_crit:.2f} (α {rule.alpha_look:.1e} this look; "
                f"≤ {rule.alpha_per_year} false promotions a year) and kept P&L not worse"
            )
            return verdict()
        if c.z >= rule.z_crit:
            reasons.append("AUC better but the P&L it would keep at the mode's threshold is worse: not promoted")
        else:
            reasons.append(f"z {c.z:.2f} < {rule.z_crit:.2f}: not yet enough forward evidence")
    if nights >= rule.max_nights:
        action = "retire"
        reasons.append(f"expired: {nights} nights without forward evidence enough to promote")
    return verdict()


def thresholds_for(modes: npt.NDArray[np.str_], by_mode: Mapping[str, float], default: float) -> FloatArray:
    """Each decision's gate threshold: its mode's deployed ``meta_label_threshold``."""
    out = np.full(len(modes), default, dtype=np.float64)
    for m, t in by_mode.items():
        out[modes == m] = t
    return out
