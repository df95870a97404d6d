"""The model registry and the meta-label gate: the Engine <-> Hamilton contract (DESIGN §5-6).

``from huracan.registry import ModelRegistry, MetaLabelGate`` is the seed's import; importing this package
pulls in neither boto3 (only an ``s3://`` registry loads the S3 adapter) nor LightGBM (loaded on the first
prediction), nor pandas / scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huracan.registry.errors import ModelNotFoundError, ModelVerificationError, RegistryError
    from huracan.registry.gate import GateDecision, MetaLabelGate, MissingFeatureError
    from huracan.registry.model import Calibration, MetaLabelModel
    from huracan.registry.registry import LatestPointer, ModelRegistry, ModelSummary
    from huracan.registry.signing import LocalKeySigner, PublicKeyVerifier, Signer

# Where each public name lives. Resolved on first use (PEP 562), so importing one submodule -- an adapter
# needs only ``huracan.registry.errors`` -- does not load the registry, the gate and ``cryptography`` with it
# (~60 ms of the daily summary's cold start).
_HOME = {
    "ModelNotFoundError": "errors",
    "ModelVerificationError": "errors",
    "RegistryError": "errors",
    "GateDecision": "gate",
    "MetaLabelGate": "gate",
    "MissingFeatureError": "gate",
    "Calibration": "model",
    "MetaLabelModel": "model",
    "LatestPointer": "registry",
    "ModelRegistry": "registry",
    "ModelSummary": "registry",
    "LocalKeySigner": "signing",
    "PublicKeyVerifier": "signing",
    "Signer": "signing",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


__all__ = [
    "Calibration",
    "GateDecision",
    "LatestPointer",
    "LocalKeySigner",
    "MetaLabelGate",
    "MetaLabelModel",
    "MissingFeatureError",
    "ModelNotFoundError",
    "ModelRegistry",
    "ModelSummary",
    "ModelVerificationError",
    "PublicKeyVerifier",
    "RegistryError",
    "Signer",
]
