"""Hamilton, simulated: the live trader that adopts the engine's models and reports its outcomes.

It uses only what the real Hamilton has — the :class:`~huracan.hamilton.HamiltonClient` library (registry
load + verify, the meta-label gate, signed HTTP posts) and the market feed — never the engine's tables.
It closes the loop in ``huracan demo``: every model the nightly job publishes is adopted at the next replay
window, a share of the signals the adopted model passes is traded "live", and every closed trade is posted to
``POST /api/trade_outcome``, where the next nightly training finds it.

Live fills are deliberately harsher than the shadow trades' paper fills:

- **latency**: the order fills at the open of the bar after the signal (``latency_bars``), not at the
  signal's price;
- **spread crossing**: each side pays half the (estimated) spread on top of the fees, and the P&L is net of
  both, so a live trade of the same signal does no better than its shadow twin.

Without a published model Hamilton does not trade: it only ever trades what the engine validated.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from huracan.core.barriers import Barriers, first_touch
from huracan.core.bars import BarArrays
from huracan.core.config import EngineConfig
from huracan.core.features import BAR_FEATURES, MODEL_FEATURES, features_history, model_features, model_vector
from huracan.core.outcomes import actual_outcome, shadow_pnl_net_bps
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.hamilton import HamiltonClient
from huracan.hamilton.client import ApiUnavailable, OutcomeRejected
from huracan.local.replay import BAR_SEC, StreamRecord
from huracan.service.evaluate import shadow_id_for

__all__ = ["HamiltonSimulator", "LiveTrade", "SimStats"]

log = logging.getLogger(__name__)
_SPREAD = BAR_FEATURES.index("spread_bps")


@dataclass
class LiveTrade:
    """One open live trade, waiting for its outcome window to pass."""

    trade_id: str
    signal_id: str
    symbol: str
    model_id: str
    mode: str
    side: str
    entry_idx: int
    entry_ts: int
    entry_price: float
    spread_bps: float
    barriers: Barriers
    features: dict[str, float | None]

    @property
    def settles_at(self) -> int:
        return self.entry_ts + self.barriers.timeout_sec + BAR_SEC


@dataclass
class SimStats:
    signals_seen: int = 0
    without_model: int = 0
    gate_passed: int = 0
    traded: int = 0
    posted: int = 0
    rejected: int = 0
    api_unavailable: int = 0
    no_data: int = 0
    wins: int = 0
    pnl_bps: float = 0.0
    adoptions: list[tuple[str, str]] = field(default_factory=list)


class HamiltonSimulator:
    """Drive it with :meth:`on_window` (a :class:`~huracan.local.runtime.LocalRuntime` window hook)."""

    def __init__(
        self,
        client: HamiltonClient,
        bars: BarArrays,
        records: Sequence[StreamRecord],
        config: EngineConfig,
        *,
        share: float = 0.5,
        latency_bars: int = 1,
        seed: int = 7,
    ) -> None:
        self.client = client
        self.bars = bars
        self.config = config
        self.share = share
        self.latency_bars = latency_bars
        self.rng = random.Random(seed)
        self.features = features_history(bars)
        self.index = {int(t): i for i, t in enumerate(bars.ts)}
        self.signals = [r.payload for r in records if r.payload["type"] == "signal"]
        self._next = 0
        self.open: list[LiveTrade] = []
        self.stats = SimStats()

    # -- the loop ---------------------------------------------------------------------------------
    def on_window(self, end: float) -> None:
        """Adopt what is published, trade the window's signals, post what has closed."""
        self._adopt()
        while self._next < len(self.signals) and epoch_s(self.signals[self._next]["ts"]) <= end:
            self._consider(self.signals[self._next])
            self._next += 1
        self._settle(end)

    def _adopt(self) -> None:
        try:
            if self.client.refresh():
                adopted = self.client.adoptions[-1]
                self.stats.adoptions.append((adopted.model_id, adopted.adopted_at))
        except ApiUnavailable as exc:
            self.stats.api_unavailable += 1
            log.warning("Hamilton could not reach the API: %s", exc)

    def _consider(self, sig: dict[str, Any]) -> None:
        self.stats.signals_seen += 1
        if self.client.model_id is None:
            self.stats.without_model += 1
            return
        t = int(epoch_s(sig["ts"]))
        k = self.index.get(t - BAR_SEC)  # the bar whose close triggered the signal
        if k is None or not np.isfinite(self.features[k]).all():
            return
        # the columns the adopted model lists (its manifest's features): the fixed ones, then any extra feature
        # the settings declared, taken from what the signal carried, as a real Hamilton sends them
        extra = [n for n in self.client.gate.feature_names if n not in MODEL_FEATURES]
        carried = sig.get("features") or {}
        values = [float(carried[n]) if carried.get(n) is not None else math.nan for n in extra]
        vec = model_vector(self.features[k], sig["side"], float(sig["confidence"]), sig["mode"], values)
        names = model_features(extra)
        features = {name: (float(v) if math.isfinite(v) else None) for name, v in zip(names, vec, strict=True)}
        decision = self.client.evaluate(features)
        if not decision.passed:
            return
        self.stats.gate_passed += 1
        if self.rng.random() >= self.share:
            return
        entry_idx = k + self.latency_bars
        if entry_idx >= len(self.bars):
            return
        spread = float(self.features[k][_SPREAD])
        spread = spread if math.isfinite(spread) else self.config.costs.default_spread_bps
        sign = 1.0 if sig["side"] == "long" else -1.0
        entry = float(self.bars.open[entry_idx]) * (1.0 + sign * spread / 2.0 / 1e4)
        self.open.append(
            LiveTrade(
                trade_id=f"live_{sig['signal_id']}",
                signal_id=sig["signal_id"],
                symbol=sig["symbol"],
                model_id=decision.model_id or str(self.client.model_id),
                mode=sig["mode"],
                side=sig["side"],
                entry_idx=entry_idx,
                entry_ts=int(self.bars.ts[entry_idx]),
                entry_price=entry,
                spread_bps=spread,
                barriers=Barriers.from_mode(self.config.mode(sig["mode"])),
                features=features,
            )
        )
        self.stats.traded += 1

    def _settle(self, now: float) -> None:
        still: list[LiveTrade] = []
        for trade in self.open:
            if trade.settles_at > now:
                still.append(trade)
                continue
            self._close(trade)
        self.open = still

    def _close(self, trade: LiveTrade) -> None:
        b = self.bars
        lo = trade.entry_idx
        hi = min(len(b), lo + trade.barriers.timeout_sec // BAR_SEC + 2)
        touch = first_touch(
            b.ts[lo:hi],
            b.high[lo:hi],
            b.low[lo:hi],
            b.close[lo:hi],
            b.open[lo:hi],
            trade.entry_ts,
            trade.entry_price,
            trade.side,
            trade.barriers,
        )
        if touch.gross_pnl_bps is None or touch.exit_price is None or touch.duration_sec is None:
            self.stats.no_data += 1
            return
        costs = self.config.costs
        sign = 1.0 if trade.side == "long" else -1.0
        exit_price = touch.exit_price * (1.0 - sign * trade.spread_bps / 2.0 / 1e4)
        gross = sign * (exit_price / trade.entry_price - 1.0) * 1e4
        net = shadow_pnl_net_bps(gross, costs.fee_bps_per_side, 0.0)  # the spread is already in the fills
        outcome = actual_outcome(net, costs.breakeven_band_bps)
        fee = costs.size_gbp * costs.fee_bps_per_side / 1e4
        try:
            self.client.post_outcome(
                trade.trade_id,
                features=trade.features,
                outcome=str(outcome),
                pnl_bps=round(net, 6),
                duration_sec=float(touch.duration_sec),
                model_id=trade.model_id,
                ts_open=from_epoch_s(trade.entry_ts),
                symbol=trade.symbol,
                mode=trade.mode,
                side=trade.side,
                entry_price=round(trade.entry_price, 8),
                exit_price=round(exit_price, 8),
                size_gbp=costs.size_gbp,
                fee_entry_gbp=fee,
                fee_exit_gbp=fee,
                pnl_gbp=round(costs.size_gbp * net / 1e4, 6),
                return_bps=round(gross, 6),
                engine_shadow_id=shadow_id_for(trade.signal_id),
                status="closed",
            )
        except OutcomeRejected as exc:
            self.stats.rejected += 1
            log.warning("outcome %s rejected: %s", trade.trade_id, exc)
            return
        except ApiUnavailable as exc:
            self.stats.api_unavailable += 1
            log.warning("outcome %s not delivered: %s", trade.trade_id, exc)
            return
        self.stats.posted += 1
        self.stats.wins += outcome == "WIN"
        self.stats.pnl_bps += net
