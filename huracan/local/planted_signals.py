"""A signal source with a known edge on the real bars, for ``huracan demo --planted-edge``.

The real strategies carry almost no edge on real minute data, so a demo that only ever says "no edge found"
cannot show the other half of the loop (promotion, export, Hamilton adoption). This source replays the
same real bars, but its signals are built so that their success depends, by construction, on one feature
with a chosen strength — the construction of :mod:`huracan.learning.planted`, moved from drawn labels to
real price paths:

1. **Candidates** are bars that can emit a signal with a complete, gap-free outcome window
   (:func:`huracan.learning.planted.signal_bars`) and on which *exactly one* side wins: the long and the
   short trade entered at that bar's close are resolved with the engine's own barriers and costs (the
   mode's ``tp_bps`` / ``sl_bps`` / ``timeout_sec``, fees both sides plus the spread feature, the breakeven
   band: :func:`huracan.learning.dataset.labelled_signals`, tested equal to the resolver). Peeking at the
   future is what makes the answer known; the features the model sees still use only bars up to the
   signal.
2. ``z`` is the chosen feature's rank against a reference set (the candidates of the bars the source was
   built on), scaled to a uniform with mean 0 and variance 1, as in :mod:`huracan.learning.planted`.
3. The signal takes the **winning side with probability** ``p = sigmoid(base + strength · z)`` and the
   losing side otherwise. The draw is a hash of (seed, bar time), so the same bar always gives the same
   signal whichever window it is computed on (the nightly job's 30-day archive window and the demo's
   whole replay agree, so decisions and their historical twins share a ``signal_id``).

So P(WIN | features) is exactly ``p`` on every emitted signal: :meth:`PlantedSignals.truth` returns ``p``
and the realised labels, and :attr:`PlantedTruth.attainable_auc` is the best AUC any model can reach on
them — the "planted" figure the demo prints beside the recovered out-of-sample AUC. Strength 1.5 on
``trend_eff_15`` gives an attainable AUC of about 0.7 (measured by ``tests/unit/test_nightly_planted.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from huracan.core.bars import BarArrays, FloatArray, IntArray
from huracan.core.config import EngineConfig, load_config
from huracan.core.features import BAR_SEC, MODEL_FEATURES, features_history
from huracan.core.strategies import StrategySignals
from huracan.learning.dataset import labelled_signals
from huracan.learning.evaluate import auc_point
from huracan.learning.planted import signal_bars
from huracan.local.replay import StreamRecord, build_records

__all__ = ["DEFAULT_STRENGTH", "DEFAULT_STRIDE", "PLANTED_STRATEGY", "PlantedSignals", "PlantedTruth"]

PLANTED_STRATEGY = "planted_edge"
#: The demo's default: strong enough for a few days of signals to clear every readiness check.
DEFAULT_STRENGTH = 1.0
#: Every ``stride``-th minute (by bar time) may emit: about 1,100 bars a day qualify on the FTX month, so the
#: default keeps ~280 a day, a replay cost like the real strategies' plus a few days to a publishable sample.
DEFAULT_STRIDE = 4
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _uniform(ts: IntArray, seed: int) -> FloatArray:
    """A uniform in [0, 1) per bar time: splitmix64 of (seed, ts), so a bar's draw never depends on its window."""
    with np.errstate(over="ignore"):
        x = (np.asarray(ts, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed & 0xFFFFFFFF)) & _MASK64
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9) & _MASK64
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB) & _MASK64
        x = x ^ (x >> np.uint64(31))
    out: FloatArray = (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return out


@dataclass(frozen=True, slots=True)
class PlantedTruth:
    """What was planted on one history: per emitted signal, its true win probability and realised label."""

    strength: float
    feature: str
    bar_idx: IntArray
    true_p: FloatArray
    won: npt.NDArray[np.bool_]

    @property
    def n(self) -> int:
        return len(self.bar_idx)

    @property
    def win_rate(self) -> float:
        return float(np.mean(self.won)) if self.n else float("nan")

    @property
    def attainable_auc(self) -> float:
        """AUC of the true probabilities against the realised outcomes: the ceiling for any model."""
        return auc_point(self.true_p, self.won.astype(np.float64)) if self.n else float("nan")

    def attainable_auc_since(self, bars: BarArrays, start_epoch: int) -> float:
        """The same ceiling over signals at or after ``start_epoch`` (e.g. one night's test window)."""
        rows = np.flatnonzero(bars.ts[self.bar_idx] + BAR_SEC >= start_epoch)
        return auc_point(self.true_p[rows], self.won[rows].astype(np.float64)) if len(rows) else float("nan")

    def describe(self) -> str:
        return (
            f"planted edge: P(win) = sigmoid({self.strength:g} · z({self.feature})) on {self.n} signals "
            f"(win rate {self.win_rate:.1%}); best attainable AUC {self.attainable_auc:.3f}"
        )


@dataclass(frozen=True)
class PlantedSignals:
    """Callable signal source ``(bars) -> StrategySignals`` with a planted edge (see the module docstring).

    ``reference`` fixes the rank transform of ``feature``; :meth:`fit` builds it from a history (the demo's
    bars), so later calls on any window of those bars emit the same signals. Without it, each call ranks
    against its own candidates.
    """

    strength: float = DEFAULT_STRENGTH
    feature: str = "trend_eff_15"
    base: float = 0.0
    mode: str = "scalp"
    confidence: float = 0.7
    stride: int = DEFAULT_STRIDE
    seed: int = 0
    config: EngineConfig = field(default_factory=lambda: load_config("demo"))
    reference: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError("stride must be at least 1")
        if self.feature not in MODEL_FEATURES:
            raise ValueError(f"unknown feature {self.feature!r}")
        self.config.mode(self.mode)  # fails early on an unknown mode

    def fit(self, bars: BarArrays) -> PlantedSignals:
        """A copy whose rank reference is this history's candidates (call once on the whole replay)."""
        idx, v, _, _ = self._candidates(bars, features_history(bars))
        return PlantedSignals(
            strength=self.strength,
            feature=self.feature,
            base=self.base,
            mode=self.mode,
            confidence=self.confidence,
            stride=self.stride,
            seed=self.seed,
            config=self.config,
            reference=np.sort(v[np.isfinite(v)]) if len(idx) else None,
        )

    def _candidates(
        self, bars: BarArrays, history: FloatArray
    ) -> tuple[IntArray, FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Bars where exactly one side wins: (bar index, feature value, long wins, short wins)."""
        m = self.config.mode(self.mode)
        c = self.config.costs
        idx = signal_bars(bars, history, m.timeout_sec, 1)
        idx = idx[(bars.ts[idx] // BAR_SEC) % self.stride == 0]  # by bar time, so any window agrees
        empty = np.zeros(0, dtype=bool)
        if len(idx) == 0:
            return idx, np.zeros(0), empty, empty
        ids = [str(i) for i in idx.tolist()]
        wins: list[dict[str, bool]] = []
        for sign in (1, -1):
            ds = labelled_signals(
                bars,
                idx,
                np.full(len(idx), sign),
                np.full(len(idx), self.confidence),
                np.full(len(idx), 1.0 if self.mode == "runner" else 0.0),
                tp_bps=m.tp_bps,
                sl_bps=m.sl_bps,
                timeout_sec=m.timeout_sec,
                fee_bps_per_side=c.fee_bps_per_side,
                breakeven_band_bps=c.breakeven_band_bps,
                default_spread_bps=c.default_spread_bps,
                row_id=ids,
                history=history,
            )
            wins.append(dict(zip(ds.row_id.tolist(), (ds.y == 1.0).tolist(), strict=True)))
        long_w = np.array([wins[0].get(r) for r in ids], dtype=object)
        short_w = np.array([wins[1].get(r) for r in ids], dtype=object)
        known = np.array([a is not None and b is not None for a, b in zip(long_w, short_w, strict=True)])
        lw = np.array([bool(a) for a in long_w]) & known
        sw = np.array([bool(b) for b in short_w]) & known
        one = known & (lw ^ sw)
        col = MODEL_FEATURES.index(self.feature)
        return idx[one], history[idx[one], col], lw[one], sw[one]

    def _plant(self, bars: BarArrays) -> tuple[StrategySignals, PlantedTruth]:
        history = features_history(bars)
        idx, v, long_w, _ = self._candidates(bars, history)
        ref = self.reference if self.reference is not None else np.sort(v)
        if len(idx) == 0 or len(ref) == 0:
            empty = StrategySignals(np.zeros(0, dtype=np.int64), (), (), (), np.zeros(0))
            return empty, PlantedTruth(self.strength, self.feature, idx, np.zeros(0), np.zeros(0, dtype=bool))
        # mid-rank against the reference, as planted.py's (rank + 0.5) / n
        lo = np.searchsorted(ref, v, side="left")
        hi = np.searchsorted(ref, v, side="right")
        q = np.clip((lo + hi) / 2.0 / len(ref), 0.5 / len(ref), 1 - 0.5 / len(ref))
        z = (q - 0.5) * np.sqrt(12.0)
        p = 1.0 / (1.0 + np.exp(-(self.base + self.strength * z)))
        take_winner = _uniform(bars.ts[idx], self.seed) < p
        go_long = np.where(take_winner, long_w, ~long_w)
        n = len(idx)
        signals = StrategySignals(
            bar_idx=idx.astype(np.int64),
            strategy=(PLANTED_STRATEGY,) * n,
            side=tuple("long" if g else "short" for g in go_long.tolist()),
            mode=(self.mode,) * n,
            confidence=np.full(n, self.confidence),
        )
        return signals, PlantedTruth(self.strength, self.feature, idx.astype(np.int64), p, take_winner)

    name = "planted_edge"

    def __call__(self, bars: BarArrays, symbol: str = "") -> StrategySignals:
        """The planted signals on ``bars`` (a signal source, :mod:`huracan.signals`), in time order."""
        return self._plant(bars)[0]

    def truth(self, bars: BarArrays) -> PlantedTruth:
        """True probabilities and realised outcomes of the signals :meth:`__call__` emits on ``bars``."""
        return self._plant(bars)[1]

    def records(self, bars: BarArrays, symbol: str) -> list[StreamRecord]:
        """Bars and planted signals as stream records, exactly like :func:`huracan.local.replay.build_records`."""
        return build_records(bars, symbol, self(bars))
