"""The model registry: content-addressed, signed model versions and a ``latest.json`` pointer per name.

Layout (DESIGN §5), relative to ``base_path`` (``s3://bucket/models`` or a folder)::

    <name>/<sha256hex>/model.lgb.txt, calibration.json, features.json   what predictions depend on
                      /<name>_v<N>.pkl                                  compatibility export (pickle)
                      /manifest.json                                    model card: sha256+size of every file
                      /manifest.sig                                     signature of sha256(manifest.json)
    <name>/latest.json                                                  {model_id, version, manifest_sha256, ...}

Publishing order: every file, then the manifest and its signature, then *read everything back and verify
it*, and only then switch ``latest.json`` (champions only; a ``candidate`` is stored with its verdict but
never becomes latest by registering). Loading runs the other way: ``latest.json`` must name a manifest with
that exact SHA256, the signature must verify, every file must match its hash and size, and the id must
recompute from the files. Only then is anything deserialised. The ``.pkl`` is never unpickled here at all;
:meth:`ModelRegistry.export_model` hands out its bytes after the same checks.

A registry that has loaded a model keeps it: if the next ``latest.json`` fails verification,
:meth:`ModelRegistry.load_latest_model` keeps returning the model it had (logging the error, which is also
kept in ``last_errors``), so a tampered or half-written upload never replaces a working model in Hamilton.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import pickle
import platform
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from huracan.core.timeutil import format_ts, parse_ts
from huracan.registry import oms
from huracan.registry.errors import BlobNotFoundError, ModelNotFoundError, ModelVerificationError, RegistryError
from huracan.registry.model import (
    FILE_CALIBRATION,
    FILE_FEATURES,
    PREDICTION_FILES,
    MetaLabelModel,
    model_id_for,
    sha256_hex,
)
from huracan.registry.pointer import (
    DELIBERATE_DOWNGRADES,
    HISTORY_FOLDER,
    LATEST_FILE,
    LatestPointer,
    history_key,
    parse_pointer,
    signed_pointer_bytes,
)
from huracan.registry.signing import LocalKeySigner, PublicKeyVerifier, Signer
from huracan.registry.store import BlobStore, LocalStore, open_store

__all__ = [
    "CHALLENGERS_FILE",
    "LATEST_FILE",
    "MANIFEST_FILE",
    "MANIFEST_SCHEMA",
    "PUBLIC_KEY_PATH",
    "SIGNATURE_FILE",
    "ArtifactHook",
    "LatestPointer",
    "ModelRegistry",
    "ModelSummary",
    "Stage",
    "default_base_path",
]

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
MANIFEST_SCHEMA = "huracan.model_card/1"
LOCAL_KEY_PATH = ".signing/model_signing_key.pem"
#: A folder copied from another registry holds its publisher's public key here (huracan.registry.mirror).
PUBLIC_KEY_PATH = ".signing/public_key.pem"
_HISTORY_KEEP = 50

Stage = Literal["champion", "challenger", "candidate"]
#: ``<name>/challengers.json``: the challengers served in shadow (live) and the retired ones with reasons
CHALLENGERS_FILE = "challengers.json"
#: Extra files derived from a model at registration (e.g. ``model.onnx`` for serving), by file name.
#: They are hashed in the manifest and covered by its signature, but are not part of the model id.
ArtifactHook = Callable[[MetaLabelModel], Mapping[str, bytes]]
_RESERVED_FILES = frozenset({*PREDICTION_FILES, "manifest.json", "manifest.sig", "model.sig"})
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_ID_RE = re.compile(r"^sha256:([0-9a-f]{64})$")


def default_base_path() -> str:
    """``$HURACAN_MODEL_PATH``, else ``s3://$MODEL_BUCKET/models`` (the deployed stack), else an error."""
    explicit = os.environ.get("HURACAN_MODEL_PATH")
    if explicit:
        return explicit
    bucket = os.environ.get("MODEL_BUCKET")
    if bucket:
        return f"s3://{bucket}/models"
    raise ValueError("no model registry location: pass base_path, or set HURACAN_MODEL_PATH or MODEL_BUCKET")


