"""S3Store's own checksum checks, against a stand-in client (no network): corruption in transit is refused."""

from __future__ import annotations

import io
from typing import Any

import botocore.exceptions
import pytest

from huracan.adapters.s3_store import S3Store, b64_sha256
from huracan.registry.errors import BlobNotFoundError, ModelVerificationError


class FakeS3:
    """Keeps objects with the checksum S3 would store; ``corrupt`` damages bodies on the way out."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.put_calls: list[dict[str, Any]] = []
        self.corrupt = False
        self.echo_checksum: str | None = None

    def put_object(self, **kw: Any) -> dict[str, Any]:
        self.put_calls.append(kw)
        self.objects[kw["Key"]] = (kw["Body"], b64_sha256(kw["Body"]))
        return {"ChecksumSHA256": self.echo_checksum or b64_sha256(kw["Body"])}

    def get_object(self, **kw: Any) -> dict[str, Any]:
        if kw["Key"] not in self.objects:
            raise botocore.exceptions.ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        body, checksum = self.objects[kw["Key"]]
        if self.corrupt:
            body = body[:-1] + b"?"
        return {"Body": io.BytesIO(body), "ChecksumSHA256": checksum}


def test_put_sends_our_sha256_and_get_checks_it():
    client = FakeS3()
    store = S3Store("bucket", "models/", client=client)  # type: ignore[arg-type]
    store.put("meta_label/x/model.lgb.txt", b"tree")
    call = client.put_calls[0]
    assert call["Key"] == "models/meta_label/x/model.lgb.txt"
    assert call["ChecksumAlgorithm"] == "SHA256" and call["ChecksumSHA256"] == b64_sha256(b"tree")
    assert store.get("meta_label/x/model.lgb.txt") == b"tree"
    client.corrupt = True
    with pytest.raises(ModelVerificationError, match="does not match its stored SHA256") as exc:
        store.get("meta_label/x/model.lgb.txt")
    assert exc.value.file == "meta_label/x/model.lgb.txt" and exc.value.expected == b64_sha256(b"tree")
    with pytest.raises(BlobNotFoundError, match="s3://bucket/models: nope does not exist"):
        store.get("nope")


def test_put_refuses_a_different_stored_checksum():
    client = FakeS3()
    client.echo_checksum = b64_sha256(b"other")
    with pytest.raises(ModelVerificationError, match="different checksum"):
        S3Store("bucket", client=client).put("k", b"tree")  # type: ignore[arg-type]


def test_url_parsing():
    store = S3Store.from_url("s3://my-bucket/models")
    assert (store.bucket, store.prefix, store.location) == ("my-bucket", "models", "s3://my-bucket/models")
    with pytest.raises(ValueError, match="not an s3:// URL"):
        S3Store.from_url("/tmp/models")
