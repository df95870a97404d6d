"""Semantics-preserving speed-ups for moto's hot paths, installed only by the local runtime.

A month's replay is ~49,000 stream records and tens of thousands of range-key queries. Two of moto's
data structures make that quadratic, which would make the emulator — not the engine — the bottleneck:

- a Kinesis shard finds its last sequence number by copying all keys of its record dict (``list(keys)[-1]``)
  on every put, and reads by walking every record from the start on every ``GetRecords``;
- a DynamoDB ``Query`` on a table with a range key walks *every item of the table*, then sorts the
  partition with Python-level comparisons, on every call.

Three more were found by sampling a month's replay (py-spy, all threads): moto's DynamoDB handler turns every
returned item into plain dicts with a fully generic recursive walk (~60 s of a month); the server's
host dispatcher lists moto's package directory with ``os.path.isdir`` on *every request* (~20 s); and the
Step Functions interpreter re-parses the state machine's ASL with the ANTLR parser for every execution
(~40 s). The replacements: a direct conversion for DynamoDB's scalar types (anything else goes to moto's
own function), the module list computed once, and one parse per definition with a deep copy of the parsed
program handed to each execution (so no execution sees another's state).

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
import threading
from typing import Any

import moto.backends
import moto.dynamodb.parsing.validators as ddb_validators
import moto.dynamodb.responses as ddb_responses
import moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils as sfn_lambda_eval
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex, Table
from moto.dynamodb.models.utilities import dynamo_to_dict as _moto_dynamo_to_dict
from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]  # the module is "type: ignore"d upstream
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.responses import DynamoHandler
from moto.kinesis.models import Record, Shard
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

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


# -- DynamoDB GSI queries ------------------------------------------------------------------------------
# moto answers a GSI query by walking every item of the table. The speed-up hands moto's own query code a
# shorter walk: only the items whose index hash key equals the queried value, in the same relative order
# as ``all_items()``. Every test moto applies (hash, range, filters), its sort and its paging run
# unchanged on that subset, so the answer is the same. The grouping is rebuilt after any write: every
# DynamoDB action that is not a read bumps a generation counter before and after it runs.
_READS = frozenset(
    {
        "GetItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "TransactGetItems",
        "DescribeTable",
        "ListTables",
        "DescribeTimeToLive",
    }
)
_generation = [0]
# Item sizes are cached per item. Only an UpdateItem changes an existing item in place (a put builds a new
# Item, a delete drops one), and it clears that one item's size (_update_item); any other write action --
# transactions, PartiQL, anything not listed -- bumps this counter and with it every cached size.
_SIZE_KEEPING = frozenset({"PutItem", "BatchWriteItem", "DeleteItem", "UpdateItem"})
_sizes_valid_from = [0]
_walk = threading.local()


def _all_items(self: Table) -> list[Any]:
    override = getattr(_walk, "items", None)
    if override is not None and override[0] is self:
        return list(override[1])
    return _originals["all_items"](self)  # type: ignore[no-any-return]


def _gsi_candidates(
    self: Table,
    index_name: str,
    hash_key: DynamoType | None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None,
) -> list[Any] | None:
    index = next((i for i in self.global_indexes if i.name == index_name), None)
    if not isinstance(index, GlobalSecondaryIndex):
        return None
    hash_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    if not hash_attrs:
        return None
    attr = hash_attrs[0]
    value = dict(hash_key_conditions or []).get(attr)
    if value is None and len(hash_attrs) == 1:
        value = hash_key
    if not isinstance(value, DynamoType):
        return None
    cache: dict[str, tuple[int, dict[DynamoType, list[Any]]]] = self.__dict__.setdefault("_gsi_groups", {})
    gen = _generation[0]
    entry = cache.get(index_name)
    if entry is None or entry[0] != gen:
        groups: dict[DynamoType, list[Any]] = {}
        for item in _originals["all_items"](self):
            v = item.attrs.get(attr)
            if v is not None:
                try:
                    groups.setdefault(v, []).append(item)
                except TypeError:  # an unhashable (list/map) value cannot be a key: let moto walk everything
                    return None
        entry = (gen, groups)
        cache[index_name] = entry
    try:
        return entry[1].get(value, [])
    except TypeError:
        return None


def _item_size(self: Item) -> int:
    """moto recomputes an item's byte size (walking every attribute) several times per item per query.

    Kept on the item until it is updated in place (see ``_SIZE_KEEPING``): a replay writes all the time, so a
    cache dropped on every write (as the GSI groups are) was recomputed for each queried item at nearly
    every query -- 7.8 s of a month's replay.
    """
    gen = _sizes_valid_from[0]
    cached = self.__dict__.get("_size_at")
    if cached is not None and cached[0] == gen:
        return cached[1]  # type: ignore[no-any-return]
    size: int = _originals["item_size"](self)
    self.__dict__["_size_at"] = (gen, size)
    return size


def _update_item(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return _originals["update_item"](self, table_name, key, *args, **kwargs)
    finally:
        # success or not (an update can fail half-way through its actions), this item's size is recomputed
        try:
            table = self.get_table(table_name)
            item = table.get_item(*self.get_keys_value(table, key))
        except Exception:  # no such table / bad key: moto has raised its own error already
            _sizes_valid_from[0] += 1
        else:
            if item is not None:
                item.__dict__.pop("_size_at", None)


_SETS = frozenset({"SS", "NS", "BS"})


def _copy_value(v: DynamoType) -> DynamoType:
    """What moto's ``DynamoType.__deepcopy__`` makes, without ``copy.deepcopy``'s dispatch and memo per value."""
    new = DynamoType.__new__(DynamoType)
    t = v.type
    new.type = t
    if t == "L":
        new.value = [_copy_value(x) for x in v.value]
    elif t == "M":
        new.value = {k: _copy_value(x) for k, x in v.value.items()}
    elif t in _SETS:
        new.value = list(v.value)
    else:
        new.value = v.value
    return new


def _item_deepcopy(self: Item, memo: dict[int, Any]) -> Item:
    """moto's ``Item.__deepcopy__`` (same fields, attrs bypassing the size check), values copied directly.

    Every query deep-copies each item it returns; the nightly job reads thousands of decisions a night.
    """
    if getattr(_walk, "share", False):
        # Inside Query only: moto deep-copies the items it returns, but the handler turns them into wire dicts
        # at once and nothing on the way mutates them (index and expression projections build new items,
        # filters only read), so the stored item is handed over as is; the response is the same.
        return self
    if type(self) is not Item or any(type(v) is not DynamoType for v in self.attrs.values()):
        return _originals["item_deepcopy"](self, memo)  # type: ignore[no-any-return]
    result: Any = Item.__new__(Item)
    memo[id(self)] = result
    result.hash_key = _copy_value(self.hash_key) if type(self.hash_key) is DynamoType else copy.deepcopy(self.hash_key)
    result.range_key = (
        _copy_value(self.range_key) if type(self.range_key) is DynamoType else copy.deepcopy(self.range_key)
    )
    attrs = type(self.attrs).__new__(type(self.attrs))
    dict.__init__(attrs)
    for key, value in self.attrs.items():
        dict.__setitem__(attrs, key, _copy_value(value))
    result.attrs = attrs
    return result  # type: ignore[no-any-return]


def _call_action(self: DynamoHandler) -> Any:
    action = self._get_action()
    if action in _READS:
        return _originals["call_action"](self)
    # before (no cache built from here on predates the write) and after (nor one built during it)
    _generation[0] += 1
    if action not in _SIZE_KEEPING:
        _sizes_valid_from[0] += 1
    try:
        return _originals["call_action"](self)
    finally:
        _generation[0] += 1
        if action not in _SIZE_KEEPING:
            _sizes_valid_from[0] += 1


def _put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    _generation[0] += 1
    return _originals["put_item"](self, *args, **kwargs)


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
        subset = _gsi_candidates(self, index_name, hash_key, hash_key_conditions) if index_name is not None else None
        if subset is not None:
            _walk.items = (self, subset)
        _walk.share = True
        try:
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
        finally:
            _walk.items = None
            _walk.share = False
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
    # no defensive copy: see _item_deepcopy (query results are only read, then converted to wire dicts)
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


_SCALARS = frozenset({"S", "N", "BOOL", "NULL"})


def _dynamo_to_dict(obj: Any) -> Any:
    """moto's ``dynamo_to_dict`` without the generic walk for the common cases (same output)."""
    if type(obj) is DynamoType:
        t = obj.type
        if t in _SCALARS and isinstance(obj.value, (str, bool)):
            return {t: obj.value}
        if t == "M" and isinstance(obj.value, dict):
            return {"M": {k: _dynamo_to_dict(v) for k, v in obj.value.items()}}
        if t == "L" and isinstance(obj.value, list):
            return {"L": [_dynamo_to_dict(v) for v in obj.value]}
        return _moto_dynamo_to_dict(obj)
    if isinstance(obj, dict) and not hasattr(obj, "to_json"):  # items' attrs are a dict subclass
        return {k: _dynamo_to_dict(v) for k, v in obj.items()}
    if type(obj) is list:
        return [_dynamo_to_dict(v) for v in obj]
    if type(obj) in (str, int, float, bool) or obj is None:
        return obj
    return _moto_dynamo_to_dict(obj)


