"""Bad luck: the nightly is missed for several nights (issue 17, table row 11).

Before the fix the nightly archived only "yesterday": after three missed nights, the fourth archived one day and
the other three stayed in the prices table until its 35-day TTL deleted them, unarchived and without an alarm.
Now every finished day without a compaction marker is archived, the backlog is reported (``ArchiveBacklogDays``,
watched by ``UnarchivedBarsNearExpiryAlarm``) and a failed night says so (``NightlyFailed``) apart from a night
that published no model.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import boto3
import numpy as np
import pytest

from huracan.adapters.archive import BarArchive
from huracan.adapters.repository import Repository
from huracan.adapters.settings import AwsSettings
from huracan.adapters.tables import bind_tables
from huracan.adapters.training_store import NightlySettings
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.records import Bar
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.learning.nightly import ports_from_settings, run_nightly
from tests.integration._stack import aws_endpoint, create_resources

SYMBOL = "BTC-PERP"
DAYS = ["2022-01-02", "2022-01-03", "2022-01-04", "2022-01-05", "2022-01-06"]


@pytest.fixture(scope="module")
def endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    with aws_endpoint(request) as url:
        yield url


def _bars(bars: BarArrays, day: str) -> list[Bar]:
    lo, hi = np.searchsorted(bars.ts, [epoch_s(f"{day}T00:00:00Z"), epoch_s(f"{day}T00:00:00Z") + 86400])
    return [
        Bar(
            type="bar",
            symbol=SYMBOL,
            ts=from_epoch_s(int(bars.ts[i])),
            open=float(bars.open[i]),
            high=float(bars.high[i]),
            low=float(bars.low[i]),
            close=float(bars.close[i]),
            volume=float(bars.volume[i]),
        )
        for i in range(int(lo), int(hi))
    ]


def _metric(name: str) -> list[float]:
    cw = boto3.client("cloudwatch")
    got = cw.get_metric_statistics(
        Namespace="Huracan",
        MetricName=name,
        Dimensions=[{"Name": "service", "Value": "huracan"}],
        StartTime=datetime(2021, 12, 1, tzinfo=UTC),
        EndTime=datetime(2022, 2, 1, tzinfo=UTC),
        Period=86400,
        Statistics=["Maximum"],
    )
    return [float(p["Maximum"]) for p in sorted(got["Datapoints"], key=lambda p: p["Timestamp"])]


def test_promise_three_missed_nights_are_archived_by_the_fourth(endpoint: str, ftx_month: BarArrays) -> None:
    env = create_resources(endpoint)
    bucket = f"archive-{uuid.uuid4().hex[:10]}"
    region = env["AWS_REGION"]
    boto3.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": cast(Any, region)})
    key = boto3.client("kms").create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    env.update(
        {
            "MODEL_BUCKET": bucket,
            "MODEL_SIGNING_KEY_ID": key,
            "HURACAN_PROFILE": "demo",
            "INGEST_SYMBOLS": SYMBOL,
            "TRAINING_LOOKBACK_DAYS": "1",
        }
    )
    settings = NightlySettings.from_env(env)
    repo = Repository(bind_tables(settings))
    per_day = {day: _bars(ftx_month, day) for day in DAYS}
    archive = BarArchive(bucket, AwsSettings.from_env(env))

    def night(event_time: str) -> Any:
        return run_nightly(event_time, ports=ports_from_settings(settings), engine=load_config("demo"), min_rows=10**9)

    # Given the first night ran (it archived 2022-01-02) ...
    repo.put_bars(per_day[DAYS[0]], None)
    night("2022-01-03T00:00:00Z")
    assert archive.days(SYMBOL) == [DAYS[0]]
    # ... and the next three nights never ran while the bars of 01-03 .. 01-06 kept arriving
    for day in DAYS[1:]:
        repo.put_bars(per_day[day], None)
    # When the fourth night runs
    result = night("2022-01-07T00:00:00Z")
    # Then every day the missed nights owed is archived, bar for bar, not only yesterday
    assert archive.days(SYMBOL) == DAYS
    for day in DAYS:
        stored = archive.read_day(SYMBOL, day)
        assert len(stored) == len(per_day[day]) > 1000
        assert np.array_equal(stored.close, [b.close for b in per_day[day]])
    assert result.session["steps"]["archive"]["days_compacted"] == DAYS[1:]
    # and the backlog it found is reported (4 days: the oldest unarchived day was 2022-01-03), no failure
    assert result.session["steps"]["archive"]["backlog_age_days"] == 4
    assert 4.0 in _metric("ArchiveBacklogDays")
    assert _metric("NightlyFailed") and max(_metric("NightlyFailed")) == 0.0
