"""The serving form of a calibrated meta-label model: three small files that fully determine predictions.

A trained model travels as

- ``model.lgb.txt`` — LightGBM's own text format (readable, diffable, stable across LightGBM versions,
  unlike a pickle of a Python object);
- ``calibration.json`` — the map from raw booster probability to a calibrated probability, evaluated
  with numpy so serving needs no scikit-learn;
- ``features.json`` — the ordered feature names (the column order of ``X``) plus free metadata.

Because those bytes are all a prediction depends on, the model id is a hash over them (see
:func:`model_id_for`), so the same model always gets the same id wherever and whenever it is registered.
Serving imports neither pandas nor scikit-learn; LightGBM is imported lazily, on the first prediction.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from huracan.core.bars import FloatArray

__all__ = [
    "FILE_CALIBRATION",
    "FILE_FEATURES",
    "FILE_MODEL",
    "IDENTITY",
    "PREDICTION_FILES",
    "Calibration",
    "CalibrationInput",
    "MetaLabelModel",
    "canonical_json",
    "model_id_for",
    "sha256_hex",
]

FILE_MODEL = "model.lgb.txt"
FILE_CALIBRATION = "calibration.json"
FILE_FEATURES = "features.json"
#: The files a prediction depends on, in the (sorted) order the model id hashes them.
PREDICTION_FILES: tuple[str, ...] = tuple(sorted((FILE_MODEL, FILE_CALIBRATION, FILE_FEATURES)))

CalibrationKind = Literal["identity", "sigmoid", "isotonic"]
CalibrationInput = Literal["probability", "raw_score"]
_PROB_OBJECTIVES = frozenset({"binary", "cross_entropy", "xentropy"})
_SINGLE_THREAD_ROWS = 50_000


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    """JSON with sorted keys, fixed separators and no NaN: equal content always gives equal bytes (and ids)."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True) + "\n").encode()


def model_id_for(file_sha256: Mapping[str, str]) -> str:
    """``sha256:`` + SHA256 of ``"<sha256>  <name>\\n"`` lines sorted by name.

    That is exactly ``sha256sum calibration.json features.json model.lgb.txt | sha256sum`` in a shell,
    so anyone (Hamilton, an auditor) can recompute an id from the files without this package.
    """
    lines = "".join(f"{file_sha256[name]}  {name}\n" for name in sorted(file_sha256))
    return "sha256:" + sha256_hex(lines.encode())


def _finite(value: float, what: str) -> float:
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"calibration {what} must be finite, got {value!r}")
    return out