_MODULES: list[tuple[str, ...]] = []


def _list_of_moto_modules() -> tuple[str, ...]:
    """moto's package directories never change while it runs: list them once, not per request."""
    if not _MODULES:
        _MODULES.append(tuple(_originals["list_of_moto_modules"]()))
    return _MODULES[0]


_PROGRAMS: dict[str, Any] = {}


def _evaluation_entrypoint(self: ExecutionWorker) -> Any:
    """One ANTLR parse per definition; each execution gets its own deep copy of the parsed program."""
    definition = self._evaluation_details.state_machine_details.definition
    program = _PROGRAMS.get(definition)
    if program is None:
        program = AmazonStateLanguageParser.parse(definition)[0]
        _PROGRAMS[definition] = program
    return copy.deepcopy(program)


_NODE_FIELDS = frozenset({"type", "children", "parent"})


def _well_formed(node: Any, parent: Any) -> bool:
    """The shape moto's parser builds: each node's parent is the node whose children hold it, no other fields."""
    fields = node.__dict__
    if fields.keys() != _NODE_FIELDS or fields["parent"] is not parent:
        return False
    children = fields["children"]
    if children is None:
        return True
    if type(children) is not list:
        return False
    return all(_well_formed(c, node) for c in children if _is_node(c))


_NODE_TYPES: dict[type, bool] = {}


