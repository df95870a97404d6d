"""The S3 bar archive on moto: backfill from a file, read back, checksums, all-or-nothing, idempotent compaction."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import numpy as np
import pytest

from huracan.adapters.archive import BarArchive, day_key
from huracan.adapters.errors import TransientError
from huracan.adapters.repository import Repository
from huracan.adapters.settings import AwsSettings, TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.bars import BarArrays
from huracan.core.records import Bar
from huracan.core.timeutil import from_epoch_s
from huracan.data import DataFileError
from huracan.learning.archive_jobs import backfill, compact_day, compact_yesterday
from tests.integration._stack import aws_endpoint, create_resources

SYMBOL = "BTC-PERP"
START = 2 * 1440 + 700  # 3,000 bars from 2022-01-03 10:41: three days, two of them partial
N = 3000
COLS = ("ts", "open", "high", "low", "close", "volume", "bid", "ask")


@pytest.fixture(scope="module")
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    mp = pytest.MonkeyPatch()
    with aws_endpoint(request) as endpoint:
        resources = create_resources(endpoint)
        for k, v in resources.items():
            mp.setenv(k, v)
        yield resources
    mp.undo()


@pytest.fixture()
def bucket(env: dict[str, str]) -> str:
    name = f"bars-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": cast(Any, os.environ["AWS_DEFAULT_REGION"])}
    )
    return name


def keys(bucket: str) -> list[str]:
    return sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def write_csv(path: Path, bars: BarArrays, bad_line: int | None = None) -> None:
    lines = ["ts,open,high,low,close,volume"]
    for i in range(len(bars)):
        vals = [repr(float(getattr(bars, c)[i])) for c in ("open", "high", "low", "close", "volume")]
        if bad_line is not None and i + 2 == bad_line:
            vals[0] = "-5"
        lines.append(",".join([from_epoch_s(int(bars.ts[i])), *vals]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def same(a: BarArrays, b: BarArrays) -> bool:
    return all(np.array_equal(getattr(a, c), getattr(b, c), equal_nan=True) for c in COLS)


def test_backfill_writes_one_checksummed_parquet_per_day_and_reads_back_exactly(
    bucket: str, tmp_path: Path, ftx_month: BarArrays
) -> None:
    bars = ftx_month.slice(START, START + N)
    csv = tmp_path / "bars.csv"
    write_csv(csv, bars)
    result = backfill(csv, SYMBOL, bucket)
    assert result.rows_read == N and result.objects == 3
    assert keys(bucket) == [day_key(SYMBOL, d) for d in ("2022-01-03", "2022-01-04", "2022-01-05")]
    assert sum(result.days[SYMBOL].values()) == N
    archive = BarArchive(bucket, AwsSettings.from_env())
    t0, t1 = int(bars.ts[0]), int(bars.ts[-1]) + 60
    assert same(archive.bars_between(SYMBOL, from_epoch_s(t0), from_epoch_s(t1)), bars)
    inner = archive.bars_between(SYMBOL, from_epoch_s(t0 + 600), from_epoch_s(t0 + 86_400 + 120))
    assert same(inner, bars.slice(10, 10 + 1440 + 2 - 10))
    s3 = boto3.client("s3")
    obj = s3.get_object(Bucket=bucket, Key=keys(bucket)[1], ChecksumMode="ENABLED")
    body = obj["Body"].read()
    assert obj["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert archive.days(SYMBOL) == ["2022-01-03", "2022-01-04", "2022-01-05"]
    # a second backfill of the same file leaves the same bytes
    before = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys(bucket)}
    backfill(csv, SYMBOL, bucket)
    assert {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys(bucket)} == before


def test_a_bad_row_names_file_line_and_column_and_writes_nothing(
    bucket: str, tmp_path: Path, ftx_month: BarArrays
) -> None:
    csv = tmp_path / "bad.csv"
    write_csv(csv, ftx_month.slice(START, START + N), bad_line=2500)
    with pytest.raises(DataFileError) as info:
        backfill(csv, SYMBOL, bucket)
    assert "bad.csv" in str(info.value) and "line 2500" in str(info.value) and "'open'" in str(info.value)
    assert keys(bucket) == []


def test_a_failed_upload_leaves_the_archive_as_it_was(
    bucket: str, tmp_path: Path, ftx_month: BarArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = BarArchive(bucket, AwsSettings.from_env())
    first = ftx_month.slice(START, START + 100)  # day 2022-01-03 already holds 100 bars
    archive.put_bars(SYMBOL, first)
    before = archive.read_day(SYMBOL, "2022-01-03")
    real_put = BarArchive._put
    calls = {"n": 0}

    def flaky(self: BarArchive, key: str, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise TransientError("s3.PutObject: SlowDown (injected)")
        real_put(self, key, data)

    monkeypatch.setattr(BarArchive, "_put", flaky)
    with pytest.raises(TransientError):
        archive.put_bars(SYMBOL, ftx_month.slice(START, START + N))
    monkeypatch.undo()
    assert keys(bucket) == [day_key(SYMBOL, "2022-01-03")]  # the new day that was written is gone again
    assert same(archive.read_day(SYMBOL, "2022-01-03"), before)  # and the old day is restored


def test_nightly_compaction_of_the_prices_table_is_idempotent_and_merges(
    env: dict[str, str], bucket: str, ftx_month: BarArrays
) -> None:
    repo = Repository(bind_tables(TableSettings.model_validate(dict(os.environ))))
    b = ftx_month
    day0 = int(np.searchsorted(b.ts, 1_641_340_800))  # 2022-01-05T00:00:00Z
    rows = [
        Bar(
            type="bar",
            symbol=SYMBOL,
            ts=from_epoch_s(int(b.ts[i])),
            open=float(b.open[i]),
            high=float(b.high[i]),
            low=float(b.low[i]),
            close=float(b.close[i]),
            volume=float(b.volume[i]),
            bid=float(b.close[i]) - 0.5 if i % 2 else None,
            ask=float(b.close[i]) + 0.5 if i % 2 else None,
        )
        for i in range(day0 - 30, day0 + 1440 + 30)  # a little of the days around it too
    ]
    repo.put_bars(rows, None)
    archive = BarArchive(bucket, AwsSettings.from_env())
    archive.put_bars(SYMBOL, b.slice(day0, day0 + 10))  # an earlier partial backfill of that day
    result = compact_yesterday("2022-01-06T00:05:00Z", [SYMBOL, "ETH-PERP"], bucket, prices=repo)
    assert result.rows_read == 1440 and result.days == {SYMBOL: {"2022-01-05": 1440}}
    got = archive.read_day(SYMBOL, "2022-01-05")
    want = repo.bars_between(SYMBOL, "2022-01-05T00:00:00Z", "2022-01-06T00:00:00Z")
    assert same(got, want) and np.isfinite(got.bid).sum() == 720  # quotes kept, missing ones null
    s3 = boto3.client("s3")
    etag = s3.head_object(Bucket=bucket, Key=day_key(SYMBOL, "2022-01-05"))["ETag"]
    again = compact_day("2022-01-05", [SYMBOL], bucket, prices=repo)
    assert again.days == result.days
    assert s3.head_object(Bucket=bucket, Key=day_key(SYMBOL, "2022-01-05"))["ETag"] == etag
    assert keys(bucket) == [day_key(SYMBOL, "2022-01-05")]


def test_a_day_read_again_is_revalidated_not_redecoded_and_a_rewrite_is_seen(
    bucket: str, ftx_month: BarArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huracan.adapters import archive as archive_module

    day = ftx_month.slice(START + 1000, START + 1200)  # within 2022-01-04
    archive = BarArchive(bucket, AwsSettings.from_env())
    archive.put_bars(SYMBOL, day)
    cache = archive_module._DAYS
    calls: list[str | None] = []
    fetch = BarArchive._fetch

    def spy(self: BarArchive, key: str, if_none_match: str | None = None) -> Any:
        calls.append(if_none_match)
        return fetch(self, key, if_none_match)

    monkeypatch.setattr(BarArchive, "_fetch", spy)
    first = archive.read_day(SYMBOL, "2022-01-04")
    hits = cache.hits
    # a second reader (another night, another archive object) asks S3 with the ETag it kept: 304, no body
    again = BarArchive(bucket, AwsSettings.from_env()).read_day(SYMBOL, "2022-01-04")
    assert cache.hits == hits + 1 and calls[-1] is not None
    assert again is first and same(again, day)
    # what is kept is shared, so nobody may change it in place
    with pytest.raises(ValueError, match="read-only"):
        again.close[0] = 1.0
    # a rewrite of the day (a late bar merged in) changes the ETag: the next read gets the new bytes
    extra = ftx_month.slice(START + 1200, START + 1201)
    archive.put_bars(SYMBOL, extra)
    merged = archive.read_day(SYMBOL, "2022-01-04")
    assert cache.hits == hits + 1 and len(merged) == len(day) + 1
    assert same(merged.slice(0, len(day)), day)
    # and a deleted day reads as empty, not as the copy kept
    boto3.client("s3").delete_object(Bucket=bucket, Key=day_key(SYMBOL, "2022-01-04"))
    assert len(archive.read_day(SYMBOL, "2022-01-04")) == 0
