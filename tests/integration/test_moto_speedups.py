"""The local runtime's moto speed-ups give exactly moto's own answers (queries, paging, Kinesis reads)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models.dynamo_type import DynamoType

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


_scalar = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=8)),
    st.builds(lambda n: {"N": str(n)}, st.integers(-(10**6), 10**6)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda b: {"B": b}, st.binary(max_size=6)),
    st.builds(lambda xs: {"SS": sorted(set(xs))}, st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=3)),
)
_attr = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"L": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=3)),
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(item=st.dictionaries(st.text(min_size=1, max_size=5), _attr, min_size=1, max_size=5))
def test_item_conversion_equals_motos(item: dict[str, Any]) -> None:
    """Query/GetItem results are converted exactly as moto's own dynamo_to_dict converts them."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.utilities import dynamo_to_dict

    attrs = Item(DynamoType({"S": "pk"}), None, item).attrs  # the dict subclass moto returns items in
    result = {"Items": [attrs, attrs], "Count": 2, "LastEvaluatedKey": {"pk": DynamoType({"S": "x"})}}
    assert moto_speedups._dynamo_to_dict(result) == dynamo_to_dict(result)


def test_each_execution_gets_its_own_parsed_program() -> None:
    """The ASL is parsed once per definition, but no two executions share a program object."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = '{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}'
    worker = SimpleNamespace(
        _evaluation_details=SimpleNamespace(state_machine_details=SimpleNamespace(definition=definition))
    )
    first = moto_speedups._evaluation_entrypoint(worker)  # type: ignore[arg-type]
    second = moto_speedups._evaluation_entrypoint(worker)  # type: ignore[arg-type]
    fresh = AmazonStateLanguageParser.parse(definition)[0]
    assert first is not second and first.states is not second.states
    assert type(first) is type(fresh) and first.start_at.start_at_name == fresh.start_at.start_at_name
    assert [s.name for s in first.states.states.values()] == [s.name for s in fresh.states.states.values()]


@pytest.fixture(scope="module")
def gsi_table(moto_aws: EmbeddedAws) -> Iterator[str]:
    """Decisions-shaped: HASH signal_id, GSI by_day (day, ts), some items without the index keys."""
    ddb = boto3.client("dynamodb")
    name = "speedup-decisions"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "signal_id", "AttributeType": "S"},
            {"AttributeName": "day", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "signal_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_day",
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    rng = random.Random(11)
    for i in range(400):
        m = rng.randrange(3000)
        item: dict[str, Any] = {"signal_id": {"S": f"s{i:04d}"}, "ts": {"S": _stamp(m)}, "n": {"N": str(i % 7)}}
        if i % 13:
            item["day"] = {"S": f"2022-01-0{1 + i % 4}"}
        ddb.put_item(TableName=name, Item=item)
    yield name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    day=st.sampled_from(["2022-01-01", "2022-01-02", "2022-01-04", "2022-01-09"]),
    a=st.integers(0, 3100),
    forward=st.booleans(),
    limit=st.sampled_from([None, 1, 9, 60]),
    with_range=st.booleans(),
    with_filter=st.booleans(),
)
def test_gsi_query_equals_moto_query(
    gsi_table: str, day: str, a: int, forward: bool, limit: int | None, with_range: bool, with_filter: bool
) -> None:
    """GSI queries through the grouped walk page, sort and filter exactly as moto's full walk — also after writes."""
    ddb = boto3.client("dynamodb")
    values: dict[str, Any] = {":d": {"S": day}}
    cond = "#d = :d"
    if with_range:
        cond += " AND ts >= :a"
        values[":a"] = {"S": _stamp(a)}
    kw: dict[str, Any] = {
        "IndexName": "by_day",
        "KeyConditionExpression": cond,
        "ExpressionAttributeNames": {"#d": "day"},
        "ExpressionAttributeValues": values,
        "ScanIndexForward": forward,
    }
    if with_filter:
        kw["FilterExpression"] = "n > :n"
        values[":n"] = {"N": "2"}
    if limit is not None:
        kw["Limit"] = limit
    was = moto_speedups.installed()
    moto_speedups.install()
    try:
        fast = _query_all(gsi_table, **kw)
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends["123456789012"][boto3.session.Session().region_name]
        assert "by_day" in backend.get_table(gsi_table).__dict__.get("_gsi_groups", {})  # the grouped walk ran
        # a write moves an item between days: the next fast query must see it
        ddb.update_item(
            TableName=gsi_table,
            Key={"signal_id": {"S": f"s{a % 400:04d}"}},
            UpdateExpression="SET #d = :d",
            ExpressionAttributeNames={"#d": "day"},
            ExpressionAttributeValues={":d": {"S": day}},
        )
        fast_after = _query_all(gsi_table, **kw)
    finally:
        moto_speedups.uninstall()
    try:
        slow_after = _query_all(gsi_table, **kw)
    finally:
        if was:
            moto_speedups.install()
    assert fast_after == slow_after
    assert sum(len(p[0]) for p in fast) <= sum(len(p[0]) for p in fast_after)


