"""The CLI against a stack on the moto server: `replay --stack` publishes in order; bad files lose nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from huracan.cli import main
from huracan.data import DEFAULT_MONTH, find_data_file
from huracan.local.aws import EmbeddedAws
from huracan.local.stack import LocalStack

STACK = "huracan-cli-test"


@pytest.fixture(scope="module")
def stack(moto_aws: EmbeddedAws) -> Iterator[LocalStack]:
    yield LocalStack(moto_aws, stack_name=STACK).deploy()


@pytest.fixture(autouse=True)
def _own_environment() -> Iterator[None]:
    """The CLI points its process at a stack through os.environ (`--stack`); a test must not leak that."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _stream_records(name: str) -> list[dict[str, object]]:
    k = boto3.client("kinesis")
    out: list[dict[str, object]] = []
    for shard in k.describe_stream(StreamName=name)["StreamDescription"]["Shards"]:
        it = k.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while True:
            resp = k.get_records(ShardIterator=it, Limit=10_000)
            out += [json.loads(r["Data"]) for r in resp["Records"]]
            if not resp["Records"]:
                break
            it = resp["NextShardIterator"]
    return out


def test_replay_to_a_deployed_stack_publishes_every_record_in_order(
    stack: LocalStack, moto_aws: EmbeddedAws, capsys
) -> None:
    # Given a stack deployed under a name, When a day is replayed to it by name
    rc = main(
        [
            "replay",
            "--data",
            str(find_data_file(DEFAULT_MONTH)),
            "--days",
            "1",
            "--stack",
            STACK,
            "--endpoint",
            moto_aws.endpoint,
        ]
    )
    assert rc == 0
    # Then its stream holds the day's 1,440 bars and their signals, in time order
    recs = _stream_records(stack.physical["MarketStream"])
    bars = [r for r in recs if r["type"] == "bar"]
    assert len(bars) == 1440
    assert [r["ts"] for r in bars] == sorted(r["ts"] for r in bars)
    assert any(r["type"] == "signal" for r in recs)
    assert "published" in capsys.readouterr().out


def test_replay_with_a_quote_file_publishes_real_bid_and_ask(stack: LocalStack, moto_aws: EmbeddedAws) -> None:
    # Given Bybit's real 1-minute bars and its quote bars for half of the same day
    data = find_data_file("bybit_BTCUSDT_1m_20221213.csv.gz")
    quotes = find_data_file("bybit_BTCUSDT_1m_bidask_20221213.csv.gz")
    before = len(_stream_records(stack.physical["MarketStream"]))
    # When the day is published with --quotes
    argv = ["replay", "--data", str(data), "--quotes", str(quotes), "--symbol", "BTC-USDT"]
    assert main([*argv, "--stack", STACK, "--endpoint", moto_aws.endpoint]) == 0
    # Then bars that have a quote carry its closing bid and ask (a real spread), the others none
    bars = [r for r in _stream_records(stack.physical["MarketStream"])[before:] if r["type"] == "bar"]
    quoted = [r for r in bars if "bid" in r]
    assert len(bars) == 1440 and 0 < len(quoted) < len(bars)
    assert all(float(r["bid"]) <= float(r["ask"]) and float(r["ask"]) / float(r["bid"]) < 1.01 for r in quoted)


def test_bad_file_is_refused_with_line_and_column_and_nothing_is_sent(
    stack: LocalStack, moto_aws: EmbeddedAws, tmp_path: Path, capsys
) -> None:
    before = len(_stream_records(stack.physical["MarketStream"]))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ts,open,high,low,close,volume\n2022-01-01T00:00:00Z,1,2,0.5,1.5,10\n2022-01-01T00:01:00Z,1,2,0.5,-3,10\n"
    )
    rc = main(["replay", "--data", str(bad), "--stack", STACK, "--endpoint", moto_aws.endpoint])
    assert rc == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "'close'" in err
    assert len(_stream_records(stack.physical["MarketStream"])) == before


