"""The meta-label gate: "would this trade win?" as a calibrated probability against a threshold.

One object serves Hamilton (one signal at a time, features as a dict) and the evaluate Lambda (a batch of
signals as a matrix). A gate that blocks returns a decision; only broken input (a missing or non-numeric
feature, a wrong vector length) raises, because silently scoring a wrong vector is worse than no score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from huracan.core.bars import FloatArray
from huracan.registry.model import MetaLabelModel

__all__ = ["GATE_NAME", "GateDecision", "MetaLabelGate", "MissingFeatureError"]

GATE_NAME = "meta_label"


class MissingFeatureError(ValueError):
    """The features given to the gate lack names the model needs (``missing``), in the model's order."""

    def __init__(self, missing: Sequence[str], expected: Sequence[str]) -> None:
        super().__init__(f"meta_label_gate: missing feature(s) {list(missing)}; the model needs {list(expected)}")
        self.missing = list(missing)


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The seed's decision shape: ``{"gate", "passed", "prob", "threshold", "model_id", "text"}``."""

    gate: str
    passed: bool
    prob: float
    threshold: float
    text: str
    model_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _format_pair(prob: float, threshold: float) -> tuple[str, str]:
    """Two decimals as in the seed, more only when two decimals would print a misleading tie."""
    digits = 2
    while digits < 6 and prob != threshold and round(prob, digits) == round(threshold, digits):
        digits += 1
    return f"{prob:.{digits}f}", f"{threshold:.{digits}f}"


class MetaLabelGate:
    """Pass when the calibrated win probability is strictly above ``threshold``."""

    def __init__(self, model: Any, threshold: float, *, model_id: str | None = None) -> None:
        self.model = MetaLabelModel.from_lightgbm(model)
        t = float(threshold)
        if not (0.0 <= t <= 1.0) or math.isnan(t):
            raise ValueError(f"threshold must be a probability in [0, 1], got {threshold!r}")
        self.threshold = t
        self.model_id = model_id or self.model.model_id

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.model.feature_names

    def vector(self, features: Mapping[str, Any] | npt.ArrayLike) -> FloatArray:
        """The model's input row: a mapping is read by name (extra keys ignored, ``None`` = missing value
        as LightGBM understands it, i.e. NaN); a vector must already be in ``feature_names`` order."""
        names = self.model.feature_names
        if isinstance(features, Mapping):
            missing = [n for n in names if n not in features]
            if missing:
                raise MissingFeatureError(missing, names)
            row = np.empty(len(names), dtype=np.float64)
            for i, n in enumerate(names):
                value = features[n]
                try:
                    row[i] = np.nan if value is None else float(value)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"meta_label_gate: feature {n!r} is not a number: {value!r}") from exc
            return row
        arr = np.asarray(features, dtype=np.float64)
        if arr.ndim != 1 or arr.shape[0] != len(names):
            raise ValueError(
                f"meta_label_gate: expected a vector of {len(names)} features {list(names)}, got shape {arr.shape}"
            )
        return arr

    def matrix(self, rows: Sequence[Mapping[str, Any]] | npt.ArrayLike) -> FloatArray:
        if isinstance(rows, Sequence) and not isinstance(rows, str):
            if len(rows) == 0:
                return np.empty((0, self.model.n_features), dtype=np.float64)
            if isinstance(rows[0], Mapping):
                return np.vstack([self.vector(r) for r in rows])
        arr = np.asarray(rows, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.model.n_features:
            raise ValueError(f"meta_label_gate: expected shape (m, {self.model.n_features}), got {arr.shape}")
        return arr

    def decide(self, prob: float) -> GateDecision:
        p = float(prob)
        passed = p > self.threshold
        ps, ts = _format_pair(p, self.threshold)
        text = (
            f"✓ meta_label_gate: PASS (prob {ps} > threshold {ts})"
            if passed
            else f"✗ meta_label_gate: FAIL (prob {ps} <= threshold {ts})"
        )
        return GateDecision(
            gate=GATE_NAME, passed=passed, prob=p, threshold=self.threshold, text=text, model_id=self.model_id
        )

    def evaluate(self, features: Mapping[str, Any] | npt.ArrayLike) -> GateDecision:
        row = self.vector(features)
        return self.decide(float(self.model.predict_proba(row[np.newaxis, :])[0]))

    def evaluate_many(self, rows: Sequence[Mapping[str, Any]] | npt.ArrayLike) -> list[GateDecision]:
        """One model call for the whole batch (the Lambda's path); same decisions as ``evaluate`` per row."""
        X = self.matrix(rows)
        return [self.decide(p) for p in self.model.predict_proba(X)]
