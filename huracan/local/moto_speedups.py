"""Semantics-preserving speed-ups for two of moto's hot paths, installed only by the local runtime.

A month's replay is ~49,000 stream records and tens of thousands of range-key queries. Two of moto's
data structures make that quadratic, which would make the emulator — not the engine — the bottleneck:

- a Kinesis shard finds its last sequence number by copying all keys of its record dict (``list(keys)[-1]``)
  on every put, and reads by walking every record from the start on every ``GetRecords``;
- a DynamoDB ``Query`` on a table with a range key walks *every item of the table*, then sorts the
  partition with Python-level comparisons, on every call.

The replacements keep a sorted index of keys and use binary search; results, ordering, limits, paging
(``LastEvaluatedKey``) and counts are produced exactly as moto's own code does — the same comparison
function decides membership, the index only narrows where to look. ``tests/integration/test_moto_speedups.py``
checks them against moto's original implementations on random data.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import json
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table
from moto.dynamodb.responses import DynamoHandler
from moto.kinesis.models import Record, Shard

__all__ = ["install", "installed", "uninstall"]

_originals: dict[str, Any] = {}


# -- Kinesis ------------------------------------------------------------------------------------------
def _shard_keys(shard: Shard) -> list[int]:
    keys: list[int] | None = shard.__dict__.get("_hk_keys")
    if keys is None or len(keys) != len(shard.records):
        keys = list(shard.records.keys())
        shard.__dict__["_hk_keys"] = keys
    return keys


def _put_record(self: Shard, partition_key: str, data: str, explicit_hash_key: str) -> str:
    keys = _shard_keys(self)
    sequence_number = (keys[-1] if keys else 0) + 1
    self.records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
    keys.append(sequence_number)
    return str(sequence_number)


def _get_max_sequence_number(self: Shard) -> int:
    keys = _shard_keys(self)
    return keys[-1] if keys else 0


def _get_min_sequence_number(self: Shard) -> int:
    keys = _shard_keys(self)
    return keys[0] if keys else 0


def _get_records(self: Shard, last_sequence_id: str, limit: int | None) -> tuple[list[Record], int, int]:
    keys = _shard_keys(self)
    last_sequence_int = int(last_sequence_id)
    start = bisect.bisect_right(keys, last_sequence_int)
    selected = keys[start:] if limit is None else keys[start : start + limit]
    results = [self.records[k] for k in selected]
    secs_behind_latest = 0.0
    if results:
        last_sequence_int = selected[-1]
        secs_behind_latest = self.records[keys[-1]].created_at - results[-1].created_at
    return results, last_sequence_int, int(secs_behind_latest * 1000)


# -- DynamoDB -----------------------------------------------------------------------------------------
class _PartitionIndex:
    """Range keys of one partition in sorted order, kept in step with moto's insertion-ordered dict."""

    def __init__(self) -> None:
        self.cast: list[Any] = []
        self.keys: list[DynamoType] = []
        self.seen = 0

    def sync(self, partition: dict[DynamoType, Any]) -> None:
        if len(partition) < self.seen:
            self.__init__()  # type: ignore[misc]  # something was removed without delete_item: rebuild
        for key in itertools.islice(partition.keys(), self.seen, None):
            c = key.cast_value
            i = bisect.bisect_left(self.cast, c)
            self.cast.insert(i, c)
            self.keys.insert(i, key)
        self.seen = len(partition)


def _index(table: Table, hash_key: DynamoType) -> _PartitionIndex:
    indexes: dict[DynamoType, _PartitionIndex] = table.__dict__.setdefault("_hk_index", {})
    idx = indexes.setdefault(hash_key, _PartitionIndex())
    idx.sync(table.items.get(hash_key, {}))
    return idx


def _bounds(idx: _PartitionIndex, op: str | None, objs: list[DynamoType]) -> tuple[int, int]:
    """A superset of the matching positions; the exact test is moto's own ``compare``."""
    n = len(idx.cast)
    try:
        vals = [o.cast_value for o in objs]
        if op in ("LT", "<", "LE", "<="):
            return 0, bisect.bisect_right(idx.cast, vals[0])
        if op in ("GT", ">", "GE", ">="):
            return bisect.bisect_left(idx.cast, vals[0]), n
        if op == "EQ":
            return bisect.bisect_left(idx.cast, vals[0]), bisect.bisect_right(idx.cast, vals[0])
        if op == "BETWEEN":
            return bisect.bisect_left(idx.cast, vals[0]), bisect.bisect_right(idx.cast, vals[1])
        if op == "BEGINS_WITH" and isinstance(vals[0], str):
            return bisect.bisect_left(idx.cast, vals[0]), bisect.bisect_left(idx.cast, vals[0] + "\U0010ffff")
    except (TypeError, IndexError):
        pass
    return 0, n


