"""Reconciliation of a replay: every record accounted for, every pass a trade, every trade one timer.

The fault suite ends every scenario here. What goes in must come out exactly once, somewhere visible:

- records in = processed + parked with a reason: a bar is processed when its row is in the prices table,
  a signal when its decision exists; a parked record is on the stream dead-letter queue, either parked by
  the handler (the message carries the raw data and the reason) or given up by the event source mapping
  (the ``OnFailure`` message names a sequence range, read back from the stream). A record that is
  neither is *lost*; one that is both was handled twice;
- trades = passes: every passed decision names a shadow trade that exists and every trade has one;
- one timer per trade: one Step Functions execution per shadow trade, none without a trade;
- no trade resolved twice: the resolver answered CLOSED at most once per trade (from the injector's
  bookkeeping), and as many trades are CLOSED as the resolver closed.

:func:`dump_tables` gives normalized table contents (sorted, plain JSON types) so a faulty replay can be
compared with a clean one field by field.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

__all__ = [
    "DUMPED_TABLES",
    "Reconciliation",
    "dump_tables",
    "executions",
    "reconcile",
    "record_identity",
    "stream_dead_letters",
]

#: The tables a replay writes; compared between a clean and a faulty run.
DUMPED_TABLES = ("DecisionsTable", "ShadowTradesTable", "PricesTable", "TradesTable")
_KEYS = {
    "DecisionsTable": ("signal_id",),
    "ShadowTradesTable": ("shadow_id",),
    "PricesTable": ("symbol", "ts"),
    "TradesTable": ("trade_id",),
}


def record_identity(data: bytes) -> tuple[str, ...]:
    """What a stream record is about: ("bar", symbol, ts), ("signal", signal_id) or ("raw", sha256)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and doc.get("type") == "bar" and {"symbol", "ts"} <= set(doc):
        return ("bar", str(doc["symbol"]), str(doc["ts"]))
    if isinstance(doc, dict) and doc.get("type") == "signal" and "signal_id" in doc:
        return ("signal", str(doc["signal_id"]))
    return ("raw", hashlib.sha256(data).hexdigest())


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _scan(table_name: str) -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb")
    de = TypeDeserializer()
    out = []
    for page in ddb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        for item in page.get("Items", []):
            out.append({k: _plain(de.deserialize(v)) for k, v in item.items()})
    return out


def dump_tables(runtime: Any, tables: Sequence[str] = DUMPED_TABLES) -> dict[str, list[dict[str, Any]]]:
    """Every item of the replay's tables, plain JSON types, sorted by key: equal dumps = equal tables."""
    out = {}
    for lid in tables:
        keys = _KEYS[lid]

        def key_of(item: dict[str, Any], keys: tuple[str, ...] = keys) -> tuple[str, ...]:
            return tuple(str(item[k]) for k in keys)

        out[lid] = sorted(_scan(runtime.physical(lid)), key=key_of)
    return out


def _drain_queue(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=600)
        msgs = got.get("Messages", [])
        if not msgs:
            return list(seen.values())
        for m in msgs:
            seen.setdefault(m["MessageId"], json.loads(m["Body"]))


def _stream_range(stream: str, shard: str, start: str, count: int) -> list[bytes]:
    kinesis = boto3.client("kinesis")
    it = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=start
    )["ShardIterator"]
    out: list[bytes] = []
    while it and len(out) < count:
        resp = kinesis.get_records(ShardIterator=it, Limit=count - len(out))
        out.extend(r["Data"] for r in resp["Records"])
        if not resp["Records"]:
            break
        it = resp.get("NextShardIterator")
    return out


def stream_dead_letters(runtime: Any) -> list[tuple[tuple[str, ...], str]]:
    """(record identity, reason) for every record on the stream dead-letter queue (drains the queue)."""
    out: list[tuple[tuple[str, ...], str]] = []
    stream = runtime.physical("MarketStream")
    for body in _drain_queue(runtime.physical("StreamDeadLetterQueue")):
        if body.get("kind") == "huracan.parked_record":
            claim = body.get("data_s3")
            if isinstance(claim, dict):  # parked by claim check: the whole record is in S3
                got = boto3.client("s3").get_object(Bucket=str(claim["bucket"]), Key=str(claim["key"]))
                data = base64.b64decode(got["Body"].read())
            else:
                data = base64.b64decode(str(body.get("data_b64") or ""))
            field_name = body.get("field")
            reason = str(body.get("reason") or "") + (f" (field {field_name})" if field_name else "")
            out.append((record_identity(data), reason))
        elif "KinesisBatchInfo" in body:
            info = body["KinesisBatchInfo"]
            cond = str(body.get("requestContext", {}).get("condition") or "OnFailure")
            for data in _stream_range(stream, info["shardId"], info["startSequenceNumber"], int(info["batchSize"])):
                out.append((record_identity(data), f"event source mapping gave up: {cond}"))
        else:
            out.append((("unknown", json.dumps(body, sort_keys=True)[:200]), "unrecognised dead-letter message"))
    return out


def executions(runtime: Any) -> Counter[str]:
    """Execution names of the shadow-trade timer, with how many executions carry each name."""
    sfn = boto3.client("stepfunctions")
    names: Counter[str] = Counter()
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=runtime.physical("ShadowTradeTimer")):
        names.update(e["name"] for e in page["executions"])
    return names


