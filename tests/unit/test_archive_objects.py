"""The bar archive reads and writes through the registry's checked S3 store: one checked GET, its own error."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from huracan.adapters.archive import ArchiveError, BarArchive, bars_to_parquet, day_key
from huracan.adapters.s3_store import b64_sha256
from huracan.adapters.settings import AwsSettings
from huracan.core.bars import BarArrays


class _S3:
    """Answers like S3 for one stored object (body, stored checksum, ETag) and records what was put."""

    def __init__(self, body: bytes, stored_checksum: str) -> None:
        self.body, self.stored = body, stored_checksum
        self.meta = SimpleNamespace(endpoint_url="http://s3.stub")  # the decoded-day cache keys on it
        self.puts: list[dict[str, Any]] = []

    def get_object(self, **kw: Any) -> dict[str, Any]:
        assert kw["ChecksumMode"] == "ENABLED"
        return {"Body": io.BytesIO(self.body), "ChecksumSHA256": self.stored, "ETag": '"e1"'}

    def put_object(self, **kw: Any) -> dict[str, Any]:
        self.puts.append(kw)
        return {"ChecksumSHA256": kw["ChecksumSHA256"]}


def _day() -> bytes:
    ts = 1_641_254_400 + 60 * np.arange(3)  # 2022-01-04T00:00Z, three bars
    bars = BarArrays(ts=ts, open=ts * 0 + 1.0, high=ts * 0 + 2.0, low=ts * 0 + 0.5, close=ts * 0 + 1.5,
                     volume=ts * 0 + 10.0, bid=ts * 0 + 1.4, ask=ts * 0 + 1.6)  # fmt: skip
    return bars_to_parquet(bars)


def test_a_day_whose_bytes_differ_from_the_stored_sha256_is_an_archive_error() -> None:
    # Given an archived day whose body no longer matches the checksum S3 stored with it
    data = _day()
    archive = BarArchive("bars", AwsSettings(), s3=_S3(data[:-1] + b"\x00", b64_sha256(data)))
    # When it is read, Then the archive refuses it with its own permanent error naming the object
    with pytest.raises(ArchiveError, match=r"s3://bars/.*2022-01-04.*does not match its stored SHA256"):
        archive.read_day("BTC-PERP", "2022-01-04")


def test_a_day_is_written_with_its_sha256_and_parquet_content_type() -> None:
    s3 = _S3(b"", "")
    data = _day()
    BarArchive("bars", AwsSettings(), s3=s3)._put(day_key("BTC-PERP", "2022-01-04"), data)
    (put,) = s3.puts
    assert put["ChecksumSHA256"] == b64_sha256(data) and put["ChecksumAlgorithm"] == "SHA256"
    assert put["ContentType"] == "application/vnd.apache.parquet" and put["Body"] == data
