"""Serving side: a calibrated meta-label model scored by onnxruntime and numpy alone.

The Lambda layer carries neither LightGBM (it needs scipy, which alone breaks the 150 MB budget) nor
scikit-learn: ``model.onnx`` gives the booster's raw score and probability in float64 and the numpy
:class:`~huracan.registry.model.Calibration` from ``calibration.json`` maps them, exactly as
:meth:`MetaLabelModel.predict_proba` does with LightGBM.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]

from huracan.core.bars import FloatArray
from huracan.registry.model import FILE_CALIBRATION, FILE_FEATURES, IDENTITY, Calibration
from huracan.serving.onnx_export import INPUT_NAME as _INPUT
from huracan.serving.onnx_export import META_FEATURES as _META_FEATURES
from huracan.serving.onnx_export import META_LIGHTGBM_SHA256 as _META_LIGHTGBM_SHA256
from huracan.serving.onnx_export import ONNX_FILE as _ONNX_FILE
from huracan.serving.onnx_export import OUTPUT_PROBABILITY as _PROB
from huracan.serving.onnx_export import OUTPUT_RAW as _RAW

__all__ = ["OnnxPredictor", "open_graph", "run_graph"]


def _session(onnx_bytes: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    # Lambda gives a fraction of a core; a thread pool only adds start-up and hand-off cost.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(onnx_bytes, sess_options=opts, providers=["CPUExecutionProvider"])


def open_graph(
    onnx_bytes: bytes, feature_names: Sequence[str] | None, kind: str
) -> tuple[ort.InferenceSession, Mapping[str, str], tuple[str, ...]]:
    """A huracan graph's session, its metadata and its feature names, checked against what the exporter recorded.

    Shared by the meta-label predictor and the regime detector: one input, the raw and probability outputs,
    and feature names (given, else the graph's own) that match the graph's width and its recorded names.
    """
    session = _session(onnx_bytes)
    meta: Mapping[str, str] = session.get_modelmeta().custom_metadata_map
    recorded = json.loads(meta[_META_FEATURES]) if _META_FEATURES in meta else None
    names = tuple(feature_names) if feature_names is not None else tuple(recorded or ())
    inputs = session.get_inputs()
    outputs = {o.name for o in session.get_outputs()}
    if len(inputs) != 1 or inputs[0].name != _INPUT or not {_RAW, _PROB} <= outputs:
        raise ValueError(f"not a huracan {kind} graph: inputs {[i.name for i in inputs]}, outputs {outputs}")
    width = inputs[0].shape[1]
    if not names or (isinstance(width, int) and width != len(names)):
        raise ValueError(f"the graph takes {width} features but {len(names)} feature names were given")
    if recorded is not None and list(recorded) != list(names):
        raise ValueError(f"feature names {list(names)} do not match the graph's own {recorded}")
    return session, meta, names


def run_graph(session: ort.InferenceSession, X: npt.ArrayLike, feature_names: Sequence[str], output: str) -> FloatArray:
    """One output of a huracan graph for an ``(m, len(feature_names))`` float64 matrix (empty in, empty out).

    Shared by the meta-label predictor and the regime detector: a wrong shape is refused with the order the
    graph expects, before onnxruntime sees it.
    """
    arr = np.ascontiguousarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(feature_names):
        raise ValueError(
            f"X must have shape (m, {len(feature_names)}) in feature order {list(feature_names)}, got {arr.shape}"
        )
    if arr.shape[0] == 0:
        return np.empty(0, dtype=np.float64)
    (out,) = session.run([output], {_INPUT: arr})
    return np.asarray(out, dtype=np.float64)


class OnnxPredictor:
    """``predict_proba(X)`` for an ``(m, k)`` float matrix in ``feature_names`` order, via onnxruntime.

    ``feature_names`` default to the ones recorded in the graph by the exporter; ``calibration`` to
    identity. :attr:`lightgbm_sha256` is the SHA256 of the LightGBM text the graph was exported from.
    """

    def __init__(
        self,
        onnx_bytes: bytes,
        calibration: Calibration = IDENTITY,
        feature_names: Sequence[str] | None = None,
        *,
        model_id: str | None = None,
    ) -> None:
        self._session, meta, names = open_graph(onnx_bytes, feature_names, "meta-label")
        self.feature_names: tuple[str, ...] = names
        self.calibration = calibration
        self.model_id = model_id
        self.lightgbm_sha256: str | None = meta.get(_META_LIGHTGBM_SHA256)
        self._output = _RAW if calibration.input == "raw_score" else _PROB

    @staticmethod
    def from_files(files: Mapping[str, bytes], *, model_id: str | None = None) -> OnnxPredictor:
        """From the registry's ``model.onnx``, ``calibration.json`` and ``features.json`` (verified first)."""
        features: dict[str, Any] = json.loads(files[FILE_FEATURES])
        return OnnxPredictor(
            files[_ONNX_FILE],
            Calibration.from_dict(json.loads(files[FILE_CALIBRATION])),
            tuple(features["names"]),
            model_id=model_id,
        )

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def _run(self, X: npt.ArrayLike, output: str) -> FloatArray:
        return run_graph(self._session, X, self.feature_names, output).reshape(-1)

    def raw_score(self, X: npt.ArrayLike) -> FloatArray:
        """The booster's raw score (log-odds), as ``lightgbm.Booster.predict(raw_score=True)``."""
        return self._run(X, _RAW)

    def raw_proba(self, X: npt.ArrayLike) -> FloatArray:
        """The booster's uncalibrated probability, as ``lightgbm.Booster.predict``."""
        return self._run(X, _PROB)

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Calibrated probability that the trade wins, one per row: :meth:`MetaLabelModel.predict_proba`."""
        return self.calibration.apply(self._run(X, self._output))

    def __repr__(self) -> str:
        return f"OnnxPredictor(model_id={self.model_id!r}, features={self.n_features}, calibration={self.calibration.kind!r})"
