"""Each model version signed in the OpenSSF Model Signing format, with the registry's own key (KMS or local).

Why a second signature beside ``manifest.sig``: ``manifest.sig`` is this project's own convention; a consumer
outside it (a security team, an auditor, Hamilton's own tooling) should be able to check a model with a standard
tool. ``model.sig`` is a sigstore bundle holding a DSSE envelope over an in-toto statement that lists every file
of the version with its SHA256 (``manifest.json`` and ``manifest.sig`` included, ``model.sig`` itself excluded),
exactly as ``model-signing``'s key-based signer writes it, so its verifier accepts it::

    model_signing.verifying.Config().use_elliptic_key_verifier(public_key="key.pem").verify(folder, folder/"model.sig")

What this module writes itself: only the signer. ``model-signing`` 1.1.1 has no KMS signer, so
:class:`RegistryBundleSigner` builds the bundle as the package's ``sign_ec_key.Signer`` does (same media type,
envelope, PAE, key hint) but gets the ECDSA P-256 / SHA-256 signature over the PAE from the registry's
:class:`~huracan.registry.signing.Signer` (KMS ``Sign`` with ``MessageType=RAW``: KMS hashes the message, as
``cryptography`` does when the package verifies). Hashing the files and verifying are the package's own code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from huracan.registry.errors import ModelVerificationError
from huracan.registry.signing import Signer

__all__ = ["FORMAT", "KMS_RAW_LIMIT", "MODEL_SIG", "sign_version", "supports", "verify_version"]

MODEL_SIG = "model.sig"
FORMAT = "OpenSSF Model Signing v1.0: sigstore bundle v0.3, DSSE envelope, in-toto statement (model-signing 1.1)"
#: KMS signs at most 4096 bytes as a RAW message; the PAE of a version's statement is far below that.
KMS_RAW_LIMIT = 4096


def supports(signer: Signer) -> bool:
    """True when the signer's key is one ``model-signing``'s key verifier accepts (an ECDSA P-256 key)."""
    return signer.algorithm == "ECDSA_SHA_256"


def _public_pem(signer: Signer) -> bytes:
    """The PEM as ``model-signing`` re-serialises it (its key hint is the SHA256 of these exact bytes)."""
    key = serialization.load_pem_public_key(signer.public_key_pem())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise TypeError("OpenSSF Model Signing here needs an elliptic-curve key (ECC_NIST_P256)")
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write(folder: Path, files: Mapping[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for fn, data in files.items():
        if "/" in fn or fn in ("", ".", ".."):
            raise ValueError(f"not a plain file name: {fn!r}")
        (folder / fn).write_bytes(data)


def _bundle_signer(signer: Signer) -> Any:
    """A ``model-signing`` Signer (built on first use: importing the package loads sigstore)."""
    from model_signing._signing import sign_sigstore_pb, signing
    from sigstore_models import intoto as intoto_pb
    from sigstore_models.bundle import v1 as bundle_pb
    from sigstore_models.common import v1 as common_pb

    class RegistryBundleSigner(sign_sigstore_pb.Signer):
        """``sign_ec_key.Signer`` with the private key operation delegated to the registry's signer."""

        def sign(self, payload: Any) -> Any:
            from google.protobuf import json_format  # type: ignore[import-untyped]

            raw_payload = json_format.MessageToJson(payload.statement.pb).encode("utf-8")
            message = sign_sigstore_pb.pae(raw_payload)
            if len(message) > KMS_RAW_LIMIT:
                raise ValueError(f"the statement is {len(message)} bytes; KMS signs at most {KMS_RAW_LIMIT} as RAW")
            signature = intoto_pb.Signature(sig=base64.b64encode(signer.sign(message)), keyid="")
            envelope = intoto_pb.Envelope(
                payload=base64.b64encode(raw_payload),
                payload_type=signing._IN_TOTO_JSON_PAYLOAD_TYPE,
                signatures=[signature],
            )
            material = bundle_pb.VerificationMaterial(
                public_key=common_pb.PublicKeyIdentifier(hint=hashlib.sha256(_public_pem(signer)).hexdigest()),
                tlog_entries=[],
            )
            return sign_sigstore_pb.Signature(
                bundle_pb.Bundle(
                    media_type=sign_sigstore_pb._BUNDLE_MEDIA_TYPE,  # type: ignore[arg-type]
                    verification_material=material,
                    dsse_envelope=envelope,
                )
            )

    return RegistryBundleSigner()


def sign_version(name: str, files: Mapping[str, bytes], signer: Signer) -> bytes:
    """``model.sig`` for a version made of ``files`` (every file but ``model.sig``), as the bundle's JSON bytes."""
    from model_signing import hashing
    from model_signing._signing import signing

    with tempfile.TemporaryDirectory(prefix="huracan-oms-") as tmp:
        folder = Path(tmp) / name
        _write(folder, {fn: data for fn, data in files.items() if fn != MODEL_SIG})
        manifest = hashing.Config().set_ignored_paths(paths=[MODEL_SIG]).hash(folder)  # type: ignore[no-untyped-call]
        signature = _bundle_signer(signer).sign(signing.Payload(manifest))
        out = folder / MODEL_SIG
        signature.write(out)
        return out.read_bytes()


def verify_version(name: str, files: Mapping[str, bytes], public_key_pem: bytes, *, model_id: str) -> None:
    """Verify ``files`` (``model.sig`` among them) with ``model-signing``'s own verifier and the public key.

    Raises :class:`ModelVerificationError` naming what failed: a file changed, added or missing, or a
    signature not made with this key.
    """
    from model_signing import verifying

    if MODEL_SIG not in files:
        raise ModelVerificationError(f"{MODEL_SIG} missing", model_id=model_id, file=MODEL_SIG)
    with tempfile.TemporaryDirectory(prefix="huracan-oms-") as tmp:
        folder = Path(tmp) / name
        _write(folder, files)
        key_path = Path(tmp) / "public_key.pem"
        key_path.write_bytes(public_key_pem)
        try:
            config = verifying.Config()  # type: ignore[no-untyped-call]
            config.use_elliptic_key_verifier(public_key=key_path).verify(folder, folder / MODEL_SIG)
        except Exception as exc:  # the package raises ValueError, InvalidSignature, KeyError on a bad bundle
            raise ModelVerificationError(
                f"OpenSSF Model Signing verification failed: {type(exc).__name__}: {exc}",
                model_id=model_id,
                file=MODEL_SIG,
            ) from exc


def statement_of(bundle: bytes) -> dict[str, Any]:
    """The in-toto statement inside a ``model.sig`` (for display; verification is :func:`verify_version`)."""
    doc = json.loads(bundle)
    payload: dict[str, Any] = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    return payload
