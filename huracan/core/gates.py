"""The seed's six gates: would the engine take this signal as a (shadow) trade?

Each gate compares one number with one threshold from the settings file (per mode) and says so in the
seed's words, e.g. ``✓ meta_label_gate: PASS (prob 0.78 > threshold 0.45)``. A gate that blocks is an
answer, not an error: it returns a :class:`GateResult` with ``passed=False``. Only broken input (unknown
mode or regime, a confidence outside [0, 1], a feature row of the wrong shape) raises ``ValueError``.

The gates, in the seed's order:

- ``meta_label_gate``: win probability ``p > meta_label_threshold``. ``p`` comes from the published
  meta-label model (``prob_source="model"``) or, before one exists, from the documented prior: the
  signal's own confidence (``prob_source="prior"``; the seed's example shows ``prob == confidence``).
- ``cost_gate``: expected gross return ``p·tp_bps − (1−p)·sl_bps`` (the mode's barrier distances) must
  exceed the round-trip cost ``2·fee + spread`` plus ``buffer_bps``.
- ``confidence_gate``: ``confidence > min_confidence``.
- ``regime_gate``: the regime is in the mode's ``allowed_regimes``.
- ``spread_gate``: ``spread < max_spread_bps`` (unknown spread → ``default_spread_bps``, as costs do).
- ``volume_gate``: ``volume_ratio_60 > min_volume_ratio`` (unknown volume ratio blocks: no history).

:func:`evaluate_gates` is the reference for one signal and produces the texts stored with each decision;
:func:`evaluate_batch` is the same arithmetic over arrays of ``m`` signals for the Lambda's hot path, and
the unit tests check the two agree signal by signal on real data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from huracan.core.bars import FloatArray
from huracan.core.config import EngineConfig, ModeConfig
from huracan.core.costs import CostModel
from huracan.core.features import BAR_FEATURES, FEATURE_INDEX
from huracan.core.regime import REGIMES, RuleRegime, regime_codes, regime_names

__all__ = [
    "GATE_NAMES",
    "BatchDecision",
    "Decision",
    "GateResult",
    "ProbSource",
    "confidence_gate",
    "cost_gate",
    "evaluate_batch",
    "evaluate_gates",
    "expected_return_bps",
    "meta_label_gate",
    "regime_gate",
    "spread_gate",
    "volume_gate",
]

GATE_NAMES: Final[tuple[str, ...]] = (
    "meta_label_gate",
    "cost_gate",
    "confidence_gate",
    "regime_gate",
    "spread_gate",
    "volume_gate",
)
ProbSource = Literal["prior", "model"]

_I_SPREAD = FEATURE_INDEX["spread_bps"]
_I_VOLUME = FEATURE_INDEX["volume_ratio_60"]
_K = len(BAR_FEATURES)
_RULE = RuleRegime()


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's verdict: the number it looked at, the bar it had to clear, and the seed's line."""

    name: str
    passed: bool
    value: float | str
    threshold: float | str
    text: str


def _pair(a: float, b: float, digits: int) -> tuple[str, str]:
    """Format two numbers so a strict comparison stays visible (0.4512 vs 0.45 is not "0.45 > 0.45")."""
    if math.isnan(a):
        return "n/a", f"{b:.{digits}f}"
    d = digits
    while d < 6 and f"{a:.{d}f}" == f"{b:.{d}f}" and a != b:
        d += 1
    return f"{a:.{d}f}", f"{b:.{d}f}"


def _line(name: str, passed: bool, detail: str) -> str:
    return f"{'✓' if passed else '✗'} {name}: {'PASS' if passed else 'BLOCK'} ({detail})"


def meta_label_gate(prob: float, threshold: float) -> GateResult:
    passed = prob > threshold
    a, b = _pair(prob, threshold, 2)
    text = _line("meta_label_gate", passed, f"prob {a} {'>' if passed else '<='} threshold {b}")
    return GateResult("meta_label_gate", passed, prob, threshold, text)


