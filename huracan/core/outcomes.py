"""From a barrier exit to the shadow trade's outcome columns (seed names): P&L, WIN/LOSS/BREAKEVEN, and
whether the model's prediction was right.

Definitions (the daily report, training labels and Hamilton feedback all read them the same way):

- ``shadow_pnl_bps`` is the *gross* move from entry to exit in the trade's direction (the seed's column;
  +13 bps for its TP example).
- ``shadow_pnl_net_bps = shadow_pnl_bps - 2 * fee_bps_per_side - spread_bps``: fees on entry and exit,
  and half the spread paid crossing it on each side (the spread at entry, the best estimate we have of
  the exit's). A shadow trade must pay what a real one would, or paper wins would be real losses.
- ``actual_outcome`` is judged on the NET P&L: ``WIN`` if ``net > band``, ``LOSS`` if ``net < -band``,
  ``BREAKEVEN`` if ``|net| <= band`` with ``band = breakeven_band_bps`` (inside the error of the cost model
  a sign is noise). A trade whose path is missing is ``NO_DATA``: it has no outcome, not a guessed one.
- ``prediction_correct = (predicted_win_prob > threshold) == (actual_outcome == "WIN")``: the model
  "predicted a win" exactly when its gate would pass the signal (strict ``>``, as the meta-label gate);
  a BREAKEVEN counts as "not a win", so predicting a win and breaking even is wrong. It is None when the
  outcome is NO_DATA or there was no prediction.

Plain floats in, so this module does not depend on how costs are modelled elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from huracan.core.barriers import REASON_NO_DATA, LabelArrays, Touch
from huracan.core.bars import FloatArray

__all__ = [
    "OUTCOMES",
    "OUTCOME_BREAKEVEN",
    "OUTCOME_LOSS",
    "OUTCOME_NO_DATA",
    "OUTCOME_WIN",
    "ActualOutcome",
    "OutcomeArrays",
    "ShadowOutcome",
    "actual_outcome",
    "outcome_arrays",
    "prediction_correct",
    "shadow_outcome",
    "shadow_pnl_bps",
    "shadow_pnl_net_bps",
    "simulated_fee_gbp",
]

ActualOutcome = Literal["WIN", "LOSS", "BREAKEVEN", "NO_DATA"]

#: Codes used in :class:`OutcomeArrays` ``outcome``; ``OUTCOMES[code]`` is the name.
OUTCOME_WIN: Final = 0
OUTCOME_LOSS: Final = 1
OUTCOME_BREAKEVEN: Final = 2
OUTCOME_NO_DATA: Final = 3
OUTCOMES: Final[tuple[ActualOutcome, ...]] = ("WIN", "LOSS", "BREAKEVEN", "NO_DATA")

_BPS: Final = 10_000.0


def _check_costs(fee_bps_per_side: float, spread_bps: float, breakeven_band_bps: float) -> None:
    for name, value in (
        ("fee_bps_per_side", fee_bps_per_side),
        ("spread_bps", spread_bps),
        ("breakeven_band_bps", breakeven_band_bps),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")


def shadow_pnl_bps(touch: Touch) -> float | None:
    """Gross P&L of the exit (None for NO_DATA)."""
    return touch.gross_pnl_bps


def shadow_pnl_net_bps(gross_bps: float, fee_bps_per_side: float, spread_bps: float) -> float:
    """Net P&L after simulated fees (both sides) and spread crossing (half on each side)."""
    return gross_bps - 2.0 * fee_bps_per_side - spread_bps


def actual_outcome(net_bps: float | None, breakeven_band_bps: float) -> ActualOutcome:
    """WIN / LOSS beyond the band, BREAKEVEN inside it (inclusive), NO_DATA without a P&L."""
    if net_bps is None or math.isnan(net_bps):
        return "NO_DATA"
    if net_bps > breakeven_band_bps:
        return "WIN"
    if net_bps < -breakeven_band_bps:
        return "LOSS"
    return "BREAKEVEN"


def prediction_correct(predicted_win_prob: float | None, threshold: float, outcome: ActualOutcome) -> bool | None:
    """Did "prob > threshold" (a predicted win) match "outcome is WIN"? None without both."""
    if outcome == "NO_DATA" or predicted_win_prob is None or math.isnan(predicted_win_prob):
        return None
    return (predicted_win_prob > threshold) == (outcome == "WIN")


def simulated_fee_gbp(size_gbp: float, fee_bps_per_side: float) -> float:
    """Round-trip fee on the simulated size (seed: £100 at 5 bps a side is £0.10)."""
    return size_gbp * 2.0 * fee_bps_per_side / _BPS


@dataclass(frozen=True, slots=True)
class ShadowOutcome:
    """The outcome columns of a closed shadow trade (seed names); P&L fields are None for NO_DATA."""

    exit_reason: str
    exit_price: float | None
    exit_ts: int | None
    duration_sec: int | None
    shadow_pnl_bps: float | None
    shadow_pnl_net_bps: float | None
    actual_outcome: ActualOutcome
    prediction_correct: bool | None
    reason: str


def shadow_outcome(
    touch: Touch,
    *,
    fee_bps_per_side: float,
    spread_bps: float,
    breakeven_band_bps: float,
    predicted_win_prob: float | None = None,
    threshold: float = 0.5,
) -> ShadowOutcome:
    """Everything the resolver writes when it closes a trade, from the exit and the cost inputs."""
    _check_costs(fee_bps_per_side, spread_bps, breakeven_band_bps)
    gross = shadow_pnl_bps(touch)
    net = None if gross is None else shadow_pnl_net_bps(gross, fee_bps_per_side, spread_bps)
    outcome = actual_outcome(net, breakeven_band_bps)
    return ShadowOutcome(
        exit_reason=touch.exit_reason,
        exit_price=touch.exit_price,
        exit_ts=touch.exit_ts,
        duration_sec=touch.duration_sec,
        shadow_pnl_bps=gross,
        shadow_pnl_net_bps=net,
        actual_outcome=outcome,
        prediction_correct=prediction_correct(predicted_win_prob, threshold, outcome),
        reason=touch.reason,
    )


@dataclass(frozen=True, slots=True)
class OutcomeArrays:
    """Column form of many outcomes. ``prediction_correct`` is 1 / 0, or -1 where it is undefined."""

    shadow_pnl_bps: FloatArray
    shadow_pnl_net_bps: FloatArray
    outcome: npt.NDArray[np.int8]
    prediction_correct: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.outcome)

    def names(self) -> list[ActualOutcome]:
        return [OUTCOMES[int(c)] for c in self.outcome]


def _vec(value: float | npt.ArrayLike, m: int, name: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(m, float(arr))
    if arr.shape != (m,):
        raise ValueError(f"{name} has shape {arr.shape}, expected ({m},) or a scalar")
    return arr


def outcome_arrays(
    labels: LabelArrays,
    *,
    fee_bps_per_side: float | npt.ArrayLike,
    spread_bps: float | npt.ArrayLike,
    breakeven_band_bps: float,
    predicted_win_prob: npt.ArrayLike | None = None,
    threshold: float | npt.ArrayLike = 0.5,
) -> OutcomeArrays:
    """Vectorized :func:`shadow_outcome` (same arithmetic, so the same floats) for labelled events."""
    m = len(labels)
    fee = _vec(fee_bps_per_side, m, "fee_bps_per_side")
    spread = _vec(spread_bps, m, "spread_bps")
    if not (bool(np.all(np.isfinite(fee) & (fee >= 0))) and bool(np.all(np.isfinite(spread) & (spread >= 0)))):
        raise ValueError("fee_bps_per_side and spread_bps must be finite numbers >= 0")
    _check_costs(0.0, 0.0, breakeven_band_bps)
    gross = labels.gross_pnl_bps
    net = gross - 2.0 * fee - spread
    no_data = (labels.reason == REASON_NO_DATA) | np.isnan(net)
    outcome = np.full(m, OUTCOME_BREAKEVEN, dtype=np.int8)
    outcome[net > breakeven_band_bps] = OUTCOME_WIN
    outcome[net < -breakeven_band_bps] = OUTCOME_LOSS
    outcome[no_data] = OUTCOME_NO_DATA
    net = np.where(no_data, np.nan, net)
    correct = np.full(m, -1, dtype=np.int8)
    if predicted_win_prob is not None:
        prob = _vec(predicted_win_prob, m, "predicted_win_prob")
        thr = _vec(threshold, m, "threshold")
        defined = ~no_data & ~np.isnan(prob)
        right = (prob > thr) == (outcome == OUTCOME_WIN)
        correct[defined] = right[defined].astype(np.int8)
    return OutcomeArrays(
        shadow_pnl_bps=np.where(no_data, np.nan, gross),
        shadow_pnl_net_bps=net,
        outcome=outcome,
        prediction_correct=correct,
    )
