"""The model registry's S3 store: every object carries a SHA256 checksum that S3 checks on the way in and
we check on the way out.

On ``put`` we send our own ``ChecksumSHA256`` (not just ``ChecksumAlgorithm``), so S3 refuses the upload
(``BadDigest``) if the bytes it received are not the bytes we hashed. On ``get`` we ask for the stored
checksum (``ChecksumMode=ENABLED``) and compare it with the body we read. That catches transport and
storage corruption; deliberate tampering (a new object with its own valid checksum) is caught one level up,
by the hashes in the signed manifest.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import botocore.exceptions

from huracan.adapters.clients import env_client
from huracan.adapters.errors import translate_errors
from huracan.adapters.object_cache import Fetched
from huracan.registry.errors import BlobNotFoundError, ModelVerificationError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Store", "b64_sha256"]

_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket"})
_NOT_MODIFIED = frozenset({"304", "NotModified"})


def b64_sha256(data: bytes) -> str:
    """SHA256 in the base64 form S3 uses for ``ChecksumSHA256``."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Store:
    """``s3://bucket/prefix`` as a :class:`~huracan.registry.store.BlobStore`.

    The client is created on first use (from the environment: ``AWS_ENDPOINT_URL`` points it at the
    local moto server), so constructing a registry does no I/O.
    """

    def __init__(self, bucket: str, prefix: str = "", *, client: S3Client | None = None) -> None:
        if not bucket:
            raise ValueError("an S3 registry needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    @staticmethod
    def from_url(url: str, *, client: S3Client | None = None) -> S3Store:
        parsed = urlparse(url)
        if parsed.scheme != "s3":
            raise ValueError(f"not an s3:// URL: {url!r}")
        return S3Store(parsed.netloc, parsed.path, client=client)

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = env_client("s3")
        return self._client

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        checksum = b64_sha256(data)
        extra: dict[str, Any] = {} if content_type is None else {"ContentType": content_type}
        with translate_errors(f"s3 put_object {self.location}/{key}"):
            resp = self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
                **extra,
            )
        stored = resp.get("ChecksumSHA256")
        if stored is not None and stored != checksum:
            raise ModelVerificationError(
                "S3 stored a different checksum than was sent", file=key, expected=checksum, actual=stored
            )

    def get(self, key: str) -> bytes:
        got = self.fetch(key)
        if got is None:
            raise BlobNotFoundError(key, self.location)
        assert got[0] is not None  # no ETag was given, so the object always comes with its body
        return got[0]

    def fetch(self, key: str, if_none_match: str | None = None) -> Fetched:
        """The object and its ETag, checked; ``(None, etag)`` if it still has ``if_none_match``; None if absent.

        The conditional form is what lets :class:`~huracan.adapters.object_cache.DecodedCache` keep a decoded
        object and still see every rewrite: an unchanged object costs a request but no body.
        """
        resp: Any
        extra: dict[str, Any] = {} if if_none_match is None else {"IfNoneMatch": if_none_match}
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key(key), ChecksumMode="ENABLED", **extra)
            body: bytes = resp["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return None
            if if_none_match is not None and _code(exc) in _NOT_MODIFIED:
                return None, if_none_match
            with translate_errors(f"s3 get_object {self.location}/{key}"):
                raise
        except botocore.exceptions.FlexibleChecksumError as exc:
            raise ModelVerificationError(f"S3 checksum check failed while reading: {exc}", file=key) from exc
        stored = resp.get("ChecksumSHA256")
        # A multipart object's checksum is a checksum of part checksums ("...-N"): not comparable here.
        if stored and "-" not in stored:
            actual = b64_sha256(body)
            if stored != actual:
                raise ModelVerificationError(
                    "S3 object does not match its stored SHA256", file=key, expected=stored, actual=actual
                )
        return body, str(resp.get("ETag", ""))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return False
            with translate_errors(f"s3 head_object {self.location}/{key}"):
                raise
        return True

    def list_children(self, prefix: str) -> list[str]:
        full = self._key(prefix.strip("/")) if prefix else self.prefix
        base = f"{full}/" if full else ""
        names: list[str] = []
        with translate_errors(f"s3 list_objects_v2 {self.location}/{prefix}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base, Delimiter="/"
            )
            for page in pages:
                for cp in page.get("CommonPrefixes", []):
                    name = cp.get("Prefix", "")[len(base) :].rstrip("/")
                    if name and not name.startswith("."):
                        names.append(name)
        return sorted(names)