def _is_node(x: Any) -> bool:
    """``isinstance(x, Node)`` without ABCMeta's instance check on every child (Node is abstract)."""
    t = type(x)
    found = _NODE_TYPES.get(t)
    if found is None:
        found = _NODE_TYPES[t] = isinstance(x, Node)
    return found


def _copy_tree(node: Any, parent: Any, memo: dict[int, Any]) -> Any:
    new = object.__new__(type(node))
    memo[id(node)] = new
    new.__dict__.update(node.__dict__)
    new.parent = parent
    children = node.children
    if children is not None:
        copied: list[Any] = []
        for c in children:
            if _is_node(c):
                copied.append(_copy_tree(c, new, memo))
            elif id(c) in memo:
                copied.append(memo[id(c)])
            else:
                copied.append(copy.deepcopy(c, memo))
        new.children = copied
    return new


def _validator_deepcopy(x: Any, memo: dict[int, Any] | None = None) -> Any:
    """``copy.deepcopy`` for the validator module: an expression tree is copied by walking it directly.

    Every UpdateItem deep-copies its freshly parsed expression before validating it (~2 ms for the
    resolver's and the labeller's six-action updates in copy.deepcopy's generic dispatch). A tree of the
    parser's shape (root without parent, each child's parent its container, only type/children/parent
    fields) is copied node by node with the same memo semantics; anything else goes to copy.deepcopy.
    """
    if memo is None and _is_node(x) and _well_formed(x, None):
        return _copy_tree(x, None, {})
    return copy.deepcopy(x, memo)


_PARSED_UPDATES: dict[str, Any] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_MAX = 256