def _hex_of(model_id: str) -> str:
    m = _ID_RE.match(model_id)
    if not m:
        raise ValueError(f"model id must look like 'sha256:<64 hex digits>', got {model_id!r}")
    return m.group(1)


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid model name {name!r}: letters, digits, '_', '.', '-' only")
    return name


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, datetime):
        return format_ts(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _plain(obj: Any) -> Any:
    """A readiness verdict / metrics object as plain JSON data (dataclass, pydantic model or mapping)."""
    if obj is None:
        return None
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n").encode()


def _library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("huracan", "numpy", "lightgbm", "cryptography"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return versions


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """One line of ``huracan models list`` (read from the manifest, not verified)."""

    model_id: str
    name: str
    version: int
    stage: str
    created_at: str
    is_latest: bool
    metrics: Mapping[str, Any] = field(default_factory=dict)
    ready: bool | None = None


@dataclass(frozen=True, slots=True)
class _Verified:
    manifest: dict[str, Any]
    manifest_sha256: str
    files: dict[str, bytes]

    @property
    def model_id(self) -> str:
        return str(self.manifest["model_id"])


class ModelRegistry:
    """Register, publish, verify and load meta-label models (the seed's Engine <-> Hamilton API).

    ``signer`` defaults to a :class:`LocalKeySigner` in ``<folder>/.signing/`` for a folder (or, for a folder
    copied from another registry, which holds only its publisher's public key, a :class:`PublicKeyVerifier`) and to
    :class:`~huracan.adapters.kms_signer.KmsSigner` on ``$MODEL_SIGNING_KEY_ID`` for S3. A consumer should
    pass a :class:`~huracan.registry.signing.PublicKeyVerifier` holding the publisher's public key.
    ``clock`` is used only when neither ``created_at`` nor the model's metadata says when it was made.
    ``extra_artifacts`` derives extra files from every newly stored version (see :data:`ArtifactHook`);
    the nightly job passes :func:`huracan.serving.onnx_export.onnx_artifacts` so Lambda can serve it.
    """

    def __init__(
        self,
        base_path: str | os.PathLike[str] | None = None,
        signer: Signer | None = None,
        *,
        store: BlobStore | None = None,
        clock: Callable[[], datetime] | None = None,
        extra_artifacts: ArtifactHook | None = None,
    ) -> None:
        self.base_path = os.fspath(base_path) if base_path is not None else default_base_path()
        self.store: BlobStore = store if store is not None else open_store(self.base_path)
        self._signer = signer
        self._clock = clock or (lambda: datetime.now(UTC))
        self._extra_artifacts = extra_artifacts
        self._loaded: dict[str, tuple[str, str, MetaLabelModel]] = {}  # name -> (model_id, manifest sha, model)
        self._names: dict[str, str] = {}  # model hex -> name
        #: The newest signed pointer followed per name: an older serial (a replay) is refused after it.
        self._seen: dict[str, LatestPointer] = {}
        #: The last verification failure per model name / id, for health checks and the CLI.
        self.last_errors: dict[str, RegistryError] = {}

    # --- signer -------------------------------------------------------------------------------------

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            if isinstance(self.store, LocalStore):
                private, public = self.store.root / LOCAL_KEY_PATH, self.store.root / PUBLIC_KEY_PATH
                if not private.exists() and public.is_file():
                    self._signer = PublicKeyVerifier.from_file(public)
                else:
                    self._signer = LocalKeySigner(private)
            else:
                from huracan.adapters.kms_signer import KmsSigner

                self._signer = KmsSigner.from_env()
        return self._signer

    # --- publishing ---------------------------------------------------------------------------------

    def register_model(
        self,
        model: Any,
        code_git_sha: str,
        data_snapshot_id: str,
        metrics: Mapping[str, Any],
        notes: str = "",
        *,
        name: str = "meta_label",
        stage: Stage = "champion",
        readiness: Any = None,
        windows: Mapping[str, Any] | None = None,
        created_at: str | datetime | None = None,
        extra_files: Mapping[str, bytes] | None = None,
    ) -> str:
        """Store ``model`` as a signed version and, for a champion, publish it as ``latest``; returns its id.

        ``model`` is a :class:`MetaLabelModel` or a fitted LightGBM Booster / LGBMClassifier. Registering
        a model that is already stored (same id) keeps its original card and only publishes it if asked to
        as a champion; a damaged stored copy is rewritten. ``extra_files`` (plus the registry's
        ``extra_artifacts``) are stored, hashed and signed with a new version, outside the model id.
        """
        mlm = MetaLabelModel.from_lightgbm(model)

        def export(version: int, created_text: str) -> tuple[str, bytes]:
            exported = mlm.with_metadata(name=name, version=version, model_id=mlm.model_id, created_at=created_text)
            return f"{name}_v{version}.pkl", pickle.dumps(exported, protocol=pickle.HIGHEST_PROTOCOL)

        return self._register(
            name,
            mlm.files(),
            code_git_sha=code_git_sha,
            data_snapshot_id=data_snapshot_id,
            metrics=metrics,
            notes=notes,
            stage=stage,
            readiness=readiness,
            windows=windows if windows is not None else mlm.metadata.get("windows"),
            created_at=created_at if created_at is not None else mlm.metadata.get("created_at"),
            extra_files=extra_files,
            hook_model=mlm,
            export=export,
        )

    def register_files(
        self,
        files: Mapping[str, bytes],
        code_git_sha: str,
        data_snapshot_id: str,
        metrics: Mapping[str, Any],
        notes: str = "",
        *,
        name: str,
        stage: Stage = "champion",
        readiness: Any = None,
        windows: Mapping[str, Any] | None = None,
        created_at: str | datetime | None = None,
        extra_files: Mapping[str, bytes] | None = None,
    ) -> str:
        """Store a model that is not a meta-label model (the multiclass regime detector) from its own files.

        ``files`` are exactly the three prediction files (``model.lgb.txt``, ``calibration.json``,
        ``features.json``, the latter two JSON), so the version gets the same id rule, manifest,
        signature, read-back verification and ``latest.json`` switch as :meth:`register_model`. What the
        files mean is the caller's contract (see :mod:`huracan.registry.detector`); the registry neither
        runs the ``extra_artifacts`` hook (it is written for meta-label models) nor writes a ``.pkl``
        export (Hamilton's pickle contract is the meta-label model's): pass ``model.onnx`` in
        ``extra_files``.
        """
        if set(files) != set(PREDICTION_FILES):
            raise ValueError(f"a model version is exactly the files {list(PREDICTION_FILES)}, got {sorted(files)}")
        prediction = {fn: bytes(files[fn]) for fn in PREDICTION_FILES}
        return self._register(
            name,
            prediction,
            code_git_sha=code_git_sha,
            data_snapshot_id=data_snapshot_id,
            metrics=metrics,
            notes=notes,
            stage=stage,
            readiness=readiness,
            windows=windows,
            created_at=created_at,
            extra_files=extra_files,
            hook_model=None,
            export=None,
        )

    def _register(
        self,
        name: str,
        prediction: Mapping[str, bytes],
        *,
        code_git_sha: str,
        data_snapshot_id: str,
        metrics: Mapping[str, Any],
        notes: str,
        stage: Stage,
        readiness: Any,
        windows: Any,
        created_at: Any,
        extra_files: Mapping[str, bytes] | None,
        hook_model: MetaLabelModel | None,
        export: Callable[[int, str], tuple[str, bytes]] | None,
    ) -> str:
        """The one publishing path (see the module docstring for its order) behind both ``register_*``."""
        _check_name(name)
        if stage not in ("champion", "challenger", "candidate"):
            raise ValueError(f"stage must be 'champion', 'challenger' or 'candidate', got {stage!r}")
        try:
            features = json.loads(prediction[FILE_FEATURES])
            feature_names = [str(n) for n in features["names"]]
            calibration_kind = str(json.loads(prediction[FILE_CALIBRATION])["kind"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"features.json / calibration.json are not a model's: {exc}") from exc
        model_id = model_id_for({fn: sha256_hex(data) for fn, data in prediction.items()})
        hex_id = _hex_of(model_id)
        pointer = self._read_pointer(name, check_manifest=True)

        verified: _Verified | None = None
        old_version: int | None = None
        if self.store.exists(f"{name}/{hex_id}/{MANIFEST_FILE}"):
            try:
                verified = self._verify_version(name, hex_id, all_files=True)
                self._verify_standard(name, hex_id, verified)  # a copy cut before its model.sig is damaged too
            except ModelVerificationError as err:
                verified = None
                log.warning("stored copy of %s is damaged (%s); uploading it again", model_id, err)
                old_version = self._peek_version(name, hex_id)

        if verified is None:
            self.signer.public_key_pem()  # fail before uploading if the key is unusable; creates a local key
            version = old_version if old_version is not None else self._next_version(name)
            created = created_at if created_at is not None else self._clock()
            created_text = format_ts(created if isinstance(created, datetime) else parse_ts(str(created)))
            exported = export(version, created_text) if export is not None else None
            pkl_name = exported[0] if exported is not None else None
            extras = self._extras(hook_model, extra_files, pkl_name)
            files = {**prediction, **extras, **(dict([exported]) if exported is not None else {})}
            manifest = {
                "schema": MANIFEST_SCHEMA,
                "name": name,
                "version": version,
                "model_id": model_id,
                "stage": stage,
                "created_at": created_text,
                "files": {fn: {"sha256": sha256_hex(data), "size": len(data)} for fn, data in sorted(files.items())},
                "prediction_files": list(PREDICTION_FILES),
                "export_file": pkl_name,
                "features": feature_names,
                "calibration": calibration_kind,
                "metrics": _plain(metrics),
                "windows": _plain(windows),
                "data_snapshot_id": data_snapshot_id,
                "code_git_sha": code_git_sha,
                "notes": notes,
                "readiness": _plain(readiness),
                "lineage": {
                    "previous_champion": pointer.model_id if pointer else None,
                    "previous_champion_version": pointer.version if pointer else None,
                },
                "library_versions": _library_versions(),
                "signing": {
                    "key_id": self.signer.key_id,
                    "algorithm": self.signer.algorithm,
                    "message": "sha256(manifest.json) digest, signed as a RAW message",
                },
            }
            if oms.supports(self.signer):  # declared inside the signed card, so removing model.sig is noticed
                manifest["model_signing"] = {"file": oms.MODEL_SIG, "format": oms.FORMAT}
            try:
                manifest_bytes = _dump(manifest)
            except (TypeError, ValueError) as exc:  # before any upload: nothing half-written
                raise ValueError(f"the model card must be plain JSON (no NaN/inf, no objects): {exc}") from exc
            signature = self.signer.sign(hashlib.sha256(manifest_bytes).digest())
            for fn, data in sorted(files.items()):
                self.store.put(f"{name}/{hex_id}/{fn}", data)
            self.store.put(f"{name}/{hex_id}/{MANIFEST_FILE}", manifest_bytes)
            self.store.put(f"{name}/{hex_id}/{SIGNATURE_FILE}", signature)
            if "model_signing" in manifest:  # the standard-format signature over every file above
                every = {**files, MANIFEST_FILE: manifest_bytes, SIGNATURE_FILE: signature}
                self.store.put(f"{name}/{hex_id}/{oms.MODEL_SIG}", oms.sign_version(name, every, self.signer))
            # Read back everything before anything points at it.
            verified = self._verify_version(name, hex_id, all_files=True)
            self._verify_standard(name, hex_id, verified)
            log.info("registered %s %s v%d as %s", name, model_id, version, stage)

        self._names[hex_id] = name
        if stage == "champion" and (
            pointer is None or pointer.model_id != model_id or pointer.manifest_sha256 != verified.manifest_sha256
        ):
            self._switch_latest(name, verified, pointer, reason="register")
        return model_id

    def promote(self, model_id: str) -> LatestPointer:
        """Make a stored model (a candidate or an older champion) the latest, after full verification."""
        hex_id = _hex_of(model_id)
        name = self._locate(model_id)
        verified = self._verify_version(name, hex_id, all_files=True)
        try:
            pointer = self._read_pointer(name, check_manifest=False)
        except ModelVerificationError as err:  # unsigned (older registry) or tampered: the key holder re-signs
            log.warning("%s: replacing a pointer that does not verify (%s)", name, err)
            pointer = None
        if pointer is not None and pointer.model_id == model_id and pointer.manifest_sha256 == verified.manifest_sha256:
            return pointer
        return self._switch_latest(name, verified, pointer, reason="promote")

    def rollback(self, name: str = "meta_label") -> LatestPointer:
        """Point ``latest`` back at the previous champion (verified first); the current one leaves history."""
        pointer = self._read_pointer(_check_name(name), check_manifest=False)
        if pointer is None:
            raise ModelNotFoundError(f"{self.store.location}: no {LATEST_FILE} for {name!r}; nothing to roll back")
        if not pointer.previous:
            raise ModelNotFoundError(f"{name}: {pointer.model_id} has no previous champion to roll back to")
        target = pointer.previous[0]
        verified = self._verify_version(name, _hex_of(target), all_files=True)
        new = LatestPointer(
            name=name,
            model_id=target,
            version=int(verified.manifest["version"]),
            manifest_sha256=verified.manifest_sha256,
            previous=pointer.previous[1:],
            reason="rollback",
            serial=self._next_serial(name, pointer),
        )
        self._write_pointer(new, verified.manifest)
        return new

    def export_model(self, model_id: str, export_path: str | os.PathLike[str]) -> Path:
        """Write the verified ``<name>_v<N>.pkl`` to ``export_path`` (atomically) for the seed's Hamilton code."""
        hex_id = _hex_of(model_id)
        name = self._locate(model_id)
        verified = self._verify_version(name, hex_id, all_files=True)
        export_file = verified.manifest.get("export_file")
        if not export_file:
            raise ModelNotFoundError(f"{model_id} ({name}) has no pickle export: only meta-label models carry one")
        data = verified.files[str(export_file)]
        target = Path(export_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target

    # --- consuming ----------------------------------------------------------------------------------

    def load_latest_model(self, name: str = "meta_label", *, strict: bool = False) -> tuple[str, MetaLabelModel]:
        """``(model_id, model)`` for the published model, verified before it is deserialised.

        If verification fails and this registry already loaded a model under ``name``, that model is
        returned again (unless ``strict``) and the error is logged and kept in ``last_errors[name]``.
        """
        _check_name(name)
        cached = self._loaded.get(name)
        try:
            pointer = self._read_pointer(name, check_manifest=False)
            if pointer is None:
                raise ModelNotFoundError(f"{self.store.location}: no {LATEST_FILE} for {name!r}: nothing published yet")
            if cached is not None and cached[0] == pointer.model_id and cached[1] == pointer.manifest_sha256:
                return cached[0], cached[2]
            self._check_fresh(name, pointer)
            verified = self._verify_pointer(name, pointer, all_files=True)
            model = self._model_from(verified)
        except RegistryError as err:
            self.last_errors[name] = err
            if cached is not None and not strict:
                log.error("keeping %s %s: the published model was refused: %s", name, cached[0], err)
                return cached[0], cached[2]
            raise
        self.last_errors.pop(name, None)
        self._loaded[name] = (model.model_id, verified.manifest_sha256, model)
        self._seen[name] = pointer
        return model.model_id, model

    def load_model(self, model_id: str) -> MetaLabelModel:
        """Any stored version by id (verified), e.g. to replay an old champion or score a candidate."""
        hex_id = _hex_of(model_id)
        return self._model_from(self._verify_version(self._locate(model_id), hex_id, all_files=True))

    def verify_model(self, model_id: str) -> bool:
        """True when every file of ``model_id`` (the ``.pkl`` included) matches its signed manifest."""
        try:
            self.check_model(model_id)
        except (RegistryError, ValueError) as err:
            log.warning("verification of %s failed: %s", model_id, err)
            self.last_errors[model_id] = err if isinstance(err, RegistryError) else RegistryError(str(err))
            return False
        return True

    def check_model(self, model_id: str) -> dict[str, Any]:
        """Like :meth:`verify_model` but raises the reason; returns the verified manifest.

        A version whose signed card declares an OpenSSF Model Signing signature (``model.sig``) is also checked
        by the ``model-signing`` package's own verifier with this registry's public key.
        """
        hex_id = _hex_of(model_id)
        name = self._locate(model_id)
        verified = self._verify_version(name, hex_id, all_files=True)
        self._verify_standard(name, hex_id, verified)
        return verified.manifest

    def _verify_standard(self, name: str, hex_id: str, verified: _Verified) -> None:
        """``model.sig`` through ``model-signing``'s verifier, when the signed card says the version has one."""
        if "model_signing" not in verified.manifest:
            return
        folder = f"{name}/{hex_id}"
        files = dict(verified.files)
        for fn in (MANIFEST_FILE, SIGNATURE_FILE, oms.MODEL_SIG):
            try:
                files[fn] = self.store.get(f"{folder}/{fn}")
            except BlobNotFoundError as exc:
                raise ModelVerificationError(
                    "file missing", model_id=f"sha256:{hex_id}", file=f"{folder}/{fn}"
                ) from exc
        oms.verify_version(name, files, self.signer.public_key_pem(), model_id=f"sha256:{hex_id}")

    def show(self, model_id: str) -> dict[str, Any]:
        """The model card, after checking its signature (files are not read: use :meth:`check_model`)."""
        hex_id = _hex_of(model_id)
        return self._verify_version(self._locate(model_id), hex_id, files=()).manifest

    def seen_pointer(self, name: str = "meta_label") -> LatestPointer | None:
        """The newest signed pointer this registry has followed for ``name`` (None before the first load)."""
        return self._seen.get(name)

    def remember_pointer(self, pointer: LatestPointer) -> None:
        """Start from a pointer seen before (by an earlier process): older serials are then refused at once,
        even if the kept pointer history was deleted. The pointer must be one this registry would follow."""
        current = self._seen.get(pointer.name)
        if current is None or pointer.serial > current.serial:
            self._seen[pointer.name] = pointer

    def latest(self, name: str = "meta_label") -> LatestPointer | None:
        return self._read_pointer(_check_name(name), check_manifest=False)

    def list_names(self) -> list[str]:
        return [n for n in self.store.list_children("") if _NAME_RE.match(n)]

    def list_models(self, name: str | None = None) -> list[ModelSummary]:
        """Every stored version (champions and candidates), oldest first; read from unverified manifests."""
        out: list[ModelSummary] = []
        for model_name in [name] if name else self.list_names():
            try:
                pointer = self._read_pointer(model_name, check_manifest=False)
            except RegistryError:
                pointer = None
            for hex_id in self.store.list_children(model_name):
                try:
                    manifest = json.loads(self.store.get(f"{model_name}/{hex_id}/{MANIFEST_FILE}"))
                except (BlobNotFoundError, ValueError):
                    continue  # an incomplete upload: never published
                readiness = manifest.get("readiness")
                ready = readiness.get("ready") if isinstance(readiness, dict) else None
                out.append(
                    ModelSummary(
                        model_id=str(manifest.get("model_id")),
                        name=model_name,
                        version=int(manifest.get("version", 0)),
                        stage=str(manifest.get("stage")),
                        created_at=str(manifest.get("created_at")),
                        is_latest=pointer is not None and pointer.model_id == manifest.get("model_id"),
                        metrics=manifest.get("metrics") or {},
                        ready=ready if isinstance(ready, bool) else None,
                    )
                )
        return sorted(out, key=lambda s: (s.name, s.version))

    def load_latest_files(
        self, name: str = "meta_label", files: tuple[str, ...] = PREDICTION_FILES
    ) -> tuple[LatestPointer, dict[str, Any], dict[str, bytes]]:
        """The published version's pointer, signed manifest and just ``files``, each checked against it.

        For a server that needs only some files (the Lambda: ``model.onnx`` + calibration + features):
        the pointer must name the manifest's SHA256, the signature must verify, the id must recompute
        from the manifest's hashes, and each requested file must match its hash; the other files are
        not downloaded. Raises :class:`ModelNotFoundError` when nothing is published yet.
        """
        _check_name(name)
        pointer = self._read_pointer(name, check_manifest=False)
        if pointer is None:
            raise ModelNotFoundError(f"{self.store.location}: no {LATEST_FILE} for {name!r}: nothing published yet")
        self._check_fresh(name, pointer)
        verified = self._verify_pointer(name, pointer, files=files)
        self._seen[name] = pointer
        return pointer, verified.manifest, verified.files

    # --- challengers served in shadow (issue 18) -----------------------------------------------------

    def challengers(self, name: str = "meta_label") -> dict[str, list[dict[str, Any]]]:
        """``{"live": [...], "retired": [...]}`` from ``<name>/challengers.json`` (both empty when absent).

        Each entry names a stored version (``model_id``) and when its training data ended
        (``trained_until``): the nightly judges it only on decisions after that. The file only says which
        versions to *score in shadow*; a reader still verifies each version by id before using it, and
        nothing here ever becomes what :meth:`load_latest_model` returns (that is :meth:`promote`'s job).
        """
        try:
            doc = json.loads(self.store.get(f"{_check_name(name)}/{CHALLENGERS_FILE}"))
        except BlobNotFoundError:
            return {"live": [], "retired": []}
        except ValueError as exc:
            raise ModelVerificationError(
                f"{CHALLENGERS_FILE} is not JSON: {exc}", file=f"{name}/{CHALLENGERS_FILE}"
            ) from exc
        live = [dict(e) for e in doc.get("live", []) if isinstance(e, dict) and _ID_RE.match(str(e.get("model_id")))]
        retired = [dict(e) for e in doc.get("retired", []) if isinstance(e, dict)]
        return {"live": live, "retired": retired}

    def set_challengers(self, name: str, live: list[dict[str, Any]], retired: list[dict[str, Any]]) -> None:
        """Write ``<name>/challengers.json`` (live entries must name stored challenger versions)."""
        for e in live:
            manifest = self.show(str(e["model_id"]))
            if manifest.get("stage") != "challenger":
                raise ValueError(f"{e['model_id']} is stored as {manifest.get('stage')!r}, not as a challenger")
        doc = {"schema": "huracan.challengers/1", "name": name, "live": live, "retired": retired[-_HISTORY_KEEP:]}
        self.store.put(f"{_check_name(name)}/{CHALLENGERS_FILE}", _dump(_plain(doc)))

    def load_version_files(
        self, model_id: str, files: tuple[str, ...] = PREDICTION_FILES
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """A stored version's signed manifest and just ``files``, each checked (as :meth:`load_latest_files`)."""
        hex_id = _hex_of(model_id)
        verified = self._verify_version(self._locate(model_id), hex_id, files=files)
        return verified.manifest, verified.files

    # --- internals ----------------------------------------------------------------------------------

    def _extras(
        self, mlm: MetaLabelModel | None, extra_files: Mapping[str, bytes] | None, pkl_name: str | None
    ) -> dict[str, bytes]:
        """Hook output plus ``extra_files``; names must be plain and must not shadow the registry's own."""
        hook = self._extra_artifacts
        extras: dict[str, bytes] = dict(hook(mlm)) if hook is not None and mlm is not None else {}
        extras.update(extra_files or {})
        for fn, data in extras.items():
            if fn in _RESERVED_FILES or fn == pkl_name or not _FILE_RE.match(fn):
                raise ValueError(f"extra file name {fn!r} is reserved or invalid")
            if not isinstance(data, bytes):
                raise TypeError(f"extra file {fn!r} must be bytes, got {type(data).__name__}")
        return extras

    def _model_from(self, verified: _Verified) -> MetaLabelModel:
        m = verified.manifest
        model = MetaLabelModel.from_files(
            {fn: verified.files[fn] for fn in PREDICTION_FILES},
            metadata={
                "name": m["name"],
                "version": m["version"],
                "model_id": m["model_id"],
                "created_at": m.get("created_at"),
                "stage": m.get("stage"),
                "windows": m.get("windows"),
            },
        )
        if model.model_id != verified.model_id:  # cannot happen after the hash checks; cheap to be sure
            raise ModelVerificationError(
                "rebuilt model has a different id", expected=verified.model_id, actual=model.model_id
            )
        return model

    def _locate(self, model_id: str) -> str:
        hex_id = _hex_of(model_id)
        if hex_id in self._names:
            return self._names[hex_id]
        for name in self.list_names():
            if self.store.exists(f"{name}/{hex_id}/{MANIFEST_FILE}"):
                self._names[hex_id] = name
                return name
        raise ModelNotFoundError(f"{self.store.location}: no model {model_id}")

    def _peek_version(self, name: str, hex_id: str) -> int | None:
        try:
            manifest = json.loads(self.store.get(f"{name}/{hex_id}/{MANIFEST_FILE}"))
            return int(manifest["version"]) if manifest.get("name") == name else None
        except (RegistryError, ValueError, KeyError, TypeError):
            return None

    def _next_version(self, name: str) -> int:
        versions = [v for h in self.store.list_children(name) if (v := self._peek_version(name, h)) is not None]
        return max(versions, default=0) + 1

    def _read_pointer(self, name: str, *, check_manifest: bool) -> LatestPointer | None:
        """Parse and signature-check ``latest.json`` (None when absent); with ``check_manifest`` also confirm it
        names a real manifest with the promised SHA256."""
        key = f"{name}/{LATEST_FILE}"
        try:
            raw = self.store.get(key)
        except BlobNotFoundError:
            return None
        pointer = parse_pointer(raw, name, self.signer, key=key)
        _hex_of(pointer.model_id)
        if check_manifest:
            try:
                actual = sha256_hex(self.store.get(f"{name}/{_hex_of(pointer.model_id)}/{MANIFEST_FILE}"))
            except BlobNotFoundError as exc:
                raise ModelVerificationError(
                    f"{LATEST_FILE} points at a model with no manifest",
                    model_id=pointer.model_id,
                    file=key,
                ) from exc
            if actual != pointer.manifest_sha256:
                raise ModelVerificationError(
                    f"{LATEST_FILE} does not match the manifest it names (swapped or stale pointer)",
                    model_id=pointer.model_id,
                    file=key,
                    expected=pointer.manifest_sha256,
                    actual=actual,
                )
        return pointer

    def _newest_signed_serial(self, name: str, above: int = -1) -> int | None:
        """The highest serial in ``<name>/pointers/`` above ``above`` whose pointer is validly signed, else None.

        Unsigned or forged entries are skipped (logged): a bucket writer must not be able to block loading
        by dropping a bogus "newer" file there.
        """
        serials = sorted(
            (int(child) for child in self.store.list_children(f"{name}/{HISTORY_FOLDER}") if child.isdigit()),
            reverse=True,
        )
        for serial in serials:
            if serial <= above:
                return None
            key = history_key(name, serial)
            try:
                pointer = parse_pointer(self.store.get(key), name, self.signer, key=key)
            except RegistryError as err:
                log.warning("%s: ignoring pointer history entry %s: %s", name, key, err)
                continue
            if pointer.serial == serial:
                return serial
            log.warning("%s: ignoring pointer history entry %s: it says serial %d", name, key, pointer.serial)
        return None

    def _check_fresh(self, name: str, pointer: LatestPointer) -> None:
        """Refuse a pointer older than what this registry has seen, or than the newest signed pointer kept.

        Called by the loaders before a new pointer is followed; see :mod:`huracan.registry.pointer`.
        """
        key = f"{name}/{LATEST_FILE}"
        seen = self._seen.get(name)
        if seen is not None:
            if pointer.serial < seen.serial:
                raise ModelVerificationError(
                    f"{LATEST_FILE} is an older pointer (serial {pointer.serial}) than one already followed "
                    f"(serial {seen.serial}): a replayed pointer is refused",
                    model_id=pointer.model_id,
                    file=key,
                )
            if pointer.version < seen.version and pointer.reason not in DELIBERATE_DOWNGRADES:
                raise ModelVerificationError(
                    f"{LATEST_FILE} names version {pointer.version}, lower than version {seen.version} already "
                    "in use, and is not a signed rollback or promotion",
                    model_id=pointer.model_id,
                    file=key,
                )
        newer = self._newest_signed_serial(name, above=pointer.serial)
        if newer is not None:
            raise ModelVerificationError(
                f"{LATEST_FILE} is serial {pointer.serial} but a newer signed pointer (serial {newer}) exists: "
                "a replayed pointer is refused",
                model_id=pointer.model_id,
                file=key,
            )

    def _switch_latest(
        self, name: str, verified: _Verified, pointer: LatestPointer | None, *, reason: str
    ) -> LatestPointer:
        previous: tuple[str, ...] = ()
        if pointer is not None:
            earlier = (
                (pointer.model_id, *pointer.previous) if pointer.model_id != verified.model_id else pointer.previous
            )
            previous = tuple(p for p in earlier if p != verified.model_id)[:_HISTORY_KEEP]
        new = LatestPointer(
            name=name,
            model_id=verified.model_id,
            version=int(verified.manifest["version"]),
            manifest_sha256=verified.manifest_sha256,
            previous=previous,
            reason=reason,
            serial=self._next_serial(name, pointer),
        )
        self._write_pointer(new, verified.manifest)
        return new

    def _next_serial(self, name: str, pointer: LatestPointer | None) -> int:
        """One above both the current pointer's serial and the newest signed one kept in the history."""
        newest = self._newest_signed_serial(name)
        return max(pointer.serial if pointer is not None else 0, newest or 0) + 1

    def _write_pointer(self, pointer: LatestPointer, manifest: Mapping[str, Any]) -> None:
        """Sign the pointer, keep it in the history, then switch ``latest.json`` and read it back."""
        data = signed_pointer_bytes(pointer, manifest, self.signer)
        self.store.put(history_key(pointer.name, pointer.serial), data)
        key = f"{pointer.name}/{LATEST_FILE}"
        self.store.put(key, data)
        back = self.store.get(key)
        if back != data:
            raise ModelVerificationError(
                f"{LATEST_FILE} read back differs from what was written",
                file=key,
                expected=sha256_hex(data),
                actual=sha256_hex(back),
            )
        self._seen[pointer.name] = pointer
        log.info(
            "%s latest -> %s v%d (%s, serial %d)",
            pointer.name,
            pointer.model_id,
            pointer.version,
            pointer.reason,
            pointer.serial,
        )

    def _verify_pointer(self, name: str, pointer: LatestPointer, **scope: Any) -> Any:
        """The version ``latest.json`` names, verified; a pointer that names nothing stored, or another version
        than its manifest, is refused (one check for every reader of the pointer)."""
        try:
            verified = self._verify_version(
                name, _hex_of(pointer.model_id), expected_manifest_sha256=pointer.manifest_sha256, **scope
            )
        except ModelNotFoundError as exc:
            raise ModelVerificationError(
                f"{LATEST_FILE} names a model that is not stored",
                model_id=pointer.model_id,
                file=f"{name}/{LATEST_FILE}",
            ) from exc
        if int(verified.manifest["version"]) != pointer.version:
            raise ModelVerificationError(
                f"{LATEST_FILE} names version {pointer.version} but the manifest is version {verified.manifest['version']}",
                model_id=pointer.model_id,
                file=LATEST_FILE,
            )
        return verified

    def _verify_version(
        self,
        name: str,
        hex_id: str,
        *,
        expected_manifest_sha256: str | None = None,
        all_files: bool = False,
        files: tuple[str, ...] = PREDICTION_FILES,
    ) -> _Verified:
        """Every check, in the order that keeps untrusted bytes away from any parser.

        1. manifest bytes hash to what ``latest.json`` promised (when loading through it);
        2. the signature over that hash verifies with this registry's key;
        3. only now is the manifest parsed; its name and id must match where it was found;
        4. each file's size and SHA256 match the manifest; the id recomputes from the prediction files.
        """
        model_id = f"sha256:{hex_id}"
        folder = f"{name}/{hex_id}"
        try:
            manifest_bytes = self.store.get(f"{folder}/{MANIFEST_FILE}")
        except BlobNotFoundError as exc:
            raise ModelNotFoundError(f"{self.store.location}: no model {model_id} under {name!r}") from exc
        manifest_sha = sha256_hex(manifest_bytes)
        if expected_manifest_sha256 is not None and manifest_sha != expected_manifest_sha256:
            raise ModelVerificationError(
                f"{LATEST_FILE} does not match the manifest it names (swapped or stale pointer)",
                model_id=model_id,
                file=f"{folder}/{MANIFEST_FILE}",
                expected=expected_manifest_sha256,
                actual=manifest_sha,
            )
        try:
            signature = self.store.get(f"{folder}/{SIGNATURE_FILE}")
        except BlobNotFoundError as exc:
            raise ModelVerificationError(
                "signature missing", model_id=model_id, file=f"{folder}/{SIGNATURE_FILE}"
            ) from exc
        if not self.signer.verify(bytes.fromhex(manifest_sha), signature):
            raise ModelVerificationError(
                f"bad signature: manifest.json (sha256 {manifest_sha}) is not signed by {self.signer.key_id}",
                model_id=model_id,
                file=f"{folder}/{SIGNATURE_FILE}",
            )
        try:
            manifest = json.loads(manifest_bytes)
            listed: dict[str, Any] = manifest["files"]
        except (ValueError, KeyError, TypeError) as exc:  # signed but malformed: a publisher bug
            raise ModelVerificationError(
                f"signed manifest is malformed: {exc}", model_id=model_id, file=f"{folder}/{MANIFEST_FILE}"
            ) from exc
        if (
            manifest.get("schema") != MANIFEST_SCHEMA
            or manifest.get("name") != name
            or manifest.get("model_id") != model_id
        ):
            raise ModelVerificationError(
                f"manifest describes {manifest.get('name')!r} {manifest.get('model_id')} ({manifest.get('schema')}), "
                f"but was found at {folder}",
                model_id=model_id,
                file=f"{folder}/{MANIFEST_FILE}",
            )
        wanted = sorted(listed) if all_files else list(files)
        missing = [fn for fn in (*PREDICTION_FILES, *wanted) if fn not in listed]
        if missing:
            raise ModelVerificationError(
                f"manifest lists no hash for {missing}", model_id=model_id, file=f"{folder}/{MANIFEST_FILE}"
            )
        blobs: dict[str, bytes] = {}
        for fn in wanted:
            key = f"{folder}/{fn}"
            try:
                data = self.store.get(key)
            except BlobNotFoundError as exc:
                raise ModelVerificationError("file missing", model_id=model_id, file=key) from exc
            expected = listed[fn]
            if len(data) != int(expected["size"]):
                raise ModelVerificationError(
                    "size mismatch (truncated or extended)",
                    model_id=model_id,
                    file=key,
                    expected=str(expected["size"]),
                    actual=str(len(data)),
                )
            actual = sha256_hex(data)
            if actual != expected["sha256"]:
                raise ModelVerificationError(
                    "sha256 mismatch", model_id=model_id, file=key, expected=str(expected["sha256"]), actual=actual
                )
            blobs[fn] = data
        recomputed = model_id_for({fn: str(listed[fn]["sha256"]) for fn in PREDICTION_FILES})
        if recomputed != model_id:
            raise ModelVerificationError(
                "the prediction files hash to a different model id",
                model_id=model_id,
                expected=model_id,
                actual=recomputed,
            )
        self._names[hex_id] = name
        return _Verified(manifest=manifest, manifest_sha256=manifest_sha, files=blobs)
