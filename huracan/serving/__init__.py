"""Serving the meta-label model in Lambda without LightGBM: ONNX export (training side), onnxruntime
predictor and the registry-backed model provider (serving side).

The serving side needs onnxruntime and numpy only; :func:`export_onnx` additionally needs ``onnx`` and
LightGBM, imported when it runs, so importing this package stays cheap in a cold start.
"""

from __future__ import annotations

from huracan.serving.onnx_export import ONNX_FILE, OnnxExportError, export_onnx, onnx_artifacts
from huracan.serving.predictor import OnnxPredictor
from huracan.serving.provider import LoadedModel, RegistryModelProvider, provider_from_env

__all__ = [
    "ONNX_FILE",
    "LoadedModel",
    "OnnxExportError",
    "OnnxPredictor",
    "RegistryModelProvider",
    "export_onnx",
    "onnx_artifacts",
    "provider_from_env",
]
