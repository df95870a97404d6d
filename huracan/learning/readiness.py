"""The readiness verdict: publish a challenger only when the evidence says it is real, calibrated and no worse.

Each check is data (name, passed, value, threshold, detail), so the report prints the reasons, the
registry stores them with a rejected candidate, and a test can assert on one check without parsing text.

Blocking checks (all must pass):

1. ``samples`` — at least ``min_samples`` labelled rows (seed: 1,000).
2. ``edge_auc`` — the out-of-sample AUC interval lies above 0.5 (lower bound > 0.5).
3. ``edge_pnl`` — the gate adds money net of costs: mean net P&L of kept trades minus that of all signals
   has its interval above 0, with at least ``min_gate_rows`` signals both kept and blocked. A gate that
   blocked 5 of 1,000 signals has not shown anything, yet 5 losers in a row make a percentile bootstrap
   interval look decisive (seen in the null runs of the power benchmark); 30 rows is where a mean's interval
   starts to mean what it says.
4. ``calibrated`` — ECE at most ``max(ece_target, noise floor)``: the floor is the ECE a perfectly
   calibrated model would exceed only 5 % of the time at this n and binning, so a small test window does not
   fail a good model on binning noise alone (with thousands of rows the floor is below the target).
5. ``vs_champion`` (only when the champion's predictions on the same test rows are given) — the AUC
   difference is not below ``-champion_auc_tolerance`` and its interval is not entirely below 0, and the
   Brier score is not worse by more than ``champion_brier_tolerance``.

Informational (reported, not blocking): ``stability`` — share of gain importance that moved against the
champion, seed target < 30 %; a fresh edge in a new regime may legitimately move importance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from huracan.learning.evaluate import Estimate, OOSMetrics

__all__ = ["Check", "ReadinessPolicy", "Verdict", "readiness_verdict"]


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
) -> Verdict:
    """Apply the checks of the module docstring to the out-of-sample metrics."""
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
    checks.append(
        Check(
            "edge_auc",
            bool(a.lo > 0.5),
            a.lo,
            0.5,
            f"OOS AUC {_auc_text(a)} on n={a.n}: "
            + ("interval above 0.5" if a.lo > 0.5 else "interval includes 0.5 (no evidence of an edge)"),
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
            f"kept {m.trades_kept}/{m.auc.n} at p > {m.threshold:.2f}: "
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
    limit = max(policy.ece_target, m.ece_floor)
    checks.append(
        Check(
            "calibrated",
            bool(m.ece.value <= limit),
            m.ece.value,
            limit,
            f"ECE {m.ece.value:.4f} ({m.ece_binning}) vs limit {limit:.4f} "
            f"(target {policy.ece_target}, 95 % noise floor at n={m.ece.n}: {m.ece_floor:.4f})",
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
        summary = f"READY: edge found, OOS AUC {a.value:.3f} [{a.lo:.3f}, {a.hi:.3f}], ECE {m.ece.value:.4f}"
    elif not by["edge_auc"].passed:
        spread = "" if a.lo == a.hi == a.value else " includes 0.5"
        summary = f"NOT READY: no edge found (OOS AUC {_auc_text(a)}{spread})"
    else:
        failed = ", ".join(c.name for c in checks if c.blocking and not c.passed)
        summary = f"NOT READY: failed {failed}"
    return Verdict(ready=ready, checks=tuple(checks), summary=summary)
