"""Where registry objects live: a tiny key -> bytes port with a folder and an S3 implementation.

The registry needs only put / get / list-children, with keys relative to the registry root
(``meta_label/<hex>/manifest.json``), so the same verification code runs against a shared folder on one
machine and ``s3://bucket/models`` in AWS. The S3 implementation is :mod:`huracan.adapters.s3_store`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from huracan.registry.errors import BlobNotFoundError

__all__ = ["BlobStore", "LocalStore", "open_store"]


@runtime_checkable
class BlobStore(Protocol):
    """Keys are ``/``-separated and relative to the registry root; ``location`` is for messages."""

    @property
    def location(self) -> str: ...

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` whole: a reader never sees a partly written object."""

    def get(self, key: str) -> bytes:
        """The object's bytes; :class:`BlobNotFoundError` when absent."""

    def exists(self, key: str) -> bool: ...

    def list_children(self, prefix: str) -> list[str]:
        """Names of the immediate sub-"folders" of ``prefix`` ("" = the root), sorted."""


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid registry key {key!r}")
    return key


class LocalStore:
    """A folder: atomic writes (temp file + fsync + rename), so a crash never leaves half a file."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key).split("/"))

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFoundError(key, self.location) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_children(self, prefix: str) -> list[str]:
        folder = self._path(prefix) if prefix else self.root
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def open_store(base_path: str | os.PathLike[str]) -> BlobStore:
    """``s3://bucket/prefix`` -> the S3 adapter (imported only then, so folders need no boto3); else a folder."""
    text = os.fspath(base_path)
    if text.startswith("s3://"):
        from huracan.adapters.s3_store import S3Store

        return S3Store.from_url(text)
    return LocalStore(text)
