"""KMS signing for the model registry (key ``ModelSigningKey``: ECC_NIST_P256, SIGN_VERIFY, ECDSA_SHA_256).

The algorithm follows the key (``GetPublicKey``): ECDSA_SHA_256 for the EC key the template now creates, which
the OpenSSF Model Signing verifier accepts (:mod:`huracan.registry.oms`); RSASSA_PSS_SHA_256 for an RSA key.

Signing calls KMS ``Sign`` with ``MessageType="RAW"`` and the 32-byte manifest digest as the message (see
:mod:`huracan.registry.signing` for why not ``DIGEST``: moto double-hashes in DIGEST mode, AWS does not;
RAW behaves the same on both, and a digest never hits RAW's 4096-byte limit). Verification does *not*
call KMS ``Verify``: it checks against the public key from ``GetPublicKey`` with ``cryptography``, fetched
once and cached, which is exactly what Hamilton does offline with the exported PEM.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from huracan.adapters.clients import env_client
from huracan.adapters.errors import translate_errors
from huracan.registry.signing import SIGNING_ALGORITHMS, SigningAlgorithm, algorithm_for, verify_digest

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

__all__ = ["KmsSigner"]


class KmsSigner:
    """A :class:`~huracan.registry.signing.Signer` backed by an asymmetric KMS key."""

    def __init__(
        self, key_id: str, *, algorithm: SigningAlgorithm | None = None, client: KMSClient | None = None
    ) -> None:
        if not key_id:
            raise ValueError("KmsSigner needs a key id, ARN or alias")
        if algorithm is not None and algorithm not in SIGNING_ALGORITHMS:
            raise ValueError(f"unsupported signing algorithm {algorithm!r}; use one of {SIGNING_ALGORITHMS}")
        self._key_id = key_id
        self._requested: SigningAlgorithm | None = algorithm
        self._client = client
        self._public_key: PublicKeyTypes | None = None

    @staticmethod
    def from_env(*, algorithm: SigningAlgorithm | None = None) -> KmsSigner:
        """The key named by ``MODEL_SIGNING_KEY_ID`` (set by the template on every function that needs it)."""
        key_id = os.environ.get("MODEL_SIGNING_KEY_ID", "")
        if not key_id:
            raise ValueError("MODEL_SIGNING_KEY_ID is not set: pass signer= to the registry or set the variable")
        return KmsSigner(key_id, algorithm=algorithm)

    @property
    def client(self) -> KMSClient:
        if self._client is None:
            self._client = env_client("kms")
        return self._client

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> SigningAlgorithm:
        """As asked, else what the key's type signs with (one ``GetPublicKey``, cached)."""
        return self._requested or algorithm_for(self._public())

    def sign(self, digest: bytes) -> bytes:
        with translate_errors(f"kms sign {self._key_id}"):
            resp = self.client.sign(
                KeyId=self._key_id, Message=digest, MessageType="RAW", SigningAlgorithm=self.algorithm
            )
        return bytes(resp["Signature"])

    def _public(self) -> PublicKeyTypes:
        if self._public_key is None:
            with translate_errors(f"kms get_public_key {self._key_id}"):
                resp = self.client.get_public_key(KeyId=self._key_id)
            self._public_key = serialization.load_der_public_key(bytes(resp["PublicKey"]))
        return self._public_key

    def verify(self, digest: bytes, signature: bytes) -> bool:
        return verify_digest(self._public(), digest, signature, self.algorithm)

    def public_key_pem(self) -> bytes:
        """PEM of the KMS public key: give it to Hamilton (``PublicKeyVerifier``) to verify offline."""
        return self._public().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
