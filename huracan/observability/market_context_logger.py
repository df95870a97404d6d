"""Market conditions during shadow trades (the seed's ``market_context_logger``).

A win rate means little without the market it was earned in: 80 % in a quiet trend and 80 % in a
volatile chop are different findings. This groups the day's resolved shadow trades by regime and by
symbol, and summarises the entry-time features that describe the market (spread, volatility, volume).
:func:`context_fields` gives the same facts for one trade as flat fields for a structured log line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from huracan.observability.records import ShadowTrade

__all__ = ["CONTEXT_FEATURES", "ContextGroup", "context_by", "context_fields", "market_context"]

#: Entry-time features that describe the market rather than the signal (names from core.features).
CONTEXT_FEATURES: Final[tuple[str, ...]] = ("spread_bps", "rv_60_bps", "atr_14_bps", "volume_ratio_60", "trend_eff_15")
_RESOLVED = ("WIN", "LOSS", "BREAKEVEN")


@dataclass(frozen=True, slots=True)
class ContextGroup:
    key: str
    trades: int
    resolved: int
    wins: int
    net_bps: float
    feature_means: dict[str, float]

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.resolved if self.resolved else None


def context_by(trades: Iterable[ShadowTrade], key: Callable[[ShadowTrade], str]) -> list[ContextGroup]:
    """Groups (sorted by key) with counts, win rate, net bps and mean context features at entry."""
    groups: dict[str, list[ShadowTrade]] = defaultdict(list)
    for t in trades:
        groups[key(t)].append(t)
    out = []
    for k, rows in sorted(groups.items()):
        resolved = [t for t in rows if t.status == "CLOSED" and t.actual_outcome in _RESOLVED]
        means: dict[str, float] = {}
        for f in CONTEXT_FEATURES:
            xs = [float(t.features[f]) for t in rows if f in t.features]
            if xs:
                means[f] = sum(xs) / len(xs)
        out.append(
            ContextGroup(
                key=k,
                trades=len(rows),
                resolved=len(resolved),
                wins=sum(1 for t in resolved if t.actual_outcome == "WIN"),
                net_bps=sum(t.shadow_pnl_net_bps or 0.0 for t in resolved),
                feature_means=means,
            )
        )
    return out


def market_context(trades: Sequence[ShadowTrade]) -> dict[str, list[ContextGroup]]:
    """The day's trades by regime and by symbol."""
    return {
        "regime": context_by(trades, lambda t: t.regime or "unknown"),
        "symbol": context_by(trades, lambda t: t.symbol),
    }


def context_fields(trade: ShadowTrade, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Flat fields for one log line: ids, regime, and the context features present at entry."""
    out: dict[str, Any] = {
        "shadow_id": trade.shadow_id,
        "signal_id": trade.signal_id,
        "model_id": trade.model_id,
        "symbol": trade.symbol,
        "mode": trade.mode,
        "regime": trade.regime,
    }
    out.update({f: trade.features[f] for f in CONTEXT_FEATURES if f in trade.features})
    if extra:
        out.update(extra)
    return out
