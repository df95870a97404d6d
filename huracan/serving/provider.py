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

:class:`PointerWatcher` holds that policy once; :class:`RegistryModelProvider` (the meta-label model) and
:class:`~huracan.serving.regime.RegistryRegimeProvider` (the regime detector) only say how to load.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

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
    "PointerWatcher",
    "RegistryModelProvider",
    "check_onnx_source",
    "input_columns",
    "provider_from_env",
    "refresh_seconds_from_env",
    "registry_base_from_env",
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


def input_columns(model_features: Sequence[str], input_features: Sequence[str]) -> tuple[int, ...] | None:
    if tuple(model_features) == tuple(input_features):
        return None
    index = {n: i for i, n in enumerate(input_features)}
    missing = [n for n in model_features if n not in index]
    if missing:
        raise ModelVerificationError(f"the model needs features this service does not compute: {missing}")
    return tuple(index[n] for n in model_features)


class _Loaded(Protocol):
    @property
    def pointer(self) -> LatestPointer: ...

    @property
    def model_id(self) -> str: ...


L = TypeVar("L", bound=_Loaded)


class PointerWatcher(Generic[L]):
    """The latest verified version of one registry name, re-checked every ``refresh_seconds``.

    ``registry`` is a :class:`ModelRegistry` or a factory for one (built on first use, so a cold start
    that sees no signals does no I/O). ``clock`` is a monotonic seconds counter, only used to space
    the pointer checks (never for record times). Subclasses implement :meth:`_load`.
    """

    #: What serves while nothing verified is loaded (for the log line of a refusal).
    fallback = "the prior"

    def __init__(
        self,
        registry: ModelRegistry | Callable[[], ModelRegistry],
        *,
        name: str,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        input_features: Sequence[str] = MODEL_FEATURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_seconds < 0:
            raise ValueError(f"refresh_seconds must be >= 0, got {refresh_seconds}")
        self._registry = registry
        self.name = name
        #: the columns the service computes, in its order (a served graph's inputs are picked from these)
        self.input_features = tuple(input_features)
        self.refresh_seconds = float(refresh_seconds)
        self.clock = clock
        self.current: L | None = None
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

    def use_input_features(self, names: Sequence[str]) -> None:
        """The columns the service computes (its config's ``model_features``), known only once a handler has
        read its settings; a version loaded for other columns is loaded again at the next call."""
        names = tuple(names)
        if names != self.input_features:
            self.input_features = names
            self.current, self.checked_at = None, None

    def poll(self) -> L | None:
        """The served version, after a pointer check if the last one is ``refresh_seconds`` old."""
        now = self.clock()
        if self.checked_at is None or now - self.checked_at >= self.refresh_seconds:
            self.checked_at = now
            self.refresh()
        return self.current

    def refresh(self) -> L | None:
        """Check ``latest.json`` now; load and swap in the version it names if that is a different one."""
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
            self.loads += 1
            self.last_error = None
            log.info("%s: serving %s v%d", self.name, self.current.model_id, self.current.pointer.version)
        except ModelNotFoundError:
            return self.current
        except Exception as exc:  # refused or unreachable: keep serving what we had
            self.last_error = exc
            kept = self.current.model_id if self.current else self.fallback
            log.error(
                "%s: the published model was refused (%s: %s); keeping %s", self.name, type(exc).__name__, exc, kept
            )
        return self.current

    def _load(self) -> L:
        raise NotImplementedError


class RegistryModelProvider(PointerWatcher[LoadedModel]):
    """``provider()`` -> ``(model_id, predict)`` or None; plug into ``SignalService(model_provider=...)``.

    See :class:`PointerWatcher` for ``registry``, ``refresh_seconds`` and ``clock``.
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
        super().__init__(
            registry, name=name, refresh_seconds=refresh_seconds, input_features=input_features, clock=clock
        )

    def __call__(self) -> tuple[str, Predict] | None:
        current = self.poll()
        return None if current is None else (current.model_id, current.predict)

    def _load(self) -> LoadedModel:
        pointer, manifest, files = self.registry.load_latest_files(self.name, SERVING_FILES)
        listed: Mapping[str, Mapping[str, object]] = manifest["files"]
        predictor = OnnxPredictor.from_files(files, model_id=pointer.model_id)
        check_onnx_source(predictor.lightgbm_sha256, listed, pointer.model_id)
        return LoadedModel(pointer, predictor, input_columns(predictor.feature_names, self.input_features))


def check_onnx_source(
    onnx_lightgbm_sha256: str | None, listed: Mapping[str, Mapping[str, object]], model_id: str
) -> None:
    """``model.onnx`` must name the SHA256 of its version's ``model.lgb.txt``: the graph served is the
    one exported from the booster whose id is published."""
    if onnx_lightgbm_sha256 != listed[FILE_MODEL]["sha256"]:
        raise ModelVerificationError(
            f"{ONNX_FILE} was not exported from this version's {FILE_MODEL}",
            model_id=model_id,
            file=ONNX_FILE,
            expected=str(listed[FILE_MODEL]["sha256"]),
            actual=onnx_lightgbm_sha256,
        )


def refresh_seconds_from_env(env: Mapping[str, str]) -> float:
    raw = env.get("MODEL_REFRESH_SECONDS", "").strip()
    try:
        return float(raw) if raw else DEFAULT_REFRESH_SECONDS
    except ValueError as exc:
        raise ValueError(f"MODEL_REFRESH_SECONDS must be a number of seconds, got {raw!r}") from exc


def registry_base_from_env(env: Mapping[str, str]) -> str | None:
    """``$HURACAN_MODEL_PATH``, else ``s3://$MODEL_BUCKET/models``, else None (no registry configured)."""
    explicit = env.get("HURACAN_MODEL_PATH")
    if explicit:
        return explicit
    bucket = env.get("MODEL_BUCKET")
    return f"s3://{bucket}/models" if bucket else None


def provider_from_env(
    environ: Mapping[str, str] | None = None,
) -> RegistryModelProvider | None:
    """A provider on ``$HURACAN_MODEL_PATH`` or ``s3://$MODEL_BUCKET/models``; None when neither is set.

    ``MODEL_NAME`` (default ``meta_label``) and ``MODEL_REFRESH_SECONDS`` (default 60) tune it. The
    registry is built on first use, with the signer the registry picks (KMS public key on S3).
    """
    env = os.environ if environ is None else environ
    base = registry_base_from_env(env)
    if base is None:
        return None
    refresh = refresh_seconds_from_env(env)
    return RegistryModelProvider(
        lambda: ModelRegistry(base_path=base),
        name=env.get("MODEL_NAME", "meta_label") or "meta_label",
        refresh_seconds=refresh,
    )