def expected_return_bps(prob: float, tp_bps: float, sl_bps: float) -> float:
    """Expected gross return of a trade that ends at either barrier: win ``tp`` with ``p``, else lose ``sl``."""
    return prob * tp_bps - (1.0 - prob) * sl_bps


def cost_gate(expected_bps: float, cost_bps: float, buffer_bps: float) -> GateResult:
    hurdle = cost_bps + buffer_bps
    passed = expected_bps > hurdle
    a, _ = _pair(expected_bps, hurdle, 1)
    detail = f"expected return {a} bps {'>' if passed else '<='} costs {cost_bps:.1f} bps + buffer {buffer_bps:.1f} bps"
    return GateResult("cost_gate", passed, expected_bps, hurdle, _line("cost_gate", passed, detail))


def confidence_gate(confidence: float, min_confidence: float) -> GateResult:
    passed = confidence > min_confidence
    a, b = _pair(confidence, min_confidence, 2)
    text = _line("confidence_gate", passed, f"confidence {a} {'>' if passed else '<='} min {b}")
    return GateResult("confidence_gate", passed, confidence, min_confidence, text)


def regime_gate(regime: str, allowed: Sequence[str]) -> GateResult:
    passed = regime in allowed
    allowed_text = ", ".join(allowed) if allowed else "none"
    detail = f"{regime} is allowed" if passed else f"{regime} is not allowed; allowed: {allowed_text}"
    return GateResult("regime_gate", passed, regime, ",".join(allowed), _line("regime_gate", passed, detail))


def spread_gate(spread_bps: float, max_spread_bps: float) -> GateResult:
    passed = spread_bps < max_spread_bps
    a, b = _pair(spread_bps, max_spread_bps, 1)
    text = _line("spread_gate", passed, f"spread {a} bps {'<' if passed else '>='} max {b} bps")
    return GateResult("spread_gate", passed, spread_bps, max_spread_bps, text)


def volume_gate(volume_ratio: float, min_volume_ratio: float) -> GateResult:
    passed = volume_ratio > min_volume_ratio  # NaN (no history) compares False: blocks
    if math.isnan(volume_ratio):
        detail = f"volume unknown: not enough bars, min {min_volume_ratio:.1f}x"
    else:
        a, b = _pair(volume_ratio, min_volume_ratio, 1)
        detail = f"volume {a}x {'>' if passed else '<='} min {b}x"
    return GateResult("volume_gate", passed, volume_ratio, min_volume_ratio, _line("volume_gate", passed, detail))


def _plain(x: float | str) -> float | str | None:
    """JSON/DynamoDB-safe: NaN and inf become None (neither store can hold them)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass(frozen=True, slots=True)
class Decision:
    """All six verdicts for one signal and the numbers behind them; stored for every signal."""

    passed: bool
    results: tuple[GateResult, ...]
    blocked_by: tuple[str, ...]
    prob: float
    prob_source: ProbSource
    expected_return_bps: float
    cost_bps: float
    regime: str
    mode: str
    config_version: str
    model_id: str | None = None

    def lines(self) -> list[str]:
        """The seed's printout, one line per gate."""
        return [r.text for r in self.results]

    def to_item(self) -> dict[str, Any]:
        """Plain values for the decisions table / JSON (no NaN; the adapter converts floats to Decimal)."""
        return {
            "passed": self.passed,
            "blocked_by": list(self.blocked_by),
            "prob": _plain(self.prob),
            "prob_source": self.prob_source,
            "expected_return_bps": _plain(self.expected_return_bps),
            "cost_bps": _plain(self.cost_bps),
            "regime": self.regime,
            "mode": self.mode,
            "config_version": self.config_version,
            "model_id": self.model_id,
            "gates": {
                r.name: {
                    "passed": r.passed,
                    "value": _plain(r.value),
                    "threshold": _plain(r.threshold),
                    "text": r.text,
                }
                for r in self.results
            },
        }


