"""The challengers the evaluate-signals Lambda scores in shadow: live ones listed by the registry, verified.

The nightly job lists up to two live challengers in ``<name>/challengers.json``. A warm container re-reads
that list at most every ``refresh_seconds`` and loads each version it does not hold yet by id — the signed
manifest, ``model.onnx``, ``calibration.json`` and ``features.json``, every one checked as the champion's
are (:meth:`~huracan.registry.registry.ModelRegistry.load_version_files`). A version that fails a check is
left out (logged); a version dropped from the list is dropped here. The challengers' probabilities are only
stored on the decision (:class:`~huracan.service.evaluate.SignalService`): the gates never see them, so a
challenger cannot change what the lab does, only what the nightly learns about it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from huracan.core.bars import FloatArray
from huracan.core.features import MODEL_FEATURES
from huracan.registry.registry import ModelRegistry
from huracan.serving.predictor import OnnxPredictor
from huracan.serving.provider import (
    DEFAULT_REFRESH_SECONDS,
    SERVING_FILES,
    check_onnx_source,
    input_columns,
    refresh_seconds_from_env,
    registry_base_from_env,
)

__all__ = ["RegistryChallengerProvider", "challengers_from_env"]

log = logging.getLogger(__name__)

Predict = Callable[[FloatArray], FloatArray]
MAX_LIVE = 2


class _Served:
    __slots__ = ("columns", "model_id", "predictor")

    def __init__(self, model_id: str, predictor: OnnxPredictor, columns: tuple[int, ...] | None) -> None:
        self.model_id, self.predictor, self.columns = model_id, predictor, columns

    def predict(self, X: FloatArray) -> FloatArray:
        arr = np.asarray(X, dtype=np.float64)
        if self.columns is not None:
            arr = arr[:, list(self.columns)]
        return self.predictor.predict_proba(arr)


class RegistryChallengerProvider:
    """``provider()`` -> ``[(model_id, predict), ...]``; plug into ``SignalService(challenger_provider=...)``."""

    def __init__(
        self,
        registry: ModelRegistry | Callable[[], ModelRegistry],
        *,
        name: str = "meta_label",
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        input_features: Sequence[str] = MODEL_FEATURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self.name = name
        self.refresh_seconds = float(refresh_seconds)
        self.input_features = tuple(input_features)
        self.clock = clock
        self.checked_at: float | None = None
        self.served: dict[str, _Served] = {}
        self.refused: dict[str, str] = {}
        self.checks = 0

    @property
    def registry(self) -> ModelRegistry:
        if not isinstance(self._registry, ModelRegistry):
            self._registry = self._registry()
        return self._registry

    def use_input_features(self, names: Sequence[str]) -> None:
        """As :meth:`~huracan.serving.provider.PointerWatcher.use_input_features`: the service's columns; what was
        loaded for other columns is loaded again at the next call."""
        names = tuple(names)
        if names != self.input_features:
            self.input_features = names
            self.served, self.refused, self.checked_at = {}, {}, None

    def __call__(self) -> list[tuple[str, Predict]]:
        now = self.clock()
        if self.checked_at is None or now - self.checked_at >= self.refresh_seconds:
            self.checked_at = now
            self.refresh()
        return [(cid, s.predict) for cid, s in self.served.items()]

    def refresh(self) -> None:
        """Re-read the live list; load what is new, drop what left it."""
        self.checks += 1
        try:
            live = [str(e["model_id"]) for e in self.registry.challengers(self.name)["live"]][:MAX_LIVE]
        except Exception as exc:  # an unreadable list: keep scoring what we had
            log.error("%s: challengers list unreadable (%s); keeping %s", self.name, exc, list(self.served))
            return
        kept: dict[str, _Served] = {}
        for cid in live:
            if cid in self.served:
                kept[cid] = self.served[cid]
                continue
            if cid in self.refused:
                continue
            try:
                kept[cid] = self._load(cid)
                log.info("%s: scoring challenger %s in shadow", self.name, cid)
            except Exception as exc:  # refused: never scored
                self.refused[cid] = f"{type(exc).__name__}: {exc}"
                log.error("%s: challenger %s refused (%s)", self.name, cid, exc)
        self.served = kept

    def _load(self, model_id: str) -> _Served:
        manifest, files = self.registry.load_version_files(model_id, SERVING_FILES)
        listed: Mapping[str, Mapping[str, object]] = manifest["files"]
        predictor = OnnxPredictor.from_files(files, model_id=model_id)
        check_onnx_source(predictor.lightgbm_sha256, listed, model_id)
        return _Served(model_id, predictor, input_columns(predictor.feature_names, self.input_features))


def challengers_from_env(environ: Mapping[str, str]) -> RegistryChallengerProvider | None:
    """A challenger provider on the same registry and settings as :func:`~.provider.provider_from_env`."""
    base = registry_base_from_env(environ)
    if base is None:
        return None
    return RegistryChallengerProvider(
        lambda: ModelRegistry(base_path=base),
        name=environ.get("MODEL_NAME", "meta_label") or "meta_label",
        refresh_seconds=refresh_seconds_from_env(environ),
    )
