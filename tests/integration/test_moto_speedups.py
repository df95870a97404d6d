"""The local runtime's moto speed-ups give exactly moto's own answers (queries, paging, Kinesis reads)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huracan.local import moto_speedups
from huracan.local.aws import EmbeddedAws


@pytest.fixture(scope="module")
def table(moto_aws: EmbeddedAws) -> Iterator[str]:
    ddb = boto3.client("dynamodb")
    name = "speedup-prices"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "symbol", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "symbol", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}],
    )
    rng = random.Random(7)
    minutes = rng.sample(range(3000), 300)  # inserted out of order, with gaps
    for sym in ("BTC", "ETH"):
        for m in minutes[: 200 if sym == "BTC" else 150]:
            ddb.put_item(
                TableName=name,
                Item={
                    "symbol": {"S": sym},
                    "ts": {"S": f"2022-01-01T{m // 60:02d}:{m % 60:02d}Z"},
                    "close": {"N": str(m)},
                },
            )
    ddb.delete_item(
        TableName=name,
        Key={"symbol": {"S": "BTC"}, "ts": {"S": f"2022-01-01T{minutes[0] // 60:02d}:{minutes[0] % 60:02d}Z"}},
    )
    yield name


def _query_all(name: str, **kw: Any) -> list[tuple[list[dict[str, Any]], Any, int]]:
    ddb = boto3.client("dynamodb")
    pages = []
    start = None
    while True:
        args = dict(kw, TableName=name)
        if start is not None:
            args["ExclusiveStartKey"] = start
        resp = ddb.query(**args)
        pages.append((resp["Items"], resp.get("LastEvaluatedKey"), resp["ScannedCount"]))
        start = resp.get("LastEvaluatedKey")
        if start is None:
            return pages


def _stamp(m: int) -> str:
    return f"2022-01-01T{m // 60:02d}:{m % 60:02d}Z"


ops = st.sampled_from(["<", "<=", ">", ">=", "=", "BETWEEN", "BEGINS"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    op=ops,
    a=st.integers(0, 3100),
    b=st.integers(0, 3100),
    forward=st.booleans(),
    limit=st.sampled_from([None, 1, 7, 50]),
    sym=st.sampled_from(["BTC", "ETH", "XRP"]),
)
def test_fast_query_equals_moto_query(
    table: str, op: str, a: int, b: int, forward: bool, limit: int | None, sym: str
) -> None:
    lo, hi = sorted((a, b))
    values: dict[str, Any] = {":s": {"S": sym}}
    if op == "BETWEEN":
        cond = "symbol = :s AND ts BETWEEN :a AND :b"
        values[":a"], values[":b"] = {"S": _stamp(lo)}, {"S": _stamp(hi)}
    elif op == "BEGINS":
        cond = "symbol = :s AND begins_with(ts, :a)"
        values[":a"] = {"S": _stamp(a)[:13]}
    else:
        cond = f"symbol = :s AND ts {op} :a"
        values[":a"] = {"S": _stamp(a)}
    kw: dict[str, Any] = {
        "KeyConditionExpression": cond,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": forward,
    }
    if limit is not None:
        kw["Limit"] = limit
    was = moto_speedups.installed()
    moto_speedups.install()
    try:
        fast = _query_all(table, **kw)
    finally:
        moto_speedups.uninstall()
    try:
        slow = _query_all(table, **kw)
    finally:
        if was:
            moto_speedups.install()
    assert fast == slow


def test_kinesis_reads_are_unchanged(moto_aws: EmbeddedAws) -> None:
    k = boto3.client("kinesis")
    k.create_stream(StreamName="speedup", ShardCount=1)
    shard = k.describe_stream(StreamName="speedup")["StreamDescription"]["Shards"][0]["ShardId"]

    def read(limit: int) -> list[list[bytes]]:
        it = k.get_shard_iterator(StreamName="speedup", ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        out = []
        while True:
            r = k.get_records(ShardIterator=it, Limit=limit)
            if not r["Records"]:
                return out
            out.append([x["Data"] for x in r["Records"]])
            it = r["NextShardIterator"]

    was = moto_speedups.installed()
    moto_speedups.uninstall()
    k.put_records(StreamName="speedup", Records=[{"Data": f"a{i}".encode(), "PartitionKey": "p"} for i in range(37)])
    slow = read(10)
    moto_speedups.install()
    try:
        fast = read(10)
        k.put_records(StreamName="speedup", Records=[{"Data": f"b{i}".encode(), "PartitionKey": "p"} for i in range(5)])
        fast_after = read(10)
    finally:
        moto_speedups.uninstall()
    slow_after = read(10)
    if was:
        moto_speedups.install()
    assert fast == slow and len(fast) == 4
    assert fast_after == slow_after
    assert [x for page in fast_after for x in page][-5:] == [f"b{i}".encode() for i in range(5)]


def _ddb_script(name: str) -> list[Any]:
    """Every data-plane call the engine makes, with their answers (minus request metadata)."""
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    out: list[Any] = []

    def rec(resp: dict[str, Any]) -> None:
        resp.pop("ResponseMetadata", None)
        out.append(resp)

    item = {
        "id": {"S": "a"},
        "n": {"N": "1.5"},
        "m": {"M": {"x": {"L": [{"S": "y"}, {"NULL": True}, {"BOOL": False}]}}},
    }
    rec(ddb.put_item(TableName=name, Item=item, ReturnValues="ALL_OLD"))
    rec(ddb.put_item(TableName=name, Item={**item, "n": {"N": "2"}}, ReturnValues="ALL_OLD"))
    rec(
        ddb.update_item(
            TableName=name,
            Key={"id": {"S": "a"}},
            UpdateExpression="SET n = :v",
            ExpressionAttributeValues={":v": {"N": "3"}},
            ReturnValues="ALL_NEW",
        )
    )
    rec(ddb.get_item(TableName=name, Key={"id": {"S": "a"}}, ConsistentRead=True))
    rec(ddb.get_item(TableName=name, Key={"id": {"S": "missing"}}))
    rec(
        ddb.batch_write_item(
            RequestItems={
                name: [{"PutRequest": {"Item": {"id": {"S": f"b{i}"}, "n": {"N": str(i)}}}} for i in range(5)]
            }
        )
    )
    rec(ddb.batch_get_item(RequestItems={name: {"Keys": [{"id": {"S": "b1"}}, {"id": {"S": "b2"}}]}}))
    rec(
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": name,
                        "Item": {"id": {"S": "t"}},
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                }
            ]
        )
    )
    rec(ddb.scan(TableName=name, Limit=3))
    rec(ddb.query(TableName=name, KeyConditionExpression="id = :i", ExpressionAttributeValues={":i": {"S": "b3"}}))
    rec(ddb.delete_item(TableName=name, Key={"id": {"S": "b4"}}, ReturnValues="ALL_OLD"))
    try:
        ddb.put_item(TableName=name, Item={"id": {"S": "t"}}, ConditionExpression="attribute_not_exists(id)")
    except ddb.exceptions.ConditionalCheckFailedException as exc:
        out.append(exc.response["Error"]["Code"])
    ddb.delete_table(TableName=name)
    return out


def test_dynamodb_answers_are_unchanged(moto_aws: EmbeddedAws) -> None:
    was = moto_speedups.installed()
    moto_speedups.install()
    try:
        fast = _ddb_script("speedup-ddb")
    finally:
        moto_speedups.uninstall()
    try:
        slow = _ddb_script("speedup-ddb")
    finally:
        if was:
            moto_speedups.install()
    assert fast == slow
    assert fast[-1] == "ConditionalCheckFailedException"