def test_backfill_of_a_bad_file_writes_nothing(
    stack: LocalStack, moto_aws: EmbeddedAws, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,open,high,low,close,volume\n2022-01-01T00:00:00Z,1,2,0.5,1.5,10\nnot-a-time,1,2,0.5,1.5,10\n")
    rc = main(
        ["backfill", "--data", str(bad), "--symbol", "BTC-PERP", "--stack", STACK, "--endpoint", moto_aws.endpoint]
    )
    assert rc == 2
    assert "line 3" in capsys.readouterr().err
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.physical["ModelBucket"], Prefix="bars/")
    assert listed.get("KeyCount", 0) == 0


def test_feed_prints_learning_activity(stack: LocalStack, moto_aws: EmbeddedAws, capsys) -> None:
    assert main(["feed", "--stack", STACK, "--endpoint", moto_aws.endpoint, "--once"]) == 0


def test_backfill_signals_loads_a_history_the_nightly_source_reads_by_symbol_and_day(
    stack: LocalStack, moto_aws: EmbeddedAws, tmp_path: Path, capsys
) -> None:
    # Given a user's signal history over two days and two symbols, one row without a signal_id
    history = tmp_path / "history.csv"
    history.write_text(
        "ts,symbol,side,mode,confidence,signal_id\n"
        "2022-01-01T10:00:00Z,BTC-PERP,long,scalp,0.7,a1\n"
        "2022-01-01T10:05:30Z,BTC-PERP,short,runner,0.8,a2\n"
        "2022-01-02T03:00:00Z,BTC-PERP,long,scalp,0.6,\n"
        "2022-01-01T11:00:00Z,ETH-PERP,long,scalp,0.9,e1\n"
    )
    # When it is backfilled to the stack
    rc = main(["backfill", "--signals", str(history), "--stack", STACK, "--endpoint", moto_aws.endpoint])
    # Then it lands partitioned by symbol and day
    assert rc == 0, capsys.readouterr().err
    assert "4 signals" in capsys.readouterr().out
    bucket = stack.physical["ModelBucket"]
    keys = sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="signals/")["Contents"])
    assert keys == [
        "signals/symbol=BTC-PERP/day=2022-01-01/signals.parquet",
        "signals/symbol=BTC-PERP/day=2022-01-02/signals.parquet",
        "signals/symbol=ETH-PERP/day=2022-01-01/signals.parquet",
    ]
    # and the nightly's historical source reads them back, placed on the bars that closed by their ts
    from huracan.adapters.signal_archive import ArchivedSignals
    from huracan.data import load_minute_bars

    bars = load_minute_bars(find_data_file(DEFAULT_MONTH), 3)
    sig = ArchivedSignals(bucket)(bars, "BTC-PERP")
    assert sig.signal_id is not None and sig.signal_id[:2] == ("a1", "a2") and len(sig) == 3
    assert sig.signal_id[2] == "user.BTC-PERP.20220102T030000Z.long"
    assert [int(bars.ts[k]) + 60 for k in sig.bar_idx[:2]] == [1641031200, 1641031500]  # 10:00, 10:05 closes
    # a re-run of the same backfill changes nothing (merged by signal_id)
    assert main(["backfill", "--signals", str(history), "--stack", STACK, "--endpoint", moto_aws.endpoint]) == 0
    assert len(ArchivedSignals(bucket)(bars, "BTC-PERP")) == 3


def test_a_bad_signals_file_is_refused_with_line_and_column_and_nothing_is_sent(
    stack: LocalStack, moto_aws: EmbeddedAws, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "bad_signals.csv"
    bad.write_text(
        "ts,symbol,side,mode,confidence\n2022-01-01T10:00:00Z,BTC-PERP,long,scalp,0.7\n"
        "2022-01-01T10:01:00Z,BTC-PERP,up,scalp,0.7\n"
    )
    before = len(_stream_records(stack.physical["MarketStream"]))
    rc = main(["publish", "--signals", str(bad), "--stack", STACK, "--endpoint", moto_aws.endpoint])
    assert rc == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "column 'side'" in err and str(bad) in err and "Traceback" not in err
    assert len(_stream_records(stack.physical["MarketStream"])) == before
