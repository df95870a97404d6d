"""The model registry and the meta-label gate: the Engine <-> Hamilton contract (DESIGN §5-6).

``from huracan.registry import ModelRegistry, MetaLabelGate`` is the seed's import; importing this package
pulls in neither boto3 (only an ``s3://`` registry loads the S3 adapter) nor LightGBM (loaded on the first
prediction), nor pandas / scikit-learn.
"""

from __future__ import annotations

from huracan.registry.errors import ModelNotFoundError, ModelVerificationError, RegistryError
from huracan.registry.gate import GateDecision, MetaLabelGate, MissingFeatureError
from huracan.registry.model import Calibration, MetaLabelModel
from huracan.registry.registry import LatestPointer, ModelRegistry, ModelSummary
from huracan.registry.signing import LocalKeySigner, PublicKeyVerifier, Signer

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