@dataclass(frozen=True, slots=True)
class Calibration:
    """Raw booster probability -> calibrated probability, with numpy only.

    ``sigmoid`` uses scikit-learn's Platt convention, ``p = 1 / (1 + exp(a * raw + b))`` (so ``a`` is
    usually negative), so ``a_``/``b_`` of a fitted ``_SigmoidCalibration`` can be copied as they are.
    ``isotonic`` is piecewise-linear through ``(x, y)`` and flat beyond the ends, which is what
    ``IsotonicRegression(out_of_bounds="clip")`` predicts.

    ``input`` says what the calibrator was fitted on: the booster's probability (the default), or its raw
    score (log-odds, ``predict(raw_score=True)``). The latter is what ``CalibratedClassifierCV`` fits for an
    ``LGBMClassifier`` with LightGBM >= 4 (it prefers ``decision_function``), so its ``a_``/``b_`` must be
    stored with ``input="raw_score"``; the JSON carries ``"input"`` only in that case.
    """

    kind: CalibrationKind = "identity"
    a: float = 0.0
    b: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    input: CalibrationInput = "probability"

    def __post_init__(self) -> None:
        if self.input not in ("probability", "raw_score"):
            raise ValueError(f"calibration input must be 'probability' or 'raw_score', got {self.input!r}")
        if self.kind == "identity":
            if self.input != "probability":
                raise ValueError("an identity calibration must take probabilities (raw scores are not probabilities)")
            return
        if self.kind == "sigmoid":
            _finite(self.a, "a")
            _finite(self.b, "b")
            return
        if self.kind != "isotonic":
            raise ValueError(f"unknown calibration kind {self.kind!r}; expected identity, sigmoid or isotonic")
        if not self.x or len(self.x) != len(self.y):
            raise ValueError(
                f"isotonic calibration needs equal, non-empty x and y (got {len(self.x)} and {len(self.y)})"
            )
        xs = np.array([_finite(v, "x") for v in self.x])
        ys = np.array([_finite(v, "y") for v in self.y])
        if np.any(np.diff(xs) < 0):
            raise ValueError("isotonic calibration x must be sorted ascending")
        if np.any(ys < 0) or np.any(ys > 1):
            raise ValueError("isotonic calibration y must be probabilities in [0, 1]")

    @staticmethod
    def identity() -> Calibration:
        return IDENTITY

    @staticmethod
    def sigmoid(a: float, b: float, *, input: CalibrationInput = "probability") -> Calibration:
        return Calibration(kind="sigmoid", a=float(a), b=float(b), input=input)

    @staticmethod
    def isotonic(x: npt.ArrayLike, y: npt.ArrayLike, *, input: CalibrationInput = "probability") -> Calibration:
        return Calibration(
            kind="isotonic",
            x=tuple(float(v) for v in np.asarray(x, dtype=np.float64).ravel()),
            y=tuple(float(v) for v in np.asarray(y, dtype=np.float64).ravel()),
            input=input,
        )

    def apply(self, raw: FloatArray) -> FloatArray:
        p = np.asarray(raw, dtype=np.float64)
        if self.kind == "identity":
            return p
        if self.kind == "sigmoid":
            # 1 / (1 + exp(z)) written to stay finite for large |z|.
            z = self.a * p + self.b
            return np.asarray(np.exp(-np.logaddexp(0.0, z)), dtype=np.float64)
        return np.asarray(np.interp(p, np.asarray(self.x), np.asarray(self.y)), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any]
        if self.kind == "sigmoid":
            out = {"kind": "sigmoid", "a": self.a, "b": self.b}
        elif self.kind == "isotonic":
            out = {"kind": "isotonic", "x": list(self.x), "y": list(self.y)}
        else:
            out = {"kind": "identity"}
        if self.input != "probability":
            out["input"] = self.input
        return out

    @staticmethod
    def from_dict(obj: Mapping[str, Any]) -> Calibration:
        kind = obj.get("kind")
        inp = obj.get("input", "probability")
        if kind == "sigmoid":
            return Calibration.sigmoid(obj["a"], obj["b"], input=inp)
        if kind == "isotonic":
            return Calibration.isotonic(obj["x"], obj["y"], input=inp)
        if kind == "identity" and inp == "probability":
            return IDENTITY
        raise ValueError(f"unknown calibration kind {kind!r}; expected identity, sigmoid or isotonic")


IDENTITY = Calibration()


def _booster_header(text: str) -> dict[str, str]:
    """The ``key=value`` lines before the first tree: objective, feature names, feature count."""
    header: dict[str, str] = {}
    for line in text.split("\nTree=", 1)[0].splitlines():
        key, sep, value = line.partition("=")
        if sep:
            header[key.strip()] = value.strip()
    return header


