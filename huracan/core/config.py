"""Engine settings (gates, barriers, costs per mode) loaded from one versioned TOML file.

The file is validated at load: a typo in a threshold must fail a deploy, not silently pass every signal.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from huracan.core.features import model_features

__all__ = [
    "ConfigError",
    "CostConfig",
    "EngineConfig",
    "MetaLabelConfig",
    "ModeConfig",
    "config_hash",
    "engine_config",
    "load_config",
    "load_user_config",
]

Mode = Literal["scalp", "runner"]
RegimeName = Literal["TREND", "RANGE", "PANIC"]
FeatureName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
#: the base profile a user's own profile name is merged over (the package file's)
DEFAULT_BASE_PROFILE = "demo"
_TOP_KEYS = frozenset({"version", "profiles", "extra_features"})
PositiveBps = Annotated[float, Field(gt=0, le=10_000)]


class ConfigError(ValueError):
    """The settings file is missing, unreadable, or has a value outside its allowed range."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CostConfig(_Strict):
    size_gbp: Annotated[float, Field(gt=0)]
    fee_bps_per_side: Annotated[float, Field(ge=0, le=1000)]
    breakeven_band_bps: Annotated[float, Field(ge=0, le=1000)]
    default_spread_bps: Annotated[float, Field(ge=0, le=1000)]


class MetaLabelConfig(_Strict):
    prior: Literal["confidence"]


class ModeConfig(_Strict):
    tp_bps: PositiveBps
    sl_bps: PositiveBps
    timeout_sec: Annotated[int, Field(gt=0, le=7 * 86400)]
    meta_label_threshold: Annotated[float, Field(ge=0, le=1)]
    min_confidence: Annotated[float, Field(ge=0, le=1)]
    allowed_regimes: tuple[RegimeName, ...]
    max_spread_bps: PositiveBps
    min_volume_ratio: Annotated[float, Field(ge=0)]
    buffer_bps: Annotated[float, Field(ge=0, le=10_000)]


class EngineConfig(_Strict):
    """One profile of the settings file, with the file's version and the profile's name."""

    version: str
    profile: str
    costs: CostConfig
    meta_label: MetaLabelConfig
    modes: dict[Mode, ModeConfig]
    #: numeric columns of the user's signals (the stream record's ``features`` object) the model uses
    #: beside the bar features; a signal without one of them is parked with that reason
    extra_features: tuple[FeatureName, ...] = ()

    @field_validator("extra_features")
    @classmethod
    def _distinct_model_inputs(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        """Each becomes a model input column (:func:`~huracan.core.features.model_features`): one name, one column."""
        model_features(names)
        return names

    @property
    def model_features(self) -> tuple[str, ...]:
        """The meta-label model's input columns under these settings (bar + signal features, then the extras)."""
        return model_features(self.extra_features)

    def mode(self, mode: str) -> ModeConfig:
        try:
            return self.modes[mode]  # type: ignore[index]
        except KeyError as exc:
            raise ConfigError(f"mode {mode!r} is not configured (have {sorted(self.modes)})") from exc


def _read(path: Path | None) -> dict[str, object]:
    try:
        if path is None:
            text = resources.files("huracan.config").joinpath("engine.toml").read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        return tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path or 'huracan/config/engine.toml'}: {exc}") from exc


