"""What a shadow trade would have cost: fees, slippage and the simulated GBP amounts.

The engine never trades, so costs are a model, and a conservative one: a taker pays ``fee_bps_per_side``
on entry and on exit and crosses half the spread each way, so a round trip costs ``2·fee + spread`` bps.
Amounts use the seed's ``shadow_trades`` names (``simulated_size_gbp``, ``simulated_fee_gbp``); the seed's
£100 at 5 bps a side gives its "Fee: £0.10". A spread that is unknown (NaN: no quotes and not enough bars
for the estimator) is replaced by ``default_spread_bps`` rather than treated as free.

Methods that take a spread accept a float or an array, so the gates' batch path uses the same arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, overload

import numpy as np

from huracan.core.bars import FloatArray
from huracan.core.config import CostConfig

__all__ = ["BPS", "CostModel", "Outcome"]

BPS = 1e4
Outcome = Literal["WIN", "LOSS", "BREAKEVEN"]


def _side_sign(side: str) -> float:
    if side == "long":
        return 1.0
    if side == "short":
        return -1.0
    raise ValueError(f"side must be 'long' or 'short', got {side!r}")


@dataclass(frozen=True, slots=True)
class CostModel:
    """Costs of one simulated position of ``size_gbp``, from the settings file's ``costs`` table."""

    config: CostConfig

    @property
    def fee_bps_per_side(self) -> float:
        return self.config.fee_bps_per_side

    @property
    def simulated_size_gbp(self) -> float:
        return self.config.size_gbp

    @property
    def simulated_fee_gbp(self) -> float:
        """Fees of a round trip in GBP (entry + exit), as stored on every shadow trade."""
        return self.config.size_gbp * 2.0 * self.config.fee_bps_per_side / BPS

    @overload
    def effective_spread_bps(self, spread_bps: float) -> float: ...
    @overload
    def effective_spread_bps(self, spread_bps: FloatArray) -> FloatArray: ...
    def effective_spread_bps(self, spread_bps: float | FloatArray) -> float | FloatArray:
        """The spread to charge: the measured one, or the configured default where it is unknown."""
        if isinstance(spread_bps, np.ndarray):
            return np.where(np.isnan(spread_bps), self.config.default_spread_bps, np.maximum(spread_bps, 0.0))
        s = float(spread_bps)
        return self.config.default_spread_bps if s != s else max(s, 0.0)

    @overload
    def slippage_bps(self, spread_bps: float) -> float: ...
    @overload
    def slippage_bps(self, spread_bps: FloatArray) -> FloatArray: ...
    def slippage_bps(self, spread_bps: float | FloatArray) -> float | FloatArray:
        """Slippage per side: half the spread (a taker crosses from mid to the far side)."""
        return self.effective_spread_bps(spread_bps) * 0.5

    @overload
    def round_trip_cost_bps(self, spread_bps: float) -> float: ...
    @overload
    def round_trip_cost_bps(self, spread_bps: FloatArray) -> FloatArray: ...
    def round_trip_cost_bps(self, spread_bps: float | FloatArray) -> float | FloatArray:
        """Fees on both sides plus the full spread (half on entry, half on exit)."""
        return 2.0 * self.config.fee_bps_per_side + self.effective_spread_bps(spread_bps)

    def entry_fill_price(self, price: float, side: str, spread_bps: float) -> float:
        """Where a taker's entry fills: above mid for a long, below for a short."""
        return price * (1.0 + _side_sign(side) * self.slippage_bps(spread_bps) / BPS)

    def exit_fill_price(self, price: float, side: str, spread_bps: float) -> float:
        """Where a taker's exit fills: a long sells below mid, a short buys back above."""
        return price * (1.0 - _side_sign(side) * self.slippage_bps(spread_bps) / BPS)

    def net_pnl_bps(self, gross_bps: float, spread_bps: float) -> float:
        """Gross move in the trade's favour (mid to mid) minus the round-trip cost."""
        return gross_bps - self.round_trip_cost_bps(spread_bps)

    def pnl_gbp(self, net_bps: float) -> float:
        """Net P&L of the simulated position in GBP."""
        return self.config.size_gbp * net_bps / BPS

    def outcome(self, net_bps: float) -> Outcome:
        """WIN / LOSS / BREAKEVEN; inside the breakeven band the cost model's own error decides, so neither."""
        if net_bps != net_bps:
            raise ValueError("net P&L is NaN")
        if abs(net_bps) <= self.config.breakeven_band_bps:
            return "BREAKEVEN"
        return "WIN" if net_bps > 0 else "LOSS"
