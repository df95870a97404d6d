"""Market regimes (TREND / RANGE / PANIC) and the documented rule used until a trained detector exists.

The regime gate needs *a* regime for every signal from day one, so the engine starts with a transparent
rule on the bar features; the nightly job may later publish a trained detector, which plugs in through the
same :class:`RegimeClassifier` protocol (``classify(features) -> names``).

The rule (:class:`RuleRegime`, thresholds are its fields), evaluated in this order:

1. **PANIC** — volatility is accelerating *and* high (``rv_15 > vol_ratio × rv_60`` and
   ``rv_15 > min_panic_vol_bps``), or the last 15 bars moved more than ``panic_move_bps`` either way.
   Fast, disorderly markets: fills and barriers behave worst here.
2. **TREND** — the last 15 bars went mostly one way: ``trend_eff_15 >= trend_efficiency``.
3. **RANGE** — everything else, including rows whose features are NaN (not enough history): with no
   evidence of trend or stress the neutral regime is the honest answer.

On the FTX BTC-PERP month (January 2022) the defaults give roughly 2.5 % PANIC, 11 % TREND, 86 % RANGE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from huracan.core.bars import FloatArray
from huracan.core.features import BAR_FEATURES, FEATURE_INDEX

__all__ = ["REGIMES", "RegimeClassifier", "RuleRegime", "regime_codes", "regime_names"]

REGIMES: Final[tuple[str, str, str]] = ("TREND", "RANGE", "PANIC")
TREND_CODE, RANGE_CODE, PANIC_CODE = 0, 1, 2
_NAMES = np.array(REGIMES)

_I_RV15 = FEATURE_INDEX["rv_15_bps"]
_I_RV60 = FEATURE_INDEX["rv_60_bps"]
_I_RET15 = FEATURE_INDEX["ret_15_bps"]
_I_TE15 = FEATURE_INDEX["trend_eff_15"]


@runtime_checkable
class RegimeClassifier(Protocol):
    """Anything that names a regime per row of a ``BAR_FEATURES`` (or ``MODEL_FEATURES``) matrix."""

    def classify(self, features: FloatArray) -> npt.NDArray[np.str_]: ...


def regime_names(codes: npt.NDArray[np.int8]) -> npt.NDArray[np.str_]:
    """Codes (indices into ``REGIMES``) to names."""
    return _NAMES[codes]


def regime_codes(names: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Names to codes; an unknown name is broken input and raises."""
    arr = np.asarray(names)
    codes = np.full(arr.shape, -1, dtype=np.int8)
    for code, name in enumerate(REGIMES):
        codes[arr == name] = code
    if (codes < 0).any():
        bad = str(arr[codes < 0].reshape(-1)[0])
        raise ValueError(f"unknown regime {bad!r} (expected one of {', '.join(REGIMES)})")
    return codes


@dataclass(frozen=True, slots=True)
class RuleRegime:
    """The fallback regime rule; see the module docstring for the order and meaning of the thresholds."""

    vol_ratio: float = 1.5
    min_panic_vol_bps: float = 15.0
    panic_move_bps: float = 150.0
    trend_efficiency: float = 0.5

    def codes(self, features: FloatArray) -> npt.NDArray[np.int8]:
        """Vectorized rule over a ``(m, k)`` matrix whose first columns are ``BAR_FEATURES``."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] < len(BAR_FEATURES):
            raise ValueError(f"features must have shape (m, >= {len(BAR_FEATURES)}), got {f.shape}")
        rv15 = f[:, _I_RV15]
        panic = ((rv15 > self.vol_ratio * f[:, _I_RV60]) & (rv15 > self.min_panic_vol_bps)) | (
            np.abs(f[:, _I_RET15]) > self.panic_move_bps
        )
        trend = f[:, _I_TE15] >= self.trend_efficiency
        return np.where(panic, PANIC_CODE, np.where(trend, TREND_CODE, RANGE_CODE)).astype(np.int8)

    def classify(self, features: FloatArray) -> npt.NDArray[np.str_]:
        return regime_names(self.codes(features))

    def classify_one(self, features: FloatArray) -> str:
        """The same rule for one feature row, with plain float comparisons (serving a single signal)."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 1 or f.shape[0] < len(BAR_FEATURES):
            raise ValueError(f"a feature row must have >= {len(BAR_FEATURES)} values, got shape {f.shape}")
        rv15, rv60 = float(f[_I_RV15]), float(f[_I_RV60])
        if (rv15 > self.vol_ratio * rv60 and rv15 > self.min_panic_vol_bps) or abs(
            float(f[_I_RET15])
        ) > self.panic_move_bps:
            return "PANIC"
        if float(f[_I_TE15]) >= self.trend_efficiency:
            return "TREND"
        return "RANGE"
