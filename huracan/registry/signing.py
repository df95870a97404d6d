"""Signing the model card: who may publish a model is decided by who holds the key, not by who can write S3.

The key is an elliptic-curve P-256 key (KMS ``ECC_NIST_P256``, ``ECDSA_SHA_256``; a local PEM for a folder
registry) since the registry also signs every version in the OpenSSF Model Signing format
(:mod:`huracan.registry.oms`), whose key-based verifier takes EC keys. RSA keys (the earlier ``RSA_2048``
key) still verify what they signed.

What is signed: the 32-byte SHA256 digest of ``manifest.json``, *as the message* (KMS ``MessageType=RAW``),
so the signature is ``ECDSA-SHA256(message=digest)`` (or, with an RSA key, ``RSASSA-PSS-SHA256``). Why not ``MessageType=DIGEST``:
moto hashes the message again in DIGEST mode while AWS does not, so a signature made on moto would not
verify against AWS semantics (and vice versa). Why the digest and not the manifest bytes: KMS caps a RAW
message at 4096 bytes and a model card with metrics and notes can exceed that. The manifest in turn holds
the SHA256 of every file, so the signature covers the whole model.

Verification never calls a signing service: it needs only the RSA public key (``cryptography``), so
Hamilton can verify offline with the PEM from :meth:`Signer.public_key_pem`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

__all__ = [
    "ECDSA",
    "PSS",
    "SIGNING_ALGORITHMS",
    "LocalKeySigner",
    "PublicKeyVerifier",
    "Signer",
    "SigningAlgorithm",
    "algorithm_for",
    "key_fingerprint",
    "verify_digest",
    "verify_rsa",
]

SigningAlgorithm = Literal["ECDSA_SHA_256", "RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256"]
ECDSA: SigningAlgorithm = "ECDSA_SHA_256"
PSS: SigningAlgorithm = "RSASSA_PSS_SHA_256"
SIGNING_ALGORITHMS: tuple[SigningAlgorithm, ...] = ("ECDSA_SHA_256", "RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256")


def algorithm_for(public_key: PublicKeyTypes) -> SigningAlgorithm:
    """The algorithm a key signs with here: ECDSA for a P-256 key, RSASSA-PSS for an RSA key."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return ECDSA
    if isinstance(public_key, rsa.RSAPublicKey):
        return PSS
    raise TypeError(f"unsupported key type {type(public_key).__name__}: use an ECC_NIST_P256 or RSA key")


