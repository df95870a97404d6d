"""The registry form of a trained regime detector: the same three prediction files as a meta-label model.

A detector is published under its own name (:data:`REGIME_DETECTOR_NAME`) because its readiness is its
own: it replaces the rule when it forecasts the coming regime better than the rule does, whatever the
meta-label model's verdict. Its files are

- ``model.lgb.txt`` — the multiclass LightGBM booster (one tree per class per round);
- ``calibration.json`` — identity: the class probabilities are used as the booster gives them;
- ``features.json`` — the ordered feature names plus, in ``metadata``, what turns probabilities into a
  regime: the class names in booster order and ``class_scale``. The decision is
  ``argmax(probability * class_scale)``, exactly :meth:`TrainedRegimeDetector.codes
  <huracan.learning.regime_detector.TrainedRegimeDetector.codes>`.

Because ``class_scale`` lives in ``features.json``, it is hashed into the model id: two detectors that
share a booster but decide differently never share an id. This module is numpy/json only, so both the
training side (which writes the files) and the Lambda (which reads them) use it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from huracan.registry.model import FILE_CALIBRATION, FILE_FEATURES, FILE_MODEL, IDENTITY, canonical_json

__all__ = ["DETECTOR_KIND", "REGIME_DETECTOR_NAME", "DetectorSpec", "detector_files"]

REGIME_DETECTOR_NAME = "regime_detector"
#: ``features.json`` ``metadata.kind`` of a detector (versioned: a reader refuses a format it does not know).
DETECTOR_KIND = "huracan.regime_detector/1"
_DECISION = "argmax(probability * class_scale)"


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """What a detector's booster output means: feature order, class names, the decision's class scale."""

    feature_names: tuple[str, ...]
    classes: tuple[str, ...]
    class_scale: tuple[float, ...]
    horizon: int

    def __post_init__(self) -> None:
        if not self.feature_names or len(set(self.feature_names)) != len(self.feature_names):
            raise ValueError(f"a detector needs unique feature names, got {list(self.feature_names)}")
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"a detector needs at least two distinct classes, got {list(self.classes)}")
        if len(self.class_scale) != len(self.classes):
            raise ValueError(f"{len(self.class_scale)} class scales for {len(self.classes)} classes")
        if not all(math.isfinite(s) and s > 0 for s in self.class_scale):
            raise ValueError(f"class scales must be finite and positive, got {list(self.class_scale)}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1 bar, got {self.horizon}")

    def features_doc(self) -> dict[str, Any]:
        return {
            "names": list(self.feature_names),
            "metadata": {
                "kind": DETECTOR_KIND,
                "classes": list(self.classes),
                "class_scale": [float(s) for s in self.class_scale],
                "horizon": int(self.horizon),
                "decision": _DECISION,
            },
        }

    @staticmethod
    def from_features(doc: Mapping[str, Any]) -> DetectorSpec:
        """From a parsed ``features.json``; anything that is not a detector's is refused."""
        meta = doc.get("metadata")
        if not isinstance(meta, Mapping) or meta.get("kind") != DETECTOR_KIND:
            kind = meta.get("kind") if isinstance(meta, Mapping) else None
            raise ValueError(f"features.json does not describe a regime detector (kind {kind!r})")
        return DetectorSpec(
            feature_names=tuple(str(n) for n in doc["names"]),
            classes=tuple(str(c) for c in meta["classes"]),
            class_scale=tuple(float(s) for s in meta["class_scale"]),
            horizon=int(meta["horizon"]),
        )

    @staticmethod
    def from_bytes(features_json: bytes) -> DetectorSpec:
        doc: dict[str, Any] = json.loads(features_json)
        return DetectorSpec.from_features(doc)


def detector_files(booster_text: str, spec: DetectorSpec) -> dict[str, bytes]:
    """The three prediction files of a detector, byte-stable (canonical JSON), for ``register_files``."""
    return {
        FILE_MODEL: booster_text.encode("utf-8"),
        FILE_CALIBRATION: canonical_json(IDENTITY.to_dict()),
        FILE_FEATURES: canonical_json(spec.features_doc()),
    }
