"""Counterfactual outcomes of blocked signals and the seed's "Gate Performance" figures.

Every blocked signal is resolved as if it had been traded, with the same barriers and costs as a shadow
trade (:func:`counterfactual_outcomes`), so a gate can be judged by what it kept us out of:

- a block of a signal whose counterfactual outcome is LOSS is a *good block* (blocked a loser),
  of a WIN a *bad block* (blocked a winner); BREAKEVEN and NO_DATA are counted apart and are in neither;
- ``precision = good / (good + bad)``, None when a gate has no good or bad blocks.

Several gates often block the same signal. To keep the credit honest three attributions are reported:
``any`` (each blocking gate gets the whole signal: generous, sums exceed the number of signals),
``sole`` (only signals that gate alone blocked: what the gate adds on its own), and ``share`` (each of
the ``k`` blocking gates gets ``1/k``: the shares sum to the number of blocked signals).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from huracan.core.barriers import Barriers, label_events
from huracan.core.bars import BarArrays
from huracan.core.outcomes import OUTCOMES, OutcomeArrays, outcome_arrays

__all__ = [
    "GatePerformance",
    "GateReport",
    "GateStats",
    "PassStats",
    "ShareStats",
    "SignalOutcome",
    "counterfactual_outcomes",
    "gate_performance",
]

#: One signal as the statistics need it: the gates that blocked it (empty = passed), its (counterfactual)
#: outcome name, and its net P&L in bps (None / NaN for NO_DATA).
SignalOutcome = tuple[Sequence[str], str, float | None]


@dataclass(frozen=True, slots=True)
class GateStats:
    """Whole-signal counts of one gate's blocks (attribution ``any`` or ``sole``)."""

    n_blocked: int
    good: int
    bad: int
    breakeven: int
    no_data: int
    precision: float | None
    mean_net_pnl_bps: float | None


@dataclass(frozen=True, slots=True)
class ShareStats:
    """Like :class:`GateStats` with each signal weighted ``1/k`` among its ``k`` blocking gates."""

    n_blocked: float
    good: float
    bad: float
    breakeven: float
    no_data: float
    precision: float | None
    mean_net_pnl_bps: float | None


@dataclass(frozen=True, slots=True)
class GateReport:
    gate: str
    any: GateStats
    sole: GateStats
    share: ShareStats


@dataclass(frozen=True, slots=True)
class PassStats:
    """Signals that passed every gate. ``win_rate = wins / (wins + losses + breakeven)`` (NO_DATA left out)."""

    n_passed: int
    wins: int
    losses: int
    breakeven: int
    no_data: int
    win_rate: float | None
    mean_net_pnl_bps: float | None


@dataclass(frozen=True, slots=True)
class GatePerformance:
    """Per-gate reports (sorted by gate name), all blocked signals together, and the passed side."""

    gates: tuple[GateReport, ...]
    blocked: GateStats
    passed: PassStats

    def gate(self, name: str) -> GateReport:
        for g in self.gates:
            if g.gate == name:
                return g
        raise KeyError(name)


class _Tally:
    """Weighted counts; whole weights give the ``any``/``sole`` figures, ``1/k`` the ``share`` ones."""

    def __init__(self) -> None:
        self.n = 0.0
        self.by_outcome: dict[str, float] = dict.fromkeys(OUTCOMES, 0.0)
        self.pnl_sum = 0.0
        self.pnl_weight = 0.0

    def add(self, outcome: str, net: float | None, weight: float) -> None:
        self.n += weight
        self.by_outcome[outcome] += weight
        if outcome != "NO_DATA" and net is not None and not math.isnan(net):
            self.pnl_sum += weight * net
            self.pnl_weight += weight

    @property
    def precision(self) -> float | None:
        good, bad = self.by_outcome["LOSS"], self.by_outcome["WIN"]
        return good / (good + bad) if good + bad > 0 else None

    @property
    def mean(self) -> float | None:
        return self.pnl_sum / self.pnl_weight if self.pnl_weight > 0 else None

    def whole(self) -> GateStats:
        o = self.by_outcome
        return GateStats(
            int(self.n),
            int(o["LOSS"]),
            int(o["WIN"]),
            int(o["BREAKEVEN"]),
            int(o["NO_DATA"]),
            self.precision,
            self.mean,
        )

    def shares(self) -> ShareStats:
        o = self.by_outcome
        return ShareStats(self.n, o["LOSS"], o["WIN"], o["BREAKEVEN"], o["NO_DATA"], self.precision, self.mean)