def verify_digest(public_key: PublicKeyTypes, digest: bytes, signature: bytes, algorithm: SigningAlgorithm) -> bool:
    """True when ``signature`` is ``algorithm`` over ``digest`` (as the message) under ``public_key``."""
    if algorithm == "ECDSA_SHA_256":
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise TypeError(f"expected an EC public key, got {type(public_key).__name__}")
        try:
            public_key.verify(signature, digest, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True
    return verify_rsa(public_key, digest, signature, algorithm)


@runtime_checkable
class Signer(Protocol):
    """Signs and verifies manifest digests. ``key_id`` and ``algorithm`` are recorded in the manifest."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> SigningAlgorithm: ...

    def sign(self, digest: bytes) -> bytes: ...

    def verify(self, digest: bytes, signature: bytes) -> bool: ...

    def public_key_pem(self) -> bytes: ...


def verify_rsa(public_key: PublicKeyTypes, digest: bytes, signature: bytes, algorithm: SigningAlgorithm) -> bool:
    """True when ``signature`` is ``algorithm`` over ``digest`` (as the message) under ``public_key``.

    PSS is checked with ``salt_length=AUTO``: AWS KMS uses a 32-byte salt, moto the maximum; both are
    valid PSS signatures of the same message.
    """
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError(f"expected an RSA public key, got {type(public_key).__name__}")
    pad: padding.AsymmetricPadding
    if algorithm == "RSASSA_PSS_SHA_256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    elif algorithm == "RSASSA_PKCS1_V1_5_SHA_256":
        pad = padding.PKCS1v15()
    else:
        raise ValueError(f"unsupported signing algorithm {algorithm!r}; use one of {SIGNING_ALGORITHMS}")
    try:
        public_key.verify(signature, digest, pad, hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def key_fingerprint(public_key: PublicKeyTypes) -> str:
    """First 16 hex digits of the SHA256 of the DER public key: a short, stable name for a local key."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


class PublicKeyVerifier:
    """Verify-only signer built from a trusted public key: what a model *consumer* should hold."""

    def __init__(
        self, public_key_pem: bytes, *, key_id: str | None = None, algorithm: SigningAlgorithm | None = None
    ) -> None:
        self._public_key = serialization.load_pem_public_key(public_key_pem)
        self._pem = public_key_pem
        self._key_id = key_id or f"pub:{key_fingerprint(self._public_key)}"
        self._algorithm = algorithm or algorithm_for(self._public_key)

    @staticmethod
    def from_file(
        path: str | os.PathLike[str], *, key_id: str | None = None, algorithm: SigningAlgorithm | None = None
    ) -> PublicKeyVerifier:
        return PublicKeyVerifier(Path(path).read_bytes(), key_id=key_id, algorithm=algorithm)

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> SigningAlgorithm:
        return self._algorithm

    def sign(self, digest: bytes) -> bytes:
        raise PermissionError(f"{self._key_id} holds only a public key: it can verify models, not publish them")

    def verify(self, digest: bytes, signature: bytes) -> bool:
        return verify_digest(self._public_key, digest, signature, self._algorithm)

    def public_key_pem(self) -> bytes:
        return self._pem


class LocalKeySigner:
    """An EC P-256 key in a PEM file (an RSA key made before is still used): the local stand-in for KMS.

    The key is created on the first :meth:`sign` (mode 0600), never on :meth:`verify`: a consumer that
    finds no key must fail verification rather than mint a new key that proves nothing. A key stored
    beside the models guards against corruption and accidental swaps, not against someone who can write
    the folder; hand consumers :meth:`public_key_pem` (:class:`PublicKeyVerifier`) for that.
    """

    def __init__(self, key_path: str | os.PathLike[str], *, algorithm: SigningAlgorithm | None = None) -> None:
        if algorithm is not None and algorithm not in SIGNING_ALGORITHMS:
            raise ValueError(f"unsupported signing algorithm {algorithm!r}; use one of {SIGNING_ALGORITHMS}")
        self.key_path = Path(key_path)
        self._requested = algorithm
        self._key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None

    def _load(self, *, create: bool) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
        if self._key is not None:
            return self._key
        if not self.key_path.exists():
            if not create:
                raise FileNotFoundError(f"no signing key at {self.key_path}: this registry has never signed a model")
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
                ec.generate_private_key(ec.SECP256R1())
                if self._requested in (None, "ECDSA_SHA_256")
                else rsa.generate_private_key(public_exponent=65537, key_size=2048)
            )
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            tmp = self.key_path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            os.replace(tmp, self.key_path)
        loaded = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise TypeError(f"{self.key_path} does not hold an EC or RSA private key")
        self._key = loaded
        return loaded

    @property
    def key_id(self) -> str:
        try:
            return f"local:{key_fingerprint(self._load(create=False).public_key())}"
        except FileNotFoundError:
            return "local:<no key yet>"

    @property
    def algorithm(self) -> SigningAlgorithm:
        """The key's algorithm (ECDSA for the EC keys made now); before any key exists, the one it will get."""
        try:
            key = self._load(create=False)
        except FileNotFoundError:
            return self._requested or ECDSA
        if isinstance(key, rsa.RSAPrivateKey):
            return self._requested if self._requested not in (None, "ECDSA_SHA_256") else PSS
        return ECDSA

    def sign(self, digest: bytes) -> bytes:
        key = self._load(create=True)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(digest, ec.ECDSA(hashes.SHA256()))
        if self.algorithm == "RSASSA_PSS_SHA_256":
            # 32-byte salt, as AWS KMS does, so local and KMS signatures look alike.
            pad: padding.AsymmetricPadding = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        else:
            pad = padding.PKCS1v15()
        return key.sign(digest, pad, hashes.SHA256())

    def verify(self, digest: bytes, signature: bytes) -> bool:
        try:
            key = self._load(create=False)
        except FileNotFoundError:
            return False
        return verify_digest(key.public_key(), digest, signature, self.algorithm)

    def public_key_pem(self) -> bytes:
        return (
            self._load(create=True)
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