def test_item_size_follows_writes(gsi_table: str) -> None:
    """The kept size of an item is recomputed after a write changes it (paging by size stays exact)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import Item

    ddb = boto3.client("dynamodb")
    key = {"signal_id": {"S": "s0001"}}
    backend = dynamodb_backends["123456789012"][boto3.session.Session().region_name]
    was = moto_speedups.installed()
    moto_speedups.install()
    try:
        item = backend.get_table(gsi_table).get_item(DynamoType(key["signal_id"]))
        before = item.size()
        assert item.size() == before == moto_speedups._originals["item_size"](item)
        ddb.update_item(
            TableName=gsi_table,
            Key=key,
            UpdateExpression="SET big = :b",
            ExpressionAttributeValues={":b": {"S": "x" * 500}},
        )
        item = backend.get_table(gsi_table).get_item(DynamoType(key["signal_id"]))
        after_update = item.size()
        assert after_update == moto_speedups._originals["item_size"](item) >= before + 500
        # a put or a delete of another item builds or drops other Item objects: this one keeps its size
        kept = item.__dict__["_size_at"]
        ddb.put_item(TableName=gsi_table, Item={"signal_id": {"S": "size-probe"}, "day": {"S": "2099-01-01"}})
        ddb.delete_item(TableName=gsi_table, Key={"signal_id": {"S": "size-probe"}})
        assert item.__dict__["_size_at"] is kept and item.size() == after_update
        # a failed conditional update leaves the item as it was, and its size right
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.update_item(
                TableName=gsi_table,
                Key=key,
                UpdateExpression="SET big = :b",
                ConditionExpression="attribute_not_exists(big)",
                ExpressionAttributeValues={":b": {"S": "y"}},
            )
        assert item.size() == moto_speedups._originals["item_size"](item) == after_update
        # any other write (a transaction here) can change items in place: every kept size is recomputed
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": gsi_table,
                        "Key": key,
                        "UpdateExpression": "SET big = :b",
                        "ExpressionAttributeValues": {":b": {"S": "z" * 900}},
                    }
                }
            ]
        )
        item = backend.get_table(gsi_table).get_item(DynamoType(key["signal_id"]))
        assert item.size() == moto_speedups._originals["item_size"](item) >= after_update + 400
    finally:
        if not was:
            moto_speedups.uninstall()
    assert Item.size is not moto_speedups._item_size or was


@settings(max_examples=150, deadline=None)
@given(item=st.dictionaries(st.text(min_size=1, max_size=5), _attr, min_size=1, max_size=5))
def test_item_copies_equal_motos(item: dict[str, Any]) -> None:
    """Items returned by a query are copied exactly as moto copies them, and share no mutable value."""
    import copy

    from moto.dynamodb.models.dynamo_type import Item

    original = Item(DynamoType({"S": "pk"}), DynamoType({"N": "1"}), item)
    theirs = moto_speedups._originals.get("item_deepcopy", Item.__deepcopy__)(original, {})
    ours = moto_speedups._item_deepcopy(original, {})
    assert ours == theirs and ours.to_json() == theirs.to_json() and type(ours.attrs) is type(theirs.attrs)
    for key, value in original.attrs.items():
        if isinstance(value.value, (list, dict)):
            assert ours.attrs[key].value is not value.value
    assert copy.deepcopy(original) == original


def _same_tree(a: Any, b: Any, copies: dict[int, Any]) -> bool:
    """Equal shape and values, parent links pointing at the corresponding copies, nothing shared."""
    from moto.dynamodb.parsing.ast_nodes import Node

    if not isinstance(a, Node):
        if isinstance(a, str | int | float | bool) or a is None:
            return bool(a == b)
        return type(a) is type(b) and a is not b and a == b
    if type(a) is not type(b) or a is b or a.__dict__.keys() != b.__dict__.keys() or a.type != b.type:
        return False
    copies[id(a)] = b
    if (a.parent is None) != (b.parent is None) or (a.parent is not None and copies.get(id(a.parent)) is not b.parent):
        return False
    if a.children is None or b.children is None:
        return a.children is b.children
    return len(a.children) == len(b.children) and all(
        _same_tree(x, y, copies) for x, y in zip(a.children, b.children, strict=True)
    )


_path = st.sampled_from(["#0", "#1", "a", "a.b", "#0[1]", "m.#1.c", "l[2]"])
_operand = st.one_of(_path, st.sampled_from([":0", ":1", "if_not_exists(#0, :1)", "list_append(l, :0)", "n + :1"]))


@settings(max_examples=200, deadline=None)
@given(
    sets=st.lists(st.tuples(_path, _operand), min_size=1, max_size=6),
    removes=st.lists(_path, max_size=3),
    adds=st.lists(_path, max_size=2),
)
def test_expression_copies_equal_deepcopy(sets: list[tuple[str, str]], removes: list[str], adds: list[str]) -> None:
    """The validator's copy of a parsed update expression is what copy.deepcopy makes of it."""
    import copy

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    text = "SET " + ", ".join(f"{p} = {v}" for p, v in sets)
    if removes:
        text += " REMOVE " + ", ".join(removes)
    if adds:
        text += " ADD " + ", ".join(f"{p} :1" for p in adds)
    tree = UpdateExpressionParser.make(text)
    ours = moto_speedups._validator_deepcopy(tree)
    assert _same_tree(tree, ours, {}) and _same_tree(copy.deepcopy(tree), ours, {})
    ours.children = []  # the copy is the validator's to mutate: the parsed tree is untouched
    assert tree.children


