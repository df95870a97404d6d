"""Shadow vs live: how far Hamilton's real trades drifted from the paper trades they were based on.

For each live trade with an ``engine_shadow_id`` that names a known shadow trade, in bps and signed so
that **positive means live did worse than paper**:

- entry: ``s · (live_entry − shadow_entry) / shadow_entry · 1e4`` with ``s = +1`` long, ``−1`` short
  (a long that paid more, a short that sold lower);
- exit: ``s · (shadow_exit − live_exit) / shadow_exit · 1e4`` (a long that sold lower);
- P&L: ``shadow_pnl_net_bps − live pnl_bps`` (Hamilton's reported bps against the paper trade's net).

A component is None when either side lacks the price / P&L (an open trade, a minimal POST).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

from huracan.observability.records import LiveTrade, ShadowTrade

__all__ = ["Divergence", "DivergenceSummary", "divergences", "summarise_divergence"]


@dataclass(frozen=True, slots=True)
class Divergence:
    trade_id: str
    shadow_id: str
    entry_bps: float | None
    exit_bps: float | None
    pnl_bps: float | None
    same_outcome: bool | None


@dataclass(frozen=True, slots=True)
class DivergenceSummary:
    """Per component: n, mean and median, and the worst absolute value."""

    linked: int
    unmatched: int
    stats: dict[str, tuple[int, float | None, float | None, float | None]]


def _sign(side: str | None) -> float | None:
    return {"long": 1.0, "short": -1.0}.get((side or "").lower())


def divergences(live: Iterable[LiveTrade], shadow: Iterable[ShadowTrade]) -> tuple[list[Divergence], int]:
    """(divergence per linked trade in trade-id order, number of links whose shadow trade is unknown)."""
    by_id = {t.shadow_id: t for t in shadow}
    out: list[Divergence] = []
    unmatched = 0
    for lt in sorted(live, key=lambda t: t.trade_id):
        if not lt.engine_shadow_id:
            continue
        st = by_id.get(lt.engine_shadow_id)
        if st is None:
            unmatched += 1
            continue
        s = _sign(lt.side or st.side)
        entry = exit_ = None
        if s is not None and lt.entry_price is not None and st.entry_price:
            entry = s * (lt.entry_price - st.entry_price) / st.entry_price * 1e4
        if s is not None and lt.exit_price is not None and st.exit_price:
            exit_ = s * (st.exit_price - lt.exit_price) / st.exit_price * 1e4
        pnl = None
        if lt.pnl_bps is not None and st.shadow_pnl_net_bps is not None:
            pnl = st.shadow_pnl_net_bps - lt.pnl_bps
        same = None
        if lt.outcome and st.actual_outcome:
            same = lt.outcome == st.actual_outcome
        out.append(Divergence(lt.trade_id, st.shadow_id, entry, exit_, pnl, same))
    return out, unmatched


def _stats(xs: Sequence[float]) -> tuple[int, float | None, float | None, float | None]:
    if not xs:
        return 0, None, None, None
    return len(xs), sum(xs) / len(xs), float(median(xs)), max(xs, key=abs)


def summarise_divergence(rows: Sequence[Divergence], unmatched: int = 0) -> DivergenceSummary:
    return DivergenceSummary(
        linked=len(rows),
        unmatched=unmatched,
        stats={
            "entry_bps": _stats([r.entry_bps for r in rows if r.entry_bps is not None]),
            "exit_bps": _stats([r.exit_bps for r in rows if r.exit_bps is not None]),
            "pnl_bps": _stats([r.pnl_bps for r in rows if r.pnl_bps is not None]),
        },
    )