def _query(
    self: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
    range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Any], int, dict[str, Any] | None]:
    fast = (
        index_name is None
        and not filter_kwargs
        and self.range_key_attr is not None
        and hash_key is not None
        and not (range_key_conditions and len(range_key_conditions) > 1)
    )
    if not fast:
        return _originals["query"](  # type: ignore[no-any-return]
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
            hash_key_conditions,
            range_key_conditions,
            **filter_kwargs,
        )
    assert hash_key is not None
    idx = _index(self, hash_key)
    lo, hi = _bounds(idx, range_comparison, range_objs) if range_comparison else (0, len(idx.cast))
    if exclusive_start_key is not None:
        start = DynamoType(exclusive_start_key[str(self.range_key_attr)]).cast_value
        if scan_index_forward is False:
            hi = min(hi, bisect.bisect_left(idx.cast, start))
        else:
            lo = max(lo, bisect.bisect_right(idx.cast, start))
    positions = range(hi - 1, lo - 1, -1) if scan_index_forward is False else range(lo, hi)
    partition = self.items.get(hash_key, {})
    results: list[Any] = []
    result_size = 0
    scanned_count = 0
    last_evaluated_key = None
    for pos in positions:
        item = partition[idx.keys[pos]]
        if len(results) == limit or (result_size + item.size()) > RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
            break
        if not range_comparison or item.range_key.compare(range_comparison, range_objs):
            results.append(item)
            result_size += item.size()
            scanned_count += 1
    else:
        # moto walks the whole partition, so a full page still gets a LastEvaluatedKey when any item follows
        # (even one outside the key range): the next page is then empty. Keep that exactly.
        following = lo - 1 if scan_index_forward is False else hi
        if results and 0 <= following < len(idx.keys):
            nxt = partition[idx.keys[following]]
            if len(results) == limit or (result_size + nxt.size()) > RESULT_SIZE_LIMIT:
                last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
    results = copy.deepcopy(results)
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


# DynamoDB's data-plane answers are already in wire format (``{"attr": {"S": ...}}``); moto's generic,
# shape-driven serializer walks every attribute value of every item (~1 ms per item), which made a 61-bar
# query cost 80 ms. JSON-dumping the same dict gives the same body botocore parses.
_DDB_DATA_OPS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchWriteItem",
        "BatchGetItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)


def _ddb_serialized(self: DynamoHandler, action_result: Any) -> Any:
    result = action_result.result
    if isinstance(result, dict) and self._get_action() in _DDB_DATA_OPS:
        try:
            body = json.dumps({k: v for k, v in result.items() if v is not None})
        except TypeError:  # something not in wire format: let moto's serializer handle it
            return _originals["ddb_serialized"](self, action_result)
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        headers.update(self.response_headers)
        return 200, headers, body
    return _originals["ddb_serialized"](self, action_result)


def _delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    self.__dict__.pop("_hk_index", None)
    return _originals["delete_item"](self, *args, **kwargs)


def installed() -> bool:
    return bool(_originals)


def install() -> None:
    """Patch moto in this process (idempotent)."""
    if _originals:
        return
    _originals.update(
        put_record=Shard.put_record,
        get_records=Shard.get_records,
        get_max=Shard.get_max_sequence_number,
        get_min=Shard.get_min_sequence_number,
        query=Table.query,
        delete_item=Table.delete_item,
        ddb_serialized=DynamoHandler.serialized,
    )
    DynamoHandler.serialized = _ddb_serialized  # type: ignore[method-assign,assignment]
    Shard.put_record = _put_record  # type: ignore[method-assign]
    Shard.get_records = _get_records  # type: ignore[method-assign]
    Shard.get_max_sequence_number = _get_max_sequence_number  # type: ignore[method-assign]
    Shard.get_min_sequence_number = _get_min_sequence_number  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    Table.delete_item = _delete_item  # type: ignore[method-assign]


def uninstall() -> None:
    if not _originals:
        return
    Shard.put_record = _originals["put_record"]  # type: ignore[method-assign]
    Shard.get_records = _originals["get_records"]  # type: ignore[method-assign]
    Shard.get_max_sequence_number = _originals["get_max"]  # type: ignore[method-assign]
    Shard.get_min_sequence_number = _originals["get_min"]  # type: ignore[method-assign]
    Table.query = _originals["query"]  # type: ignore[method-assign]
    Table.delete_item = _originals["delete_item"]  # type: ignore[method-assign]
    DynamoHandler.serialized = _originals["ddb_serialized"]  # type: ignore[method-assign]
    _originals.clear()