def test_expression_copy_falls_back_for_other_shapes() -> None:
    """A subtree (it has a parent) or a node with extra fields is copied by copy.deepcopy itself."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    tree = UpdateExpressionParser.make("SET a = :0, b = :1")
    sub = tree.children[0]
    assert not moto_speedups._well_formed(sub, None)
    copied = moto_speedups._validator_deepcopy(sub)
    assert copied.parent is not None and copied.parent is not sub.parent  # deepcopy copied the parent chain too
    tree.extra = "x"
    assert not moto_speedups._well_formed(tree, None)
    assert moto_speedups._validator_deepcopy(tree).extra == "x"


def test_step_functions_lambda_client_is_reused(moto_aws: EmbeddedAws) -> None:
    """One boto3 client per (region, service, server port) for the interpreter's Lambda tasks."""
    from types import SimpleNamespace

    was = moto_speedups.installed()
    moto_speedups.install()
    try:
        first = moto_speedups._sfn_boto_client_for(moto_aws.region, "lambda")
        assert moto_speedups._sfn_boto_client_for(moto_aws.region, "lambda") is first
        # what the interpreter passes for a task without Credentials: moto's factory ignores it, so do we
        role = SimpleNamespace(role_arn="arn:aws:iam::123456789012:role/x")
        assert moto_speedups._sfn_boto_client_for(moto_aws.region, "lambda", role) is first
        assert moto_speedups._sfn_boto_client_for(moto_aws.region, "sqs") is not first
        assert first.meta.endpoint_url.endswith(f":{moto_aws.port}")
    finally:
        if not was:
            moto_speedups.uninstall()


def test_a_parsed_update_expression_serves_every_request_unchanged(gsi_table: str) -> None:
    """One parse per expression: later updates with other values give what a fresh parse gives."""
    ddb = boto3.client("dynamodb")
    was = moto_speedups.installed()
    moto_speedups.install()
    expr = "SET outcome = :o, pnl = :p ADD seen :one REMOVE gone"
    try:
        for i, (outcome, pnl) in enumerate((("WIN", "12.5"), ("LOSS", "-3"), ("BREAKEVEN", "0"))):
            ddb.update_item(
                TableName=gsi_table,
                Key={"signal_id": {"S": f"s01{i:02d}"}},
                UpdateExpression=expr,
                ExpressionAttributeValues={":o": {"S": outcome}, ":p": {"N": pnl}, ":one": {"N": "1"}},
            )
            if i == 0:
                tree = moto_speedups._PARSED_UPDATES[expr]
                shape = repr(tree)
        assert moto_speedups._PARSED_UPDATES[expr] is tree and repr(tree) == shape  # kept, never changed
        got = [ddb.get_item(TableName=gsi_table, Key={"signal_id": {"S": f"s01{i:02d}"}})["Item"] for i in range(3)]
        assert [(g["outcome"]["S"], g["pnl"]["N"], g["seen"]["N"]) for g in got] == [
            ("WIN", "12.5", "1"),
            ("LOSS", "-3", "1"),
            ("BREAKEVEN", "0", "1"),
        ]
        for _ in range(2):  # a bad expression fails every time (nothing kept)
            with pytest.raises(ddb.exceptions.ClientError, match="ValidationException"):
                ddb.update_item(TableName=gsi_table, Key={"signal_id": {"S": "s0100"}}, UpdateExpression="SET = :o")
        assert "SET = :o" not in moto_speedups._PARSED_UPDATES
    finally:
        if not was:
            moto_speedups.uninstall()
