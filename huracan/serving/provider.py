"""The model the evaluate-signals Lambda gates with: the latest *verified* model, loaded once per container.

A warm container keeps its predictor and looks at ``latest.json`` again at most every ``refresh_seconds``
(one small GET; the pointer names the manifest's SHA256, so "same pointer" means "same model"). Only a
changed pointer triggers a download, and then only of what serving needs: the signed manifest, its
signature, ``model.onnx``, ``calibration.json`` and ``features.json``, each checked against the manifest
(:meth:`ModelRegistry.load_latest_files`). ``model.onnx`` must also carry the SHA256 of the manifest's
``model.lgb.txt``, so the graph served is the one exported from the booster whose id is published.

Failure policy, as for Hamilton: a model that fails any check is refused, logged, and the container keeps
the model it had (or the documented prior, when it had none); the next check is again ``refresh_seconds``
later. Nothing published yet is not an error: the provider returns None and the gates use the prior.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from huracan.core.bars import FloatArray
from huracan.core.features import MODEL_FEATURES
from huracan.registry.errors import ModelNotFoundError, ModelVerificationError
from huracan.registry.model import FILE_CALIBRATION, FILE_FEATURES, FILE_MODEL
from huracan.registry.registry import LatestPointer, ModelRegistry
from huracan.serving.onnx_export import ONNX_FILE
from huracan.serving.predictor import OnnxPredictor

__all__ = [
    "DEFAULT_REFRESH_SECONDS",
    "SERVING_FILES",
    "LoadedModel",
    "RegistryModelProvider",
    "provider_from_env",
]

log = logging.getLogger(__name__)

#: What the Lambda downloads and verifies besides the manifest and its signature.
SERVING_FILES: tuple[str, ...] = (ONNX_FILE, FILE_CALIBRATION, FILE_FEATURES)
DEFAULT_REFRESH_SECONDS = 60.0

Predict = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """The served model: its pointer (model id + manifest SHA256) and the predictor behind ``predict``."""

    pointer: LatestPointer
    predictor: OnnxPredictor
    columns: tuple[int, ...] | None  # input columns in model order; None when already in order

    @property
    def model_id(self) -> str:
        return self.pointer.model_id

    def predict(self, X: FloatArray) -> FloatArray:
        """Calibrated P(win) for an ``(m, len(input features))`` matrix."""
        arr = np.asarray(X, dtype=np.float64)
        if self.columns is not None:
            arr = arr[:, list(self.columns)]
        return self.predictor.predict_proba(arr)


def _columns(model_features: Sequence[str], input_features: Sequence[str]) -> tuple[int, ...] | None:
    if tuple(model_features) == tuple(input_features):
        return None
    index = {n: i for i, n in enumerate(input_features)}
    missing = [n for n in model_features if n not in index]
    if missing:
        raise ModelVerificationError(f"the model needs features this service does not compute: {missing}")
    return tuple(index[n] for n in model_features)


class RegistryModelProvider:
    """``provider()`` -> ``(model_id, predict)`` or None; plug into ``SignalService(model_provider=...)``.

    ``registry`` is a :class:`ModelRegistry` or a factory for one (built on first use, so a cold start
    that sees no signals does no I/O). ``clock`` is a monotonic seconds counter, only used to space
    the pointer checks (never for record times).
    """

    def __init__(
        self,
        registry: ModelRegistry | Callable[[], ModelRegistry],
        *,
        name: str = "meta_label",
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        input_features: Sequence[str] = MODEL_FEATURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_seconds < 0:
            raise ValueError(f"refresh_seconds must be >= 0, got {refresh_seconds}")
        self._registry = registry
        self.name = name
        self.refresh_seconds = float(refresh_seconds)
        self.input_features = tuple(input_features)
        self.clock = clock
        self.current: LoadedModel | None = None
        self.checked_at: float | None = None
        #: The last refusal (verification failure or unreadable registry), for logs and health checks.
        self.last_error: Exception | None = None
        #: How many pointer checks and model loads this container did (for the benchmark and tests).
        self.checks = 0
        self.loads = 0

    @property
    def registry(self) -> ModelRegistry:
        if not isinstance(self._registry, ModelRegistry):
            self._registry = self._registry()
        return self._registry

    def __call__(self) -> tuple[str, Predict] | None:
        now = self.clock()
        if self.checked_at is None or now - self.checked_at >= self.refresh_seconds:
            self.checked_at = now
            self.refresh()
        current = self.current
        return None if current is None else (current.model_id, current.predict)

    def refresh(self) -> LoadedModel | None:
        """Check ``latest.json`` now; load and swap in the model it names if that is a different one."""
        self.checks += 1
        try:
            pointer = self.registry.latest(self.name)
            if pointer is None:
                if self.current is not None:
                    log.warning("%s: latest.json vanished; keeping %s", self.name, self.current.model_id)
                return self.current
            if self.current is not None and (pointer.model_id, pointer.manifest_sha256) == (
                self.current.pointer.model_id,
                self.current.pointer.manifest_sha256,
            ):
                return self.current
            self.current = self._load()
            self.last_error = None
        except ModelNotFoundError:
            return self.current
        except Exception as exc:  # refused or unreachable: keep serving what we had
            self.last_error = exc
            kept = self.current.model_id if self.current else "the prior"
            log.error(
                "%s: the published model was refused (%s: %s); keeping %s", self.name, type(exc).__name__, exc, kept
            )
        return self.current

    def _load(self) -> LoadedModel:
        pointer, manifest, files = self.registry.load_latest_files(self.name, SERVING_FILES)
        listed: Mapping[str, Mapping[str, object]] = manifest["files"]
        predictor = OnnxPredictor.from_files(files, model_id=pointer.model_id)
        if predictor.lightgbm_sha256 != listed[FILE_MODEL]["sha256"]:
            raise ModelVerificationError(
                f"{ONNX_FILE} was not exported from this version's {FILE_MODEL}",
                model_id=pointer.model_id,
                file=ONNX_FILE,
                expected=str(listed[FILE_MODEL]["sha256"]),
                actual=predictor.lightgbm_sha256,
            )
        loaded = LoadedModel(pointer, predictor, _columns(predictor.feature_names, self.input_features))
        self.loads += 1
        log.info("%s: serving %s v%d", self.name, pointer.model_id, pointer.version)
        return loaded


def provider_from_env(
    environ: Mapping[str, str] | None = None,
) -> RegistryModelProvider | None:
    """A provider on ``$HURACAN_MODEL_PATH`` or ``s3://$MODEL_BUCKET/models``; None when neither is set.

    ``MODEL_NAME`` (default ``meta_label``) and ``MODEL_REFRESH_SECONDS`` (default 60) tune it. The
    registry is built on first use, with the signer the registry picks (KMS public key on S3).
    """
    env = os.environ if environ is None else environ
    if not (env.get("HURACAN_MODEL_PATH") or env.get("MODEL_BUCKET")):
        return None
    raw = env.get("MODEL_REFRESH_SECONDS", "").strip()
    try:
        refresh = float(raw) if raw else DEFAULT_REFRESH_SECONDS
    except ValueError as exc:
        raise ValueError(f"MODEL_REFRESH_SECONDS must be a number of seconds, got {raw!r}") from exc
    explicit = env.get("HURACAN_MODEL_PATH")
    base = explicit if explicit else f"s3://{env['MODEL_BUCKET']}/models"
    return RegistryModelProvider(
        lambda: ModelRegistry(base_path=base),
        name=env.get("MODEL_NAME", "meta_label") or "meta_label",
        refresh_seconds=refresh,
    )
