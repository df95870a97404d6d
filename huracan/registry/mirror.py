"""Copy a registry, signed layout intact, into a folder that outlives the stack it came from.

A local replay's models live in the embedded S3, which vanishes with the process. The copy is byte for byte
(every file the manifest lists, ``manifest.json``, ``manifest.sig``, each ``latest.json``), so the model ids,
hashes and signatures are the publisher's own, and the publisher's *public* key is stored beside them
(``.signing/public_key.pem``): a folder registry with that file and no private key verifies with it
(:attr:`huracan.registry.ModelRegistry.signer`), so ``huracan models --base-path <folder> verify`` works with
no AWS at all. Like the local signing key, a key stored beside the models guards against corruption and
swaps, not against someone who can write the folder: a consumer that must trust the publisher passes the
key it was given (``--public-key``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from huracan.registry.errors import BlobNotFoundError
from huracan.registry.oms import MODEL_SIG
from huracan.registry.registry import LATEST_FILE, MANIFEST_FILE, PUBLIC_KEY_PATH, SIGNATURE_FILE, ModelRegistry
from huracan.registry.store import LocalStore

__all__ = ["mirror_registry"]


def mirror_registry(source: ModelRegistry, target: str | os.PathLike[str]) -> list[str]:
    """Copy every stored version (champions and candidates) of every name; returns the copied model ids.

    Versions without a manifest (an upload that never completed) are skipped, as the registry itself skips
    them. Every copy is verified in the target with the stored public key before this returns.
    """
    dst = LocalStore(target)
    Path(target).mkdir(parents=True, exist_ok=True)
    src = source.store
    copied: list[str] = []
    for name in source.list_names():
        for hex_id in src.list_children(name):
            folder = f"{name}/{hex_id}"
            try:
                manifest = src.get(f"{folder}/{MANIFEST_FILE}")
                signature = src.get(f"{folder}/{SIGNATURE_FILE}")
            except BlobNotFoundError:
                continue
            doc = json.loads(manifest)
            for fn in sorted(doc.get("files") or {}):
                dst.put(f"{folder}/{fn}", src.get(f"{folder}/{fn}"))
            dst.put(f"{folder}/{MANIFEST_FILE}", manifest)
            dst.put(f"{folder}/{SIGNATURE_FILE}", signature)
            if src.exists(f"{folder}/{MODEL_SIG}"):  # the OpenSSF Model Signing bundle (huracan.registry.oms)
                dst.put(f"{folder}/{MODEL_SIG}", src.get(f"{folder}/{MODEL_SIG}"))
            copied.append(str(doc.get("model_id")))
        if src.exists(f"{name}/{LATEST_FILE}"):
            dst.put(f"{name}/{LATEST_FILE}", src.get(f"{name}/{LATEST_FILE}"))
    if copied:
        dst.put(PUBLIC_KEY_PATH, source.signer.public_key_pem())
        check = ModelRegistry(dst.location)
        for model_id in copied:
            check.check_model(model_id)
    return copied
