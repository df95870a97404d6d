"""The readiness verdict: publish a challenger only when the evidence says it is real, calibrated and no worse.

Each check is data (name, passed, value, threshold, detail), so the report prints the reasons, the
registry stores them with a rejected candidate, and a test can assert on one check without parsing text.

Blocking checks (all must pass):

1. ``samples`` — at least ``min_samples`` labelled rows (seed: 1,000).
2. ``edge_lift`` — the out-of-sample AUC beats the mechanical cost baseline (:mod:`.baseline`) on the same
   test rows: the paired interval of the lift (model AUC − baseline AUC, all modes pooled) lies above 0.
   An AUC above 0.5 is not enough: the label's own cost arithmetic gives one (seed scalps cannot win when
   the spread estimate is 2 bps or more). The AUC interval must also lie above 0.5: a baseline that ranks
   the test rows worse than chance (0.48 on the real month's demo-profile test window) would otherwise turn
   noise into "lift". Without a baseline (a caller that passes none) the older check
   ``edge_auc`` (AUC interval above 0.5) stands in.
3. ``edge_pnl`` — the gate adds money net of costs: mean net P&L of kept trades (each at its mode's deployed
   ``meta_label_threshold``) minus that of all signals has its interval above 0, with at least ``min_gate_rows`` signals both kept and blocked. A gate that
   blocked 5 of 1,000 signals has not shown anything, yet 5 losers in a row make a percentile bootstrap
   interval look decisive (seen in the null runs of the power benchmark); 30 rows is where a mean's interval
   starts to mean what it says.
4. ``calibrated`` — the bias-corrected ECE (:mod:`.evaluate`) at most ``ece_limit`` = **0.05** at every n.
   The old limit, ``max(0.03, plug-in noise floor)``, was 0.04–0.11 at the nightly 200–550 test rows and
   barely bound. Measured on simulated perfectly calibrated predictions (40 draws each), the corrected ECE's
   median is 0.039 / 0.033 / 0.027 / 0.016 at n = 300 / 500 / 1,000 / 2,000, and a systematic 0.05 shift
   reads 0.056 / 0.053 / 0.050 / 0.043: 0.05 fails about half of such shifted models at nightly sizes and
   more as n grows, while failing a calibrated one mostly at n ≤ 500 (about 1 in 5 there).
5. ``vs_champion`` (only when the champion's predictions on the same test rows are given) — the AUC
   difference is not below ``-champion_auc_tolerance`` and its interval is not entirely below 0, and the
   Brier score is not worse by more than ``champion_brier_tolerance``.

Informational (reported, not blocking): ``stability`` — share of gain importance that moved against the
champion, seed target < 30 %; a fresh edge in a new regime may legitimately move importance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from huracan.learning.baseline import ModeLift
from huracan.learning.evaluate import Estimate, OOSMetrics

__all__ = ["Check", "ReadinessPolicy", "Verdict", "readiness_verdict"]


def _against_half(a: Estimate) -> str:
    """Where an AUC interval that is not above 0.5 lies: across it, or wholly below (a model ranking worse
    than chance is no edge either, but saying it "includes 0.5" would be false)."""
    return "includes 0.5" if a.hi >= 0.5 else "lies below 0.5"


def _auc_text(a: Estimate) -> str:
    """``0.563 [0.468, 0.654]``; a model whose every prediction is the same has AUC 0.5 with no spread at all,
    which reads like certainty ("0.500 [0.500, 0.500]") and is the absence of any ranking: say that instead."""
    if a.lo == a.hi == a.value:
        return f"{a.value:.3f}, every prediction the same: no ranking"
    return f"{a.value:.3f} [{a.lo:.3f}, {a.hi:.3f}]"


@dataclass(frozen=True, slots=True)
class ReadinessPolicy:
    """Thresholds of the verdict (engine settings; defaults are the seed's and the issue's)."""

    min_samples: int = 1000
    ece_target: float = 0.03
    #: the limit on the bias-corrected ECE (see the module docstring for why 0.05 and what it binds)
    ece_limit: float = 0.05
    champion_auc_tolerance: float = 0.005
    champion_brier_tolerance: float = 0.002
    min_gate_rows: int = 30
    stability_target: float = 0.30


@dataclass(frozen=True, slots=True)
class Check:
    """One reason of the verdict."""

    name: str
    passed: bool
    value: float | None
    threshold: float | None
    detail: str
    blocking: bool = True


@dataclass(frozen=True, slots=True)
class Verdict:
    """Ready or not, with every check and a one-line summary that says plainly what was found."""

    ready: bool
    checks: tuple[Check, ...]
    summary: str

    @property
    def reasons(self) -> list[str]:
        """Details of the failed blocking checks (empty when ready)."""
        return [c.detail for c in self.checks if c.blocking and not c.passed]

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)


def readiness_verdict(
    metrics: OOSMetrics,
    *,
    n_samples: int,
    policy: ReadinessPolicy,
    importance_change: float | None = None,
    lift: ModeLift | None = None,
    lift_by_mode: Mapping[str, ModeLift] | None = None,
) -> Verdict:
    """Apply the checks of the module docstring to the out-of-sample metrics.

    ``lift`` is the pooled lift over the cost baseline (the blocking ``edge_lift`` check); ``lift_by_mode``
    only adds each mode's figures to its detail.
    """
    m = metrics
    checks: list[Check] = []
    checks.append(
        Check(
            "samples",
            n_samples >= policy.min_samples,
            float(n_samples),
            float(policy.min_samples),
            f"{n_samples} labelled samples (minimum {policy.min_samples})",
        )
    )
    a = m.auc
    if lift is not None:
        d = lift.lift
        per_mode = "; ".join(f"{k}: {v.text()}" for k, v in (lift_by_mode or {}).items() if k != "all")
        lift_ok = bool(d.lo > 0 and a.lo > 0.5)
        checks.append(
            Check(
                "edge_lift",
                lift_ok,
                d.lo,
                0.0,
                f"OOS {lift.text()}: "
                + (
                    "lift interval above 0 and AUC interval above 0.5"
                    if lift_ok
                    else (
                        "lift interval includes 0 (no evidence of an edge beyond the cost arithmetic)"
                        if d.lo <= 0
                        else f"AUC interval {_against_half(a)} (the baseline ranks worse than chance: no evidence of an edge)"
                    )
                )
                + (f"; per mode: {per_mode}" if per_mode else ""),
            )
        )
    else:
        checks.append(
            Check(
                "edge_auc",
                bool(a.lo > 0.5),
                a.lo,
                0.5,
                f"OOS AUC {_auc_text(a)} on n={a.n}: "
                + ("interval above 0.5" if a.lo > 0.5 else f"interval {_against_half(a)} (no evidence of an edge)"),
            )
        )
    d = m.pnl_kept_minus_all_bps
    blocked = m.auc.n - m.trades_kept
    enough = min(m.trades_kept, blocked) >= policy.min_gate_rows
    pnl_ok = enough and bool(d.lo > 0)
    checks.append(
        Check(
            "edge_pnl",
            pnl_ok,
            d.lo,
            0.0,
            f"kept {m.trades_kept}/{m.auc.n} at {m.threshold_text}: "
            + (
                f"net {m.pnl_kept_bps.value:+.2f} bps vs all {m.pnl_all_bps.value:+.2f} bps, "
                f"difference {d.value:+.2f} [{d.lo:+.2f}, {d.hi:+.2f}] bps"
                if math.isfinite(d.value) and math.isfinite(d.lo) and math.isfinite(d.hi)
                else f"net of all {m.pnl_all_bps.value:+.2f} bps; nothing kept (or nothing blocked) to compare it with"
            )
            + (
                ""
                if pnl_ok
                else (
                    " (does not beat taking every signal)"
                    if enough
                    else f" (fewer than {policy.min_gate_rows} signals kept or blocked: the gate's value is unmeasured)"
                )
            ),
        )
    )
    limit = policy.ece_limit
    e = m.ece
    plugin = "" if m.ece_plugin is None else f"; plug-in {m.ece_plugin:.4f}, its 95 % noise floor {m.ece_floor:.4f}"
    checks.append(
        Check(
            "calibrated",
            bool(e.value <= limit),
            e.value,
            limit,
            f"ECE {e.value:.4f} [{e.lo:.4f}, {e.hi:.4f}] (bias-corrected, {m.ece_binning}, n={e.n}{plugin}) "
            f"vs limit {limit:.2f}",
        )
    )
    if m.auc_minus_champion is not None and m.brier_minus_champion is not None and m.champion_auc is not None:
        da, db = m.auc_minus_champion, m.brier_minus_champion
        ok = da.value >= -policy.champion_auc_tolerance and da.hi >= 0 and db.value <= policy.champion_brier_tolerance
        checks.append(
            Check(
                "vs_champion",
                bool(ok),
                da.value,
                -policy.champion_auc_tolerance,
                f"AUC {a.value:.3f} vs champion {m.champion_auc.value:.3f} on the same rows: "
                f"difference {da.value:+.4f} [{da.lo:+.4f}, {da.hi:+.4f}], Brier difference {db.value:+.5f}"
                + ("" if ok else " (worse than the champion)"),
            )
        )
    if importance_change is not None:
        checks.append(
            Check(
                "stability",
                importance_change < policy.stability_target,
                importance_change,
                policy.stability_target,
                f"{importance_change:.0%} of gain importance moved vs the champion (target < "
                f"{policy.stability_target:.0%})",
                blocking=False,
            )
        )
    ready = all(c.passed for c in checks if c.blocking)
    by = {c.name: c for c in checks}
    if ready:
        beside = "" if lift is None else f" vs cost baseline {lift.baseline_auc.value:.3f}, lift {lift.lift.value:+.3f}"
        summary = f"READY: edge found, OOS AUC {a.value:.3f} [{a.lo:.3f}, {a.hi:.3f}]{beside}, ECE {m.ece.value:.4f}"
    elif "edge_lift" in by and not by["edge_lift"].passed and lift is not None:
        d = lift.lift
        summary = (
            f"NOT READY: no edge found beyond the cost arithmetic (AUC {a.value:.3f} vs baseline "
            f"{lift.baseline_auc.value:.3f}, lift {d.value:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}], "
            f"AUC interval [{a.lo:.3f}, {a.hi:.3f}])"
        )
    elif "edge_auc" in by and not by["edge_auc"].passed:
        spread = "" if a.lo == a.hi == a.value else f" {_against_half(a)}"
        summary = f"NOT READY: no edge found (OOS AUC {_auc_text(a)}{spread})"
    else:
        failed = ", ".join(c.name for c in checks if c.blocking and not c.passed)
        summary = f"NOT READY: failed {failed}"
    return Verdict(ready=ready, checks=tuple(checks), summary=summary)