@dataclass(frozen=True, eq=False)
class MetaLabelModel:
    """A calibrated binary LightGBM model whose inputs are named, ordered features.

    ``metadata`` (name, version, created_at, training windows...) describes the model but is not part of
    its identity: only ``booster_text``, ``calibration`` and the feature list (names + ``feature_metadata``)
    are hashed into :attr:`model_id`.
    """

    booster_text: str
    feature_names: tuple[str, ...]
    calibration: Calibration = IDENTITY
    feature_metadata: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "feature_names", tuple(str(n) for n in self.feature_names))
        names = self.feature_names
        if not names:
            raise ValueError("a model needs at least one feature name")
        if len(set(names)) != len(names):
            raise ValueError(f"feature names must be unique: {list(names)}")
        header = _booster_header(self.booster_text)
        if "max_feature_idx" not in header:
            raise ValueError("booster_text is not a LightGBM text model (no max_feature_idx line)")
        n_booster = int(header["max_feature_idx"]) + 1
        if n_booster != len(names):
            raise ValueError(f"the booster uses {n_booster} features but {len(names)} feature names were given")
        objective = header.get("objective", "").split(" ")[0]
        if objective not in _PROB_OBJECTIVES:
            raise ValueError(f"a meta-label model must be a binary probability model, got objective {objective!r}")
        booster_names = header.get("feature_names", "").split(" ")
        defaults = [f"Column_{i}" for i in range(n_booster)]
        if booster_names not in (list(names), defaults):
            raise ValueError(
                f"feature names {list(names)} do not match the booster's own {booster_names}: "
                "the column order would be wrong"
            )
        files = {
            FILE_MODEL: self.booster_text.encode("utf-8"),
            FILE_CALIBRATION: canonical_json(self.calibration.to_dict()),
            FILE_FEATURES: canonical_json({"names": list(names), "metadata": dict(self.feature_metadata)}),
        }
        object.__setattr__(self, "_files", files)
        object.__setattr__(self, "_model_id", model_id_for({k: sha256_hex(v) for k, v in files.items()}))
        object.__setattr__(self, "_booster", None)

    # --- identity and files -------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """``sha256:<hex>`` over the three prediction files (see :func:`model_id_for`)."""
        return str(self.__dict__["_model_id"])

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def files(self) -> dict[str, bytes]:
        """The three prediction files, byte for byte as the registry stores them."""
        return dict(self.__dict__["_files"])

    def with_metadata(self, **metadata: Any) -> MetaLabelModel:
        return replace(self, metadata={**self.metadata, **metadata})

    @staticmethod
    def from_files(files: Mapping[str, bytes], metadata: Mapping[str, Any] | None = None) -> MetaLabelModel:
        """Rebuild from the three files; the registry calls this only after their hashes were verified."""
        features = json.loads(files[FILE_FEATURES])
        return MetaLabelModel(
            booster_text=files[FILE_MODEL].decode("utf-8"),
            feature_names=tuple(features["names"]),
            calibration=Calibration.from_dict(json.loads(files[FILE_CALIBRATION])),
            feature_metadata=features.get("metadata", {}),
            metadata=dict(metadata or {}),
        )

    @staticmethod
    def from_lightgbm(
        model: Any,
        *,
        calibration: Calibration | None = None,
        feature_names: Sequence[str] | None = None,
        feature_metadata: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> MetaLabelModel:
        """Wrap a fitted ``lightgbm.Booster`` or ``LGBMClassifier`` (identity calibration unless given).

        Duck-typed on ``booster_`` / ``model_to_string`` so this module never imports LightGBM's sklearn
        wrapper (and through it scikit-learn).
        """
        if isinstance(model, MetaLabelModel):
            return model
        booster = getattr(model, "booster_", None) or model
        if not hasattr(booster, "model_to_string"):
            raise TypeError(
                f"expected a MetaLabelModel, lightgbm.Booster or fitted LGBMClassifier, got {type(model).__name__}"
            )
        names = list(feature_names) if feature_names is not None else list(booster.feature_name())
        return MetaLabelModel(
            booster_text=booster.model_to_string(),
            feature_names=tuple(names),
            calibration=calibration or IDENTITY,
            feature_metadata=dict(feature_metadata or {}),
            metadata=dict(metadata or {}),
        )

    # --- serving ---------------------------------------------------------------------------------------

    def _get_booster(self) -> Any:
        booster = self.__dict__["_booster"]
        if booster is None:
            import lightgbm  # lazily: listing or verifying models must not pay for it

            booster = lightgbm.Booster(model_str=self.booster_text)
            object.__setattr__(self, "_booster", booster)
        return booster

    def _booster_predict(self, X: npt.ArrayLike, *, raw_score: bool) -> FloatArray:
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise ValueError(
                f"X must have shape (m, {self.n_features}) in feature order {list(self.feature_names)}, got {arr.shape}"
            )
        if arr.shape[0] == 0:
            return np.empty(0, dtype=np.float64)
        # One thread below a large batch: OpenMP start-up costs ~10x the work of scoring one signal.
        threads = 1 if arr.shape[0] < _SINGLE_THREAD_ROWS else 0
        raw = np.asarray(self._get_booster().predict(arr, raw_score=raw_score, num_threads=threads), dtype=np.float64)
        if raw.shape != (arr.shape[0],):
            raise ValueError(f"the booster returned shape {raw.shape}; a meta-label model must be binary")
        return raw

    def raw_proba(self, X: npt.ArrayLike) -> FloatArray:
        """The booster's uncalibrated probability for each row of ``X`` (m, k) in ``feature_names`` order."""
        return self._booster_predict(X, raw_score=False)

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Calibrated probability that the trade wins, one per row of ``X`` (m, k): shape (m,)."""
        raw = self._booster_predict(X, raw_score=self.calibration.input == "raw_score")
        return self.calibration.apply(raw)

    # --- pickling (the .pkl compatibility export) ---------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        # Only the defining data: a pickle must not carry a live LightGBM handle.
        return {
            "booster_text": self.booster_text,
            "feature_names": self.feature_names,
            "calibration": self.calibration.to_dict(),
            "feature_metadata": dict(self.feature_metadata),
            "metadata": dict(self.metadata),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "booster_text", state["booster_text"])
        object.__setattr__(self, "feature_names", tuple(state["feature_names"]))
        object.__setattr__(self, "calibration", Calibration.from_dict(state["calibration"]))
        object.__setattr__(self, "feature_metadata", state["feature_metadata"])
        object.__setattr__(self, "metadata", state["metadata"])
        self.__post_init__()

    def __repr__(self) -> str:
        return (
            f"MetaLabelModel(model_id={self.model_id!r}, features={len(self.feature_names)}, "
            f"calibration={self.calibration.kind!r})"
        )
