"""The signed ``latest.json``: only the holder of the signing key can say which model is the champion.

Before, ``latest.json`` was a plain file: anyone who could write the bucket could point it at an older signed
model (a rollback) or at a stored candidate, and every loader followed, because each version's manifest was
signed but the *choice* of version was not. Now the pointer carries its own signature, over the SHA256 of its
canonical JSON (every field except ``signature``), made with the same key as the manifests, and:

* ``stage`` is signed and must be ``champion``: a candidate can only become latest through a signed promotion;
* ``serial`` counts every switch of the pointer (register, promote, rollback), so a replayed old pointer -- a
  genuine signed file copied back -- is recognisably older. A loader refuses a serial lower than the one it
  holds, and a model *version* lower than the one it holds unless the signed pointer says it is a deliberate
  ``rollback`` or ``promote`` (only the key holder can say that);
* every signed pointer is also kept immutably at ``<name>/pointers/<serial>/latest.json``. A *fresh* loader,
  which has seen nothing, refuses a ``latest.json`` when the history holds a validly signed pointer with a
  higher serial: the replay of yesterday's pointer is caught without any state. (A writer who can also
  *delete* the newer history can still replay; bucket versioning / object lock or a loader that persists the
  serial it has seen -- :class:`~huracan.hamilton.HamiltonClient` does -- closes that.)

The signature is a plain :class:`~huracan.registry.signing.Signer` signature of a 32-byte digest, exactly as
for ``manifest.json``, so Hamilton verifies it offline with the exported public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from huracan.registry.errors import ModelVerificationError
from huracan.registry.signing import Signer

__all__ = [
    "DELIBERATE_DOWNGRADES",
    "HISTORY_FOLDER",
    "LATEST_FILE",
    "LATEST_SCHEMA",
    "LatestPointer",
    "history_key",
    "parse_pointer",
    "signed_pointer_bytes",
]

LATEST_FILE = "latest.json"
LATEST_SCHEMA = "huracan.latest/2"
HISTORY_FOLDER = "pointers"
#: Pointer reasons that may name a lower model version than the one a loader holds (signed, so deliberate).
DELIBERATE_DOWNGRADES = frozenset({"rollback", "promote"})


@dataclass(frozen=True, slots=True)
class LatestPointer:
    """The parsed, signature-checked ``latest.json``; ``previous`` lists earlier champions, most recent first."""

    name: str
    model_id: str
    version: int
    manifest_sha256: str
    previous: tuple[str, ...] = ()
    reason: str = "register"
    serial: int = 0
    stage: str = "champion"

    def to_bytes(self, manifest: Mapping[str, Any]) -> bytes:
        """Unsigned rendering (kept for callers that only display a pointer); publishing uses
        :func:`signed_pointer_bytes`."""
        return _render(_fields(self, manifest), None)


def history_key(name: str, serial: int) -> str:
    """Where the signed pointer with ``serial`` is kept for good (a folder, so stores can list it)."""
    return f"{name}/{HISTORY_FOLDER}/{serial:010d}/{LATEST_FILE}"


def _fields(pointer: LatestPointer, manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "schema": LATEST_SCHEMA,
        "name": pointer.name,
        "model_id": pointer.model_id,
        "version": pointer.version,
        "manifest_sha256": pointer.manifest_sha256,
        "created_at": manifest.get("created_at"),
        "manifest_stage": manifest.get("stage"),
        "stage": pointer.stage,
        "serial": pointer.serial,
        "reason": pointer.reason,
        "previous": list(pointer.previous),
    }


def _digest(fields: Mapping[str, Any]) -> bytes:
    """SHA256 of the canonical JSON of the signed fields (sorted keys, no spaces): layout-independent."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    return hashlib.sha256(canonical).digest()


def _render(fields: Mapping[str, Any], signature: bytes | None) -> bytes:
    body = dict(fields)
    if signature is not None:
        body["signature"] = base64.b64encode(signature).decode("ascii")
    return (json.dumps(body, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def signed_pointer_bytes(pointer: LatestPointer, manifest: Mapping[str, Any], signer: Signer) -> bytes:
    """``latest.json`` for ``pointer``, with its signature (and the signing key's id) inside."""
    fields = {**_fields(pointer, manifest), "key_id": signer.key_id}
    return _render(fields, signer.sign(_digest(fields)))


def parse_pointer(raw: bytes, name: str, signer: Signer, *, key: str) -> LatestPointer:
    """Parse ``raw`` as the signed pointer of ``name``; :class:`ModelVerificationError` unless it is one.

    The signature is checked before any field is trusted; ``key`` names the object in error messages.
    """
    try:
        obj = json.loads(raw)
        if not isinstance(obj, dict):
            raise TypeError("not a JSON object")
        signature_text = obj.pop("signature", None)
    except (ValueError, TypeError) as exc:
        raise ModelVerificationError(f"{LATEST_FILE} is not a valid pointer: {exc}", file=key) from exc
    if not isinstance(signature_text, str):
        raise ModelVerificationError(
            f"{LATEST_FILE} is not signed: a pointer only its key holder wrote is followed", file=key
        )
    try:
        signature = base64.b64decode(signature_text, validate=True)
        digest = _digest(obj)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ModelVerificationError(f"{LATEST_FILE} signature is malformed: {exc}", file=key) from exc
    if not signer.verify(digest, signature):
        raise ModelVerificationError(
            f"bad signature on {LATEST_FILE}: it was not written by the holder of {signer.key_id}", file=key
        )
    try:
        pointer = LatestPointer(
            name=str(obj["name"]),
            model_id=str(obj["model_id"]),
            version=int(obj["version"]),
            manifest_sha256=str(obj["manifest_sha256"]),
            previous=tuple(str(p) for p in obj.get("previous", [])),
            reason=str(obj.get("reason", "register")),
            serial=int(obj["serial"]),
            stage=str(obj["stage"]),
        )
    except (ValueError, KeyError, TypeError) as exc:  # signed but malformed: a publisher bug
        raise ModelVerificationError(f"{LATEST_FILE} is not a valid pointer: {exc}", file=key) from exc
    if obj.get("schema") != LATEST_SCHEMA:
        raise ModelVerificationError(f"{LATEST_FILE} has schema {obj.get('schema')!r}, not {LATEST_SCHEMA}", file=key)
    if pointer.name != name:
        raise ModelVerificationError(f"{LATEST_FILE} under {name!r} names model {pointer.name!r}", file=key)
    if pointer.stage != "champion":
        raise ModelVerificationError(
            f"{LATEST_FILE} names a model whose signed stage is {pointer.stage!r}, not 'champion'",
            model_id=pointer.model_id,
            file=key,
        )
    return pointer