def _check_unit(name: str, x: float) -> float:
    value = float(x)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {x!r}")
    return value


def evaluate_gates(
    features: FloatArray,
    *,
    mode: str,
    confidence: float,
    config: EngineConfig,
    regime: str | None = None,
    prob: float | None = None,
    model_id: str | None = None,
) -> Decision:
    """Run the six gates for one signal.

    ``features`` is a ``BAR_FEATURES`` (or ``MODEL_FEATURES``) row; ``regime`` defaults to the rule's
    answer on it; ``prob`` is the calibrated model probability, or ``None`` before a model exists (the
    prior: ``confidence``).
    """
    row = np.asarray(features, dtype=np.float64)
    if row.ndim != 1 or row.shape[0] < _K:
        raise ValueError(f"features must be a row of >= {_K} values, got shape {row.shape}")
    mc: ModeConfig = config.mode(mode)
    conf = _check_unit("confidence", confidence)
    source: ProbSource = "prior" if prob is None else "model"
    p = conf if prob is None else _check_unit("prob", prob)
    reg = _RULE.classify_one(row) if regime is None else regime
    if reg not in REGIMES:
        raise ValueError(f"unknown regime {reg!r} (expected one of {', '.join(REGIMES)})")
    costs = CostModel(config.costs)
    spread = costs.effective_spread_bps(float(row[_I_SPREAD]))
    cost_bps = costs.round_trip_cost_bps(spread)
    expected = expected_return_bps(p, mc.tp_bps, mc.sl_bps)
    results = (
        meta_label_gate(p, mc.meta_label_threshold),
        cost_gate(expected, cost_bps, mc.buffer_bps),
        confidence_gate(conf, mc.min_confidence),
        regime_gate(reg, mc.allowed_regimes),
        spread_gate(spread, mc.max_spread_bps),
        volume_gate(float(row[_I_VOLUME]), mc.min_volume_ratio),
    )
    blocked = tuple(r.name for r in results if not r.passed)
    return Decision(
        passed=not blocked,
        results=results,
        blocked_by=blocked,
        prob=p,
        prob_source=source,
        expected_return_bps=expected,
        cost_bps=cost_bps,
        regime=reg,
        mode=mode,
        config_version=config.version,
        model_id=model_id,
    )


@dataclass(frozen=True, slots=True)
class BatchDecision:
    """The six gates for ``m`` signals as arrays; ``gates[j, g]`` is gate ``GATE_NAMES[g]`` for signal ``j``.

    ``values``/``thresholds`` hold, per gate, the number compared and the bar it had to clear (regime
    column: the regime code, threshold NaN). Build the stored :class:`Decision` with :func:`evaluate_gates`
    only for the signals that need their texts.
    """

    gates: npt.NDArray[np.bool_]
    passed: npt.NDArray[np.bool_]
    values: FloatArray
    thresholds: FloatArray
    prob: FloatArray
    prob_source: ProbSource
    expected_return_bps: FloatArray
    cost_bps: FloatArray
    regime_codes: npt.NDArray[np.int8]
    config_version: str

    def __len__(self) -> int:
        return int(self.passed.shape[0])

    @property
    def regimes(self) -> npt.NDArray[np.str_]:
        return regime_names(self.regime_codes)

    def blocked_by(self, j: int) -> tuple[str, ...]:
        return tuple(name for name, ok in zip(GATE_NAMES, self.gates[j], strict=True) if not ok)


def _mode_codes(modes: npt.ArrayLike, names: tuple[str, ...], m: int) -> npt.NDArray[np.intp]:
    arr = np.asarray(modes)
    if arr.shape == ():
        arr = np.full(m, arr)
    if arr.shape != (m,):
        raise ValueError(f"modes must have one entry per signal ({m}), got shape {arr.shape}")
    codes = np.full(m, -1, dtype=np.intp)
    for code, name in enumerate(names):
        codes[arr == name] = code
    if (codes < 0).any():
        raise ValueError(f"mode {str(arr[codes < 0][0])!r} is not configured (have {sorted(names)})")
    return codes