def gate_performance(signals: Iterable[SignalOutcome], gates: Sequence[str] = ()) -> GatePerformance:
    """Good/bad blocks per gate and the passed signals' results, from ``(blocked_by, outcome, net_bps)``.

    ``gates`` lists gates to report even when they blocked nothing (so a too-loose gate shows up as zero).
    A gate named twice for one signal counts once.
    """
    any_t: dict[str, _Tally] = {g: _Tally() for g in gates}
    sole_t: dict[str, _Tally] = {g: _Tally() for g in gates}
    share_t: dict[str, _Tally] = {g: _Tally() for g in gates}
    blocked = _Tally()
    passed = _Tally()
    for blocked_by, outcome, net in signals:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r} (expected one of {OUTCOMES})")
        by = tuple(dict.fromkeys(blocked_by))
        if not by:
            passed.add(outcome, net, 1.0)
            continue
        blocked.add(outcome, net, 1.0)
        for g in by:
            for table in (any_t, sole_t, share_t):
                table.setdefault(g, _Tally())
            any_t[g].add(outcome, net, 1.0)
            share_t[g].add(outcome, net, 1.0 / len(by))
        if len(by) == 1:
            sole_t[by[0]].add(outcome, net, 1.0)
    reports = tuple(
        GateReport(gate=g, any=any_t[g].whole(), sole=sole_t[g].whole(), share=share_t[g].shares())
        for g in sorted(any_t)
    )
    o = passed.by_outcome
    resolved = o["WIN"] + o["LOSS"] + o["BREAKEVEN"]
    pass_stats = PassStats(
        n_passed=int(passed.n),
        wins=int(o["WIN"]),
        losses=int(o["LOSS"]),
        breakeven=int(o["BREAKEVEN"]),
        no_data=int(o["NO_DATA"]),
        win_rate=o["WIN"] / resolved if resolved > 0 else None,
        mean_net_pnl_bps=passed.mean,
    )
    return GatePerformance(gates=reports, blocked=blocked.whole(), passed=pass_stats)


def counterfactual_outcomes(
    bars: BarArrays,
    entry_ts: npt.ArrayLike,
    side: npt.ArrayLike,
    entry_price: npt.ArrayLike,
    barriers: Barriers,
    *,
    fee_bps_per_side: float,
    spread_bps: float | npt.ArrayLike,
    breakeven_band_bps: float,
    bar_sec: int = 60,
) -> OutcomeArrays:
    """The outcome each signal would have had as a shadow trade: the resolver's barriers and costs.

    ``entry_ts`` is the signal's ``ts`` (epoch seconds); its path starts at the first bar at or after it,
    and a missing bar there makes the outcome NO_DATA, exactly as in the resolver.
    """
    t0 = np.asarray(entry_ts, dtype=np.int64).reshape(-1)
    idx = np.searchsorted(bars.ts, t0, side="left")
    labels = label_events(
        bars,
        idx,
        side,
        entry_price,
        barriers.tp_bps,
        barriers.sl_bps,
        barriers.timeout_sec,
        bar_sec=bar_sec,
        entry_ts=t0,
    )
    return outcome_arrays(
        labels, fee_bps_per_side=fee_bps_per_side, spread_bps=spread_bps, breakeven_band_bps=breakeven_band_bps
    )
