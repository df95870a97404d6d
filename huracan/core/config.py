"""Engine settings (gates, barriers, costs per mode) loaded from one versioned TOML file.

The file is validated at load: a typo in a threshold must fail a deploy, not silently pass every signal.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ConfigError",
    "CostConfig",
    "EngineConfig",
    "MetaLabelConfig",
    "ModeConfig",
    "load_config",
]

Mode = Literal["scalp", "runner"]
RegimeName = Literal["TREND", "RANGE", "PANIC"]
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


@cache
def load_config(profile: str = "seed", path: Path | None = None) -> EngineConfig:
    """Load and validate one profile; the error names the file, the profile and the bad key."""
    raw = _read(path)
    profiles = raw.get("profiles")
    if not isinstance(profiles, dict) or profile not in profiles:
        have = sorted(profiles) if isinstance(profiles, dict) else []
        raise ConfigError(f"settings profile {profile!r} not found (have {have})")
    try:
        return EngineConfig.model_validate({"version": raw.get("version"), "profile": profile, **profiles[profile]})
    except ValidationError as exc:
        problems = "; ".join(
            f"profiles.{profile}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings file: {problems}") from exc