def _unit_array(name: str, x: npt.ArrayLike, m: int) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.shape != (m,):
        raise ValueError(f"{name} must have one value per signal ({m}), got shape {arr.shape}")
    if not bool(np.all((arr >= 0.0) & (arr <= 1.0))):
        raise ValueError(f"{name} must be in [0, 1] for every signal")
    return arr


def evaluate_batch(
    features: FloatArray,
    *,
    modes: npt.ArrayLike,
    confidence: npt.ArrayLike,
    config: EngineConfig,
    regimes: npt.ArrayLike | None = None,
    prob: npt.ArrayLike | None = None,
) -> BatchDecision:
    """The six gates for ``m`` signals at once: the same arithmetic as :func:`evaluate_gates`, vectorized.

    ``features`` is ``(m, >= len(BAR_FEATURES))``; ``modes`` one name per signal (or one for all);
    ``regimes`` names per signal (default: the rule on ``features``); ``prob`` model probabilities or
    ``None`` for the confidence prior.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] < _K:
        raise ValueError(f"features must have shape (m, >= {_K}), got {f.shape}")
    m = f.shape[0]
    names = tuple(config.modes)
    mc = _mode_codes(modes, names, m)
    conf = _unit_array("confidence", confidence, m)
    source: ProbSource = "prior" if prob is None else "model"
    p = conf if prob is None else _unit_array("prob", prob, m)
    rc = _RULE.codes(f) if regimes is None else regime_codes(regimes).reshape(-1)
    if rc.shape != (m,):
        raise ValueError(f"regimes must have one name per signal ({m}), got shape {rc.shape}")

    settings = [config.modes[n] for n in names]
    table = np.array(
        [
            [
                s.tp_bps,
                s.sl_bps,
                s.meta_label_threshold,
                s.min_confidence,
                s.max_spread_bps,
                s.min_volume_ratio,
                s.buffer_bps,
            ]
            for s in settings
        ]
    )[mc]
    allowed = np.array([[r in s.allowed_regimes for r in REGIMES] for s in settings])

    costs = CostModel(config.costs)
    spread = costs.effective_spread_bps(f[:, _I_SPREAD])
    cost_bps = 2.0 * config.costs.fee_bps_per_side + spread
    expected = p * table[:, 0] - (1.0 - p) * table[:, 1]
    volume = f[:, _I_VOLUME]

    values = np.empty((m, 6))
    thresholds = np.empty((m, 6))
    values[:, 0], thresholds[:, 0] = p, table[:, 2]
    values[:, 1], thresholds[:, 1] = expected, cost_bps + table[:, 6]
    values[:, 2], thresholds[:, 2] = conf, table[:, 3]
    values[:, 3], thresholds[:, 3] = rc, np.nan
    values[:, 4], thresholds[:, 4] = spread, table[:, 4]
    values[:, 5], thresholds[:, 5] = volume, table[:, 5]
    gates = np.empty((m, 6), dtype=np.bool_)
    gates[:, :3] = values[:, :3] > thresholds[:, :3]
    gates[:, 3] = allowed[mc, rc]
    gates[:, 4] = spread < thresholds[:, 4]
    gates[:, 5] = volume > thresholds[:, 5]
    return BatchDecision(
        gates=gates,
        passed=np.asarray(gates.all(axis=1), dtype=np.bool_),
        values=values,
        thresholds=thresholds,
        prob=p,
        prob_source=source,
        expected_return_bps=expected,
        cost_bps=cost_bps,
        regime_codes=rc.astype(np.int8),
        config_version=config.version,
    )
