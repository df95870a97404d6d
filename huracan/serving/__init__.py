"""Serving the meta-label model and the regime detector in Lambda without LightGBM: ONNX export (training
side), onnxruntime predictors and the registry-backed providers (serving side).

The serving side needs onnxruntime and numpy only; :func:`export_onnx` additionally needs ``onnx`` and
LightGBM, imported when it runs, so importing this package stays cheap in a cold start.
"""

from __future__ import annotations

from huracan.serving.onnx_export import (
    ONNX_FILE,
    OnnxExportError,
    export_multiclass_onnx,
    export_onnx,
    onnx_artifacts,
    regime_onnx_artifacts,
)
from huracan.serving.predictor import OnnxPredictor
from huracan.serving.provider import LoadedModel, RegistryModelProvider, provider_from_env
from huracan.serving.regime import (
    LoadedDetector,
    OnnxRegimeDetector,
    RegistryRegimeProvider,
    regime_provider_from_env,
)

__all__ = [
    "ONNX_FILE",
    "LoadedDetector",
    "LoadedModel",
    "OnnxExportError",
    "OnnxPredictor",
    "OnnxRegimeDetector",
    "RegistryModelProvider",
    "RegistryRegimeProvider",
    "export_multiclass_onnx",
    "export_onnx",
    "onnx_artifacts",
    "provider_from_env",
    "regime_onnx_artifacts",
    "regime_provider_from_env",
]