def _problems(exc: ValidationError, prefix: str) -> str:
    return "; ".join(f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def _validate(raw: Mapping[str, object], profile: str, where: str) -> EngineConfig:
    profiles = raw.get("profiles")
    if not isinstance(profiles, dict) or profile not in profiles:
        have = sorted(profiles) if isinstance(profiles, dict) else []
        raise ConfigError(f"settings profile {profile!r} not found in {where} (have {have})")
    extra = raw.get("extra_features", ())
    try:
        return EngineConfig.model_validate(
            {"version": raw.get("version"), "profile": profile, "extra_features": extra, **profiles[profile]}
        )
    except ValidationError as exc:
        prefix_top = {"version", "extra_features"}
        parts = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            key = loc if loc.split(".")[0] in prefix_top else f"profiles.{profile}.{loc}"
            parts.append(f"{key}: {e['msg']}")
        raise ConfigError(f"invalid settings file {where}: {'; '.join(parts)}") from exc


@cache
def load_config(profile: str = "seed", path: Path | None = None) -> EngineConfig:
    """Load and validate one profile; the error names the file, the profile and the bad key.

    With ``path`` the file is a user's config (:func:`load_user_config`): merged over the package's.
    """
    if path is not None:
        return load_user_config(path, profile)
    return _validate(_read(None), profile, "huracan/config/engine.toml")


def _merge(base: Mapping[str, object], over: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = dict(base)
    for k, v in over.items():
        b = out.get(k)
        out[k] = _merge(b, v) if isinstance(b, Mapping) and isinstance(v, Mapping) else v
    return out


def _unknown_keys(over: Mapping[str, object], base: Mapping[str, object], prefix: str) -> list[str]:
    """Keys of the user's file that the package's file does not have (typos must not pass silently)."""
    out: list[str] = []
    for k, v in over.items():
        if k not in base:
            out.append(f"{prefix}{k}")
        elif isinstance(v, Mapping) and isinstance(base[k], Mapping):
            b = base[k]
            assert isinstance(b, Mapping)
            out += _unknown_keys(v, b, f"{prefix}{k}.")
    return out


def config_hash(cfg: EngineConfig) -> str:
    """``sha256:<12 hex>`` of the effective settings (canonical JSON): the same settings, the same version."""
    doc = cfg.model_dump(mode="json", exclude={"version"})
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"sha256:{digest[:12]}"


@cache
def load_user_config(path: Path | str, profile: str = DEFAULT_BASE_PROFILE) -> EngineConfig:
    """A user's TOML file, in the package file's layout, merged over the package's defaults.

    Why merged: a user changes two thresholds, not forty, and a new release's new keys still get values.
    A profile the package does not have is merged over its ``demo`` profile. Unknown keys and out-of-range
    values are refused naming the key and the file. The version stored on every decision and trade is the
    hash of the effective settings (:func:`config_hash`), so two runs with the same numbers share it.
    """
    path = Path(path)
    user = _read(path)
    base = _read(None)
    where = str(path)
    bad_top = sorted(set(user) - _TOP_KEYS)
    if bad_top:
        raise ConfigError(f"invalid settings file {where}: unknown key(s) {bad_top} (allowed: {sorted(_TOP_KEYS)})")
    user_profiles = user.get("profiles", {})
    if not isinstance(user_profiles, dict):
        raise ConfigError(f"invalid settings file {where}: profiles must be a table")
    base_profiles = base["profiles"]
    assert isinstance(base_profiles, dict)
    unknown: list[str] = []
    merged_profiles = dict(base_profiles)
    for name, over in user_profiles.items():
        if not isinstance(over, dict):
            raise ConfigError(f"invalid settings file {where}: profiles.{name} must be a table")
        start = base_profiles.get(name, base_profiles[DEFAULT_BASE_PROFILE])
        assert isinstance(start, dict)
        unknown += _unknown_keys(over, start, f"profiles.{name}.")
        merged_profiles[name] = _merge(start, over)
    if unknown:
        raise ConfigError(f"invalid settings file {where}: unknown key(s) {unknown}")
    if profile not in user_profiles and len(user_profiles) == 1:
        profile = next(iter(user_profiles))  # the one profile the user wrote is the one they mean
    raw = {**base, **{k: v for k, v in user.items() if k != "profiles"}, "profiles": merged_profiles}
    cfg = _validate(raw, profile, where)
    return cfg.model_copy(update={"version": config_hash(cfg)})


def engine_config(profile: str, config: str | None = None) -> EngineConfig:
    """The settings a deployed function runs with: ``HURACAN_CONFIG`` (``config``) when set, else the profile.

    ``config`` is a TOML file bundled with the code at build (an absolute path, or a name inside
    ``huracan/config/``); chosen over an S3 object so a function's settings are fixed by its deployment
    and a cold start reads no bucket: changing them is a deploy, reviewed like code.
    """
    if not config:
        return load_config(profile)
    path = Path(config)
    if not path.is_absolute() and not path.is_file():
        bundled = resources.files("huracan.config").joinpath(config)
        path = Path(str(bundled))
    return load_user_config(path, profile)