def _parse_update_expression(cls: type, expression_str: str) -> Any:
    """``UpdateExpressionParser.make``, once per distinct expression.

    Every UpdateItem parses its expression twice (the handler lists the placeholders it uses, the backend
    validates it), and a replay sends the same few expressions thousands of times (labels, closes). The
    parsed tree is only read (``find_clauses``) or deep-copied before validation mutates it (validators.py),
    so one tree can serve every request; an expression that fails to parse raises as before, and is not kept.
    """
    with _PARSED_LOCK:
        tree = _PARSED_UPDATES.get(expression_str)
    if tree is None:
        tree = _originals["update_make"].__func__(cls, expression_str)
        with _PARSED_LOCK:
            if len(_PARSED_UPDATES) >= _PARSED_MAX:
                _PARSED_UPDATES.clear()
            _PARSED_UPDATES[expression_str] = tree
    return tree


_SFN_CLIENTS: dict[tuple[Any, ...], Any] = {}
_SFN_CLIENTS_LOCK = threading.Lock()


def _sfn_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """The interpreter built a new boto3 client (~5 ms, ~65 ms of event-hook checks a night) for every
    Lambda task. moto's ``boto_client_for`` ignores ``state_credentials`` (fixed dummy keys) and depends only
    on region, service, whether boto calls are intercepted, and the server's port; clients are thread-safe,
    so one per such key is kept."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    key = (region, service, bool(botocore_stubber.enabled), moto_server_port())
    with _SFN_CLIENTS_LOCK:
        found = _SFN_CLIENTS.get(key)
        if found is None:
            found = _SFN_CLIENTS[key] = _originals["boto_client_for"](region, service, state_credentials)
    return found


def _delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    _generation[0] += 1
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
        call_action=DynamoHandler.call_action,
        all_items=Table.all_items,
        put_item=Table.put_item,
        item_size=Item.size,
        update_item=DynamoDBBackend.update_item,
        update_make=UpdateExpressionParser.__dict__["make"],
        item_deepcopy=Item.__deepcopy__,
        dynamo_to_dict=getattr(ddb_responses, "dynamo_to_dict"),  # noqa: B009 (not re-exported by moto)
        list_of_moto_modules=moto.backends.list_of_moto_modules,
        entrypoint=ExecutionWorker._get_evaluation_entrypoint,
        validator_deepcopy=getattr(ddb_validators, "deepcopy"),  # noqa: B009
        boto_client_for=getattr(sfn_lambda_eval, "boto_client_for"),  # noqa: B009
    )
    setattr(ddb_validators, "deepcopy", _validator_deepcopy)  # noqa: B010
    setattr(sfn_lambda_eval, "boto_client_for", _sfn_boto_client_for)  # noqa: B010
    setattr(ddb_responses, "dynamo_to_dict", _dynamo_to_dict)  # noqa: B010
    moto.backends.list_of_moto_modules = _list_of_moto_modules
    ExecutionWorker._get_evaluation_entrypoint = _evaluation_entrypoint  # type: ignore[method-assign]
    DynamoHandler.serialized = _ddb_serialized  # type: ignore[method-assign,assignment]
    DynamoHandler.call_action = _call_action  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.put_item = _put_item  # type: ignore[method-assign]
    Item.size = _item_size  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _update_item  # type: ignore[method-assign]
    UpdateExpressionParser.make = classmethod(_parse_update_expression)
    Item.__deepcopy__ = _item_deepcopy  # type: ignore[method-assign]
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
    DynamoHandler.call_action = _originals["call_action"]  # type: ignore[method-assign]
    Table.all_items = _originals["all_items"]  # type: ignore[method-assign]
    Table.put_item = _originals["put_item"]  # type: ignore[method-assign]
    Item.size = _originals["item_size"]  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _originals["update_item"]  # type: ignore[method-assign]
    UpdateExpressionParser.make = _originals["update_make"]
    _PARSED_UPDATES.clear()
    Item.__deepcopy__ = _originals["item_deepcopy"]  # type: ignore[method-assign]
    setattr(ddb_responses, "dynamo_to_dict", _originals["dynamo_to_dict"])  # noqa: B010
    moto.backends.list_of_moto_modules = _originals["list_of_moto_modules"]
    ExecutionWorker._get_evaluation_entrypoint = _originals["entrypoint"]  # type: ignore[method-assign]
    setattr(ddb_validators, "deepcopy", _originals["validator_deepcopy"])  # noqa: B010
    setattr(sfn_lambda_eval, "boto_client_for", _originals["boto_client_for"])  # noqa: B010
    _PROGRAMS.clear()
    _SFN_CLIENTS.clear()
    _originals.clear()