@dataclass
class Reconciliation:
    """The books of one replay; ``problems`` is empty when everything reconciles."""

    records_in: int
    processed: int
    parked: int
    parked_reasons: dict[tuple[str, ...], str]
    lost: list[tuple[str, ...]]
    handled_twice: list[tuple[str, ...]]
    signals: int
    passes: int
    trades: int
    trade_status: Counter[str]
    passes_without_trade: list[str]
    trades_without_pass: list[str]
    executions: int
    duplicate_executions: list[str]
    trades_without_timer: list[str]
    timers_without_trade: list[str]
    resolved_twice: list[str] = field(default_factory=list)
    closed_mismatch: str | None = None

    def problems(self) -> list[str]:
        out = []
        if self.records_in != self.processed + self.parked:
            out.append(f"records in {self.records_in} != processed {self.processed} + parked {self.parked}")
        checks: list[tuple[str, Sequence[Any]]] = [
            ("lost records", self.lost),
            ("records both processed and parked", self.handled_twice),
            ("parked without a reason", [k for k, r in self.parked_reasons.items() if not r.strip()]),
            ("passes without a trade", self.passes_without_trade),
            ("trades without a pass", self.trades_without_pass),
            ("duplicate executions", self.duplicate_executions),
            ("trades without a timer", self.trades_without_timer),
            ("timers without a trade", self.timers_without_trade),
            ("trades resolved twice", self.resolved_twice),
        ]
        out += [f"{len(v)} {name}: {list(v)[:5]}" for name, v in checks if v]
        if self.passes != self.trades:
            out.append(f"passes {self.passes} != trades {self.trades}")
        if self.closed_mismatch:
            out.append(self.closed_mismatch)
        return out

    def assert_ok(self) -> None:
        problems = self.problems()
        assert not problems, "reconciliation failed:\n  " + "\n  ".join(problems)

    def figures(self) -> dict[str, int]:
        return {
            "records_in": self.records_in,
            "processed": self.processed,
            "parked": self.parked,
            "lost": len(self.lost),
            "signals": self.signals,
            "passes": self.passes,
            "trades": self.trades,
            "executions": self.executions,
            **{f"trades_{k.lower()}": v for k, v in sorted(self.trade_status.items())},
        }


def reconcile(
    runtime: Any,
    sent: Iterable[bytes],
    *,
    closed_by_resolver: Mapping[str, int] | None = None,
    tables: Mapping[str, list[dict[str, Any]]] | None = None,
) -> Reconciliation:
    """Reconcile what was published (``sent``: the raw record data) with the tables, queues and timers.

    ``closed_by_resolver`` (``FaultStats.closed_by_resolver``) adds the "no trade resolved twice" check.
    Drains the stream dead-letter queue.
    """
    dump = (
        tables if tables is not None else dump_tables(runtime, ("DecisionsTable", "ShadowTradesTable", "PricesTable"))
    )
    ids: list[tuple[str, ...]] = [record_identity(d) for d in sent]
    bars: set[tuple[str, ...]] = {("bar", str(p["symbol"]), str(p["ts"])) for p in dump["PricesTable"]}
    decisions = dump["DecisionsTable"]
    decided: set[tuple[str, ...]] = {("signal", str(d["signal_id"])) for d in decisions}
    parked_list = stream_dead_letters(runtime)
    parked = {k: r for k, r in parked_list}
    processed_ids = {i for i in ids if i in bars or i in decided}
    lost = [i for i in ids if i not in processed_ids and i not in parked]
    twice = [i for i in ids if i in processed_ids and i in parked]
    trades = {str(t["shadow_id"]): t for t in dump["ShadowTradesTable"]}
    passed = [d for d in decisions if d.get("passed")]
    pass_ids = {str(d.get("shadow_id")) for d in passed}
    names = executions(runtime)
    closed = closed_by_resolver or {}
    resolved_twice = sorted(k for k, v in closed.items() if v > 1)
    n_closed = sum(1 for t in trades.values() if t.get("status") == "CLOSED")
    mismatch = None
    if closed_by_resolver is not None and n_closed != len([k for k, v in closed.items() if v >= 1]):
        mismatch = f"{n_closed} trades CLOSED but the resolver closed {len(closed)}"
    return Reconciliation(
        records_in=len(ids),
        processed=len(processed_ids),
        parked=sum(1 for i in ids if i in parked and i not in processed_ids),
        parked_reasons={i: parked[i] for i in ids if i in parked},
        lost=lost,
        handled_twice=twice,
        signals=sum(1 for i in ids if i[0] == "signal"),
        passes=len(passed),
        trades=len(trades),
        trade_status=Counter(str(t.get("status")) for t in trades.values()),
        passes_without_trade=sorted(str(d["signal_id"]) for d in passed if str(d.get("shadow_id")) not in trades),
        trades_without_pass=sorted(s for s in trades if s not in pass_ids),
        executions=sum(names.values()),
        duplicate_executions=sorted(n for n, c in names.items() if c > 1),
        trades_without_timer=sorted(s for s in trades if s not in names),
        timers_without_trade=sorted(n for n in names if n not in trades),
        resolved_twice=resolved_twice,
        closed_mismatch=mismatch,
    )
