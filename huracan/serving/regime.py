"""Serving the trained regime detector in Lambda: its ONNX graph, and a registry watcher that swaps it in.

The nightly job publishes a detector under its own registry name (:data:`REGIME_DETECTOR_NAME`) only
when it forecasts the coming regime better than the rule (``replaces_rule``); a rejected one is kept as a
candidate. :class:`RegistryRegimeProvider` serves the published one exactly like the meta-label model
is served (:class:`~huracan.serving.provider.PointerWatcher`: pointer re-checked every
``refresh_seconds``, signed manifest, hashes, ``model.onnx`` tied to ``model.lgb.txt``; a refused version
keeps what the container had), and returns ``None`` while there is none, so the gates keep the rule.

Scoring needs onnxruntime and numpy only: ``model.onnx`` gives the class probabilities in float64 and the
regime is ``argmax(probability * class_scale)`` (``class_scale`` from the signed ``features.json``), the
same expression as :meth:`TrainedRegimeDetector.codes <huracan.learning.regime_detector.TrainedRegimeDetector.codes>`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from huracan.core.bars import FloatArray
from huracan.core.features import MODEL_FEATURES
from huracan.core.regime import REGIMES
from huracan.registry.detector import REGIME_DETECTOR_NAME, DetectorSpec
from huracan.registry.errors import ModelVerificationError
from huracan.registry.model import FILE_FEATURES
from huracan.registry.registry import LatestPointer, ModelRegistry
from huracan.serving.onnx_export import META_LIGHTGBM_SHA256 as _META_LIGHTGBM_SHA256
from huracan.serving.onnx_export import META_NUM_CLASS as _META_NUM_CLASS
from huracan.serving.onnx_export import ONNX_FILE
from huracan.serving.onnx_export import OUTPUT_PROBABILITY as _PROB
from huracan.serving.onnx_export import OUTPUT_RAW as _RAW
from huracan.serving.predictor import open_graph, run_graph
from huracan.serving.provider import (
    DEFAULT_REFRESH_SECONDS,
    PointerWatcher,
    check_onnx_source,
    input_columns,
    refresh_seconds_from_env,
    registry_base_from_env,
)

__all__ = [
    "DETECTOR_FILES",
    "REGIME_DETECTOR_NAME",
    "Classify",
    "LoadedDetector",
    "OnnxRegimeDetector",
    "RegistryRegimeProvider",
    "regime_provider_from_env",
]

#: What the Lambda downloads and verifies besides the manifest and its signature.
DETECTOR_FILES: tuple[str, ...] = (ONNX_FILE, FILE_FEATURES)

#: Names a regime per row of an ``(m, len(MODEL_FEATURES))`` matrix.
Classify = Callable[[FloatArray], npt.NDArray[np.str_]]


class OnnxRegimeDetector:
    """A multiclass graph from :func:`~huracan.serving.onnx_export.export_multiclass_onnx` and its decision.

    ``class_scale`` defaults to ones (plain argmax); ``feature_names`` to the graph's own; ``classes`` to
    :data:`~huracan.core.regime.REGIMES`. :meth:`classify` makes it a ``RegimeClassifier``.
    """

    def __init__(
        self,
        onnx_bytes: bytes,
        class_scale: Sequence[float] | None = None,
        feature_names: Sequence[str] | None = None,
        *,
        classes: Sequence[str] = REGIMES,
        model_id: str | None = None,
    ) -> None:
        self._session, meta, names = open_graph(onnx_bytes, feature_names, "multiclass")
        k = int(meta.get(_META_NUM_CLASS, "0"))
        if k != len(classes):
            raise ValueError(f"the graph scores {k} classes but {len(classes)} class names were given")
        scale = tuple(1.0 for _ in classes) if class_scale is None else tuple(float(s) for s in class_scale)
        if len(scale) != k:
            raise ValueError(f"{len(scale)} class scales for {k} classes")
        self.feature_names: tuple[str, ...] = names
        self.classes: tuple[str, ...] = tuple(classes)
        self.class_scale = scale
        self.model_id = model_id
        self.lightgbm_sha256: str | None = meta.get(_META_LIGHTGBM_SHA256)
        self._scale = np.asarray(scale, dtype=np.float64)
        self._names = np.asarray(self.classes)

    @staticmethod
    def from_files(files: Mapping[str, bytes], *, model_id: str | None = None) -> OnnxRegimeDetector:
        """From the registry's ``model.onnx`` and ``features.json`` (verified first)."""
        spec = DetectorSpec.from_bytes(files[FILE_FEATURES])
        return OnnxRegimeDetector(
            files[ONNX_FILE], spec.class_scale, spec.feature_names, classes=spec.classes, model_id=model_id
        )

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def _run(self, X: npt.ArrayLike, output: str) -> FloatArray:
        out = run_graph(self._session, X, self.feature_names, output)
        return out if len(out) else np.empty((0, len(self.classes)), dtype=np.float64)

    def proba(self, X: npt.ArrayLike) -> FloatArray:
        """Class probabilities ``(m, k)``, as ``lightgbm.Booster.predict`` of the multiclass booster."""
        return self._run(X, _PROB)

    def raw_score(self, X: npt.ArrayLike) -> FloatArray:
        return self._run(X, _RAW)

    def codes(self, X: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Class index per row: ``argmax(probability * class_scale)``."""
        out: npt.NDArray[np.int8] = np.argmax(self.proba(X) * self._scale, axis=1).astype(np.int8)
        return out

    def classify(self, X: FloatArray) -> npt.NDArray[np.str_]:
        names: npt.NDArray[np.str_] = self._names[self.codes(X)]
        return names

    def __repr__(self) -> str:
        return f"OnnxRegimeDetector(model_id={self.model_id!r}, classes={list(self.classes)}, scale={self.class_scale})"


@dataclass(frozen=True, slots=True)
class LoadedDetector:
    """The served detector: its pointer and the graph behind :meth:`classify`."""

    pointer: LatestPointer
    detector: OnnxRegimeDetector
    columns: tuple[int, ...] | None  # input columns in detector order; None when already in order

    @property
    def model_id(self) -> str:
        return self.pointer.model_id

    def classify(self, X: FloatArray) -> npt.NDArray[np.str_]:
        """Regime names for an ``(m, len(input features))`` matrix (the service's ``model_features``: the
        detector reads only its bar features, picked by name)."""
        arr = np.asarray(X, dtype=np.float64)
        if self.columns is not None:
            arr = arr[:, list(self.columns)]
        return self.detector.classify(arr)


class RegistryRegimeProvider(PointerWatcher[LoadedDetector]):
    """``provider()`` -> ``(model_id, classify)`` or None; plug into ``SignalService(regime_provider=...)``."""

    fallback = "the rule"

    def __init__(
        self,
        registry: ModelRegistry | Callable[[], ModelRegistry],
        *,
        name: str = REGIME_DETECTOR_NAME,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        input_features: Sequence[str] = MODEL_FEATURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            registry, name=name, refresh_seconds=refresh_seconds, input_features=input_features, clock=clock
        )

    def __call__(self) -> tuple[str, Classify] | None:
        current = self.poll()
        return None if current is None else (current.model_id, current.classify)

    def _load(self) -> LoadedDetector:
        pointer, manifest, files = self.registry.load_latest_files(self.name, DETECTOR_FILES)
        try:
            detector = OnnxRegimeDetector.from_files(files, model_id=pointer.model_id)
        except (ValueError, KeyError, TypeError) as exc:  # signed, but not a detector this code can serve
            raise ModelVerificationError(
                f"not a servable regime detector: {exc}", model_id=pointer.model_id, file=FILE_FEATURES
            ) from exc
        check_onnx_source(detector.lightgbm_sha256, manifest["files"], pointer.model_id)
        unknown = sorted(set(detector.classes) - set(REGIMES))
        if unknown:
            raise ModelVerificationError(
                f"the detector names regimes the gates do not know: {unknown}", model_id=pointer.model_id
            )
        return LoadedDetector(pointer, detector, input_columns(detector.feature_names, self.input_features))


def regime_provider_from_env(
    environ: Mapping[str, str] | None = None, *, share_registry_with: PointerWatcher[Any] | None = None
) -> RegistryRegimeProvider | None:
    """A detector provider on the same registry as :func:`~huracan.serving.provider.provider_from_env`.

    ``REGIME_MODEL_NAME`` (default ``regime_detector``; ``none`` turns the detector off, so the rule
    always serves) and ``MODEL_REFRESH_SECONDS`` tune it. None when no registry is configured.
    ``share_registry_with`` (the meta-label provider) makes both use one registry object, so a cold start
    builds one S3 client and fetches the signing public key once.
    """
    env = os.environ if environ is None else environ
    base = registry_base_from_env(env)
    name = (env.get("REGIME_MODEL_NAME") or REGIME_DETECTOR_NAME).strip()
    if base is None or name.lower() == "none":
        return None
    shared = share_registry_with

    def registry() -> ModelRegistry:
        if shared is not None and shared.registry.base_path == base:
            return shared.registry
        return ModelRegistry(base_path=base)

    return RegistryRegimeProvider(registry, name=name, refresh_seconds=refresh_seconds_from_env(env))
