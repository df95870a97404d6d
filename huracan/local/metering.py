"""Metering of the AWS calls a local replay makes: what the bill and the handler-time figures are built from.

Every botocore client in the process (boto3's, PynamoDB's, moto's Step Functions interpreter's) goes through
``BaseClient._make_api_call``; :class:`AwsMeter` wraps it once, at class level, so clients created before the
meter was installed are metered too. Per call it records the operation, the *caller* (the Lambda function whose
handler is running on this thread, ``"service"`` for a call made by an AWS service on our behalf, i.e. moto's
Step Functions interpreter invoking the resolver, or ``"harness"`` for the replay driver and the poller), the
request body size (from a ``before-call`` hook: the serialized body, exactly what goes over the wire) and the
time spent inside botocore. DynamoDB request units are estimated from the items with DynamoDB's item-size
rules, so the cost model can price on-demand capacity rather than API calls.

Handlers are attributed by wrapping :meth:`huracan.local.lambdas.LocalLambdas.invoke` on the instance (both the
poller and moto's ``Invoke`` route through it): per invocation the wall time, the botocore time inside it and
the time in HTTP calls outside AWS (``urllib3.PoolManager.urlopen``, which the exchange client uses and botocore
does not), so *compute time* = wall - botocore - external, the handler time without network latency.

What the handlers print is counted too (:class:`LogTap`): log bytes per invocation, and every CloudWatch
custom metric of an EMF document with the function that sent it and how often (CloudWatch bills a metric by
the hours it gets data, so the cost model needs the sender's rhythm, not just the count of metrics).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import urllib3
from botocore.client import BaseClient

if TYPE_CHECKING:
    from huracan.core.bars import BarArrays

__all__ = ["AwsMeter", "Invocation", "LocalKlines", "LogTap", "MeteredReplay", "item_size", "metered_replay"]

_HOOK_ID = "huracan-aws-meter"
INGEST_FUNCTION = "IngestMarketFunction"
INGEST_SCHEDULE = "IngestMarketFunctionEveryMinute"  # SAM's rule id: function + event name
_WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem"}


def _value_size(v: Mapping[str, Any]) -> int:
    """DynamoDB's documented size of one AttributeValue (numbers: ~1 byte per 2 significant digits + 1)."""
    (kind, x), *_ = v.items()
    if kind == "S":
        return len(str(x).encode())
    if kind == "N":
        digits = len(str(x).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(x) if isinstance(x, bytes | bytearray) else len(str(x)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in x)
    if kind == "NS":
        return sum(_value_size({"N": n}) for n in x)
    if kind == "BS":
        return sum(_value_size({"B": b}) for b in x)
    if kind == "L":
        return 3 + sum(1 + _value_size(e) for e in x)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(e) for k, e in x.items())
    return 0


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB bills an item for: attribute names plus values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


@dataclass
class Invocation:
    """One handler run: wall time, the part of it inside botocore, how many AWS calls it made."""

    function: str
    wall_s: float = 0.0
    aws_s: float = 0.0
    aws_calls: int = 0
    log_bytes: int = 0
    external_s: float = 0.0  # HTTP outside AWS (the exchange)
    external_calls: int = 0

    @property
    def compute_s(self) -> float:
        return self.wall_s - self.aws_s - self.external_s


@dataclass
class _OpStats:
    calls: int = 0
    request_bytes: int = 0
    seconds: float = 0.0


@dataclass
class _Table:
    """What the unit estimate needs of a table: its GSIs' hash keys and the last item size seen per write."""

    gsi_keys: list[tuple[str, bool]] = field(default_factory=list)  # (hash key attribute, projection ALL)
    mean_item: float = 0.0
    items: int = 0


class AwsMeter:
    """Install with ``with AwsMeter() as meter:``; read :meth:`usage` afterwards."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._original: Callable[..., Any] | None = None
        self.ops: dict[tuple[str, str], _OpStats] = defaultdict(_OpStats)  # (caller, "service.Operation")
        self.invocations: list[Invocation] = []
        self.tables: dict[str, _Table] = {}
        self.write_units: dict[tuple[str, str], float] = defaultdict(float)  # (caller, table)
        self.read_units: dict[tuple[str, str], float] = defaultdict(float)
        self.kinesis_put_payload_units: dict[str, int] = defaultdict(int)  # caller -> 25 KB units
        #: (namespace, metric, dimension names+values, caller) -> EMF documents that carried it; each distinct
        #: (namespace, metric, dimensions) is one CloudWatch custom metric
        self.metric_emissions: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self.enabled = True
        self._original_urlopen: Callable[..., Any] | None = None

    @property
    def metric_keys(self) -> set[tuple[str, str, str]]:
        """The distinct custom metrics seen (whoever sent them)."""
        return {(ns, name, dims) for ns, name, dims, _ in self.metric_emissions}

    # -- lifecycle ------------------------------------------------------------------------------------
    def install(self) -> AwsMeter:
        if self._original is not None:
            return self
        original: Callable[..., Any] = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private
        self._original = original
        meter = self

        def _make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if not meter.enabled:
                return original(client, operation_name, api_params)
            client.meta.events.register("before-call", meter._before_call, unique_id=_HOOK_ID)
            meter._local.body = 0
            t0 = time.perf_counter()
            try:
                response = original(client, operation_name, api_params)
            finally:
                dt = time.perf_counter() - t0
                meter._record(client.meta.service_model.service_name, operation_name, dt)
            meter._units(client.meta.service_model.service_name, operation_name, api_params, response)
            return response

        setattr(BaseClient, "_make_api_call", _make_api_call)  # noqa: B010 - patched on purpose
        # HTTP outside AWS: botocore opens its pools' connections directly, so only other clients (the
        # exchange's urllib3 PoolManager) come through here
        original_urlopen: Callable[..., Any] = urllib3.PoolManager.urlopen
        self._original_urlopen = original_urlopen

        def urlopen(manager: urllib3.PoolManager, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            inv: Invocation | None = getattr(meter._local, "invocation", None)
            if inv is None or not meter.enabled:
                return original_urlopen(manager, method, url, *args, **kwargs)
            t0 = time.perf_counter()
            try:
                return original_urlopen(manager, method, url, *args, **kwargs)
            finally:
                inv.external_s += time.perf_counter() - t0
                inv.external_calls += 1

        setattr(urllib3.PoolManager, "urlopen", urlopen)  # noqa: B010 - patched on purpose
        return self

    def uninstall(self) -> None:
        if self._original is not None:
            setattr(BaseClient, "_make_api_call", self._original)  # noqa: B010
            self._original = None
        if self._original_urlopen is not None:
            setattr(urllib3.PoolManager, "urlopen", self._original_urlopen)  # noqa: B010
            self._original_urlopen = None

    def __enter__(self) -> AwsMeter:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Calls made inside are not metered (the benchmark's own inspection of the tables)."""
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = True

    def reset(self) -> None:
        with self._lock:
            self.ops.clear()
            self.invocations.clear()
            self.write_units.clear()
            self.read_units.clear()
            self.kinesis_put_payload_units.clear()
            self.metric_emissions.clear()

    def learn_tables(self, client: Any) -> None:
        """Read every table's GSIs (a write to an item with a GSI's key is billed again on the index)."""
        with self.paused():
            for name in client.list_tables()["TableNames"]:
                desc = client.describe_table(TableName=name)["Table"]
                keys = []
                for gsi in desc.get("GlobalSecondaryIndexes", []):
                    hash_key = next(k["AttributeName"] for k in gsi["KeySchema"] if k["KeyType"] == "HASH")
                    keys.append((hash_key, gsi.get("Projection", {}).get("ProjectionType") == "ALL"))
                self.tables[name] = _Table(gsi_keys=keys)

    # -- attribution ----------------------------------------------------------------------------------
    def wrap_invoke(
        self, invoke: Callable[[str, Any], Any], resolve: Callable[[str], str]
    ) -> Callable[[str, Any], Any]:
        """Wrap ``LocalLambdas.invoke``: the handler's calls are attributed to ``resolve(name)``."""
        meter = self

        def metered(name_or_arn: str, event: Any) -> Any:
            inv = Invocation(resolve(name_or_arn))
            outer = getattr(meter._local, "invocation", None)
            meter._local.invocation = inv
            t0 = time.perf_counter()
            try:
                return invoke(name_or_arn, event)
            finally:
                inv.wall_s = time.perf_counter() - t0
                meter._local.invocation = outer
                with meter._lock:
                    meter.invocations.append(inv)

        return metered

    def _caller(self) -> str:
        inv: Invocation | None = getattr(self._local, "invocation", None)
        if inv is not None:
            return inv.function
        return "harness" if threading.current_thread() is threading.main_thread() else "service"

    def _before_call(self, params: Mapping[str, Any] | None = None, **_: Any) -> None:
        body = (params or {}).get("body", b"")
        if isinstance(body, str):
            size = len(body.encode())
        elif isinstance(body, bytes | bytearray):
            size = len(body)
        elif hasattr(body, "getbuffer"):  # S3 uploads: a BytesIO
            size = body.getbuffer().nbytes
        else:
            size = 0
        self._local.body = size

    def _record(self, service: str, operation: str, seconds: float) -> None:
        caller = self._caller()
        inv: Invocation | None = getattr(self._local, "invocation", None)
        if inv is not None:
            inv.aws_s += seconds
            inv.aws_calls += 1
        with self._lock:
            st = self.ops[(caller, f"{service}.{operation}")]
            st.calls += 1
            st.request_bytes += int(getattr(self._local, "body", 0))
            st.seconds += seconds

    def log_tap(self) -> LogTap:
        """A stdout replacement that bills each line to the handler that printed it (CloudWatch Logs)."""
        return LogTap(self)

    def _log(self, text: str) -> None:
        inv: Invocation | None = getattr(self._local, "invocation", None)
        if inv is not None:
            inv.log_bytes += len(text.encode())
        if '"_aws"' not in text:
            return
        # an EMF document: every metric x dimension set is a custom metric, sent by the running handler
        caller = self._caller()
        for line in text.splitlines():
            try:
                doc = json.loads(line)
                directives = doc["_aws"]["CloudWatchMetrics"]
            except (ValueError, KeyError, TypeError):
                continue
            for d in directives:
                for dims in d.get("Dimensions", [[]]):
                    dim = ",".join(f"{k}={doc.get(k)}" for k in dims)
                    for m in d.get("Metrics", []):
                        with self._lock:
                            self.metric_emissions[(str(d.get("Namespace")), str(m.get("Name")), dim, caller)] += 1

    # -- request units ------------------------------------------------------------------------------
    def _write(self, caller: str, table: str, item: Mapping[str, Any] | None) -> None:
        info = self.tables.setdefault(table, _Table())
        if item is not None:
            size = float(item_size(item))
            info.items += 1
            info.mean_item += (size - info.mean_item) / info.items
            indexed = sum(1 for key, _ in info.gsi_keys if key in item)
        else:  # UpdateItem/DeleteItem: the stored item's size is not in the request; use the table's mean
            size = info.mean_item or 1024.0
            indexed = len(info.gsi_keys)
        units = max(1, math.ceil(size / 1024))
        with self._lock:
            self.write_units[(caller, table)] += units * (1 + indexed)

    def _read(self, caller: str, table: str, items: list[Mapping[str, Any]], consistent: bool) -> None:
        size = sum(item_size(i) for i in items)
        units = max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)
        with self._lock:
            self.read_units[(caller, table)] += units

    def _units(self, service: str, operation: str, params: Mapping[str, Any], response: Any) -> None:
        caller = self._caller()
        if service == "kinesis" and operation in ("PutRecords", "PutRecord"):
            records = params.get("Records") or [params]
            units = sum(
                max(1, math.ceil((len(r.get("Data", b"")) + len(r.get("PartitionKey", ""))) / 25_600)) for r in records
            )
            with self._lock:
                self.kinesis_put_payload_units[caller] += units
            return
        if service != "dynamodb" or not isinstance(response, Mapping):
            return
        if operation in _WRITE_OPS:
            self._write(caller, params["TableName"], params.get("Item"))
        elif operation == "BatchWriteItem":
            for table, requests in (params.get("RequestItems") or {}).items():
                for req in requests:
                    put = req.get("PutRequest")
                    self._write(caller, table, put["Item"] if put else None)
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems") or []:
                for kind, body in entry.items():
                    if kind != "ConditionCheck":
                        self._write(caller, body["TableName"], body.get("Item"))
                        self._write(caller, body["TableName"], body.get("Item"))  # transactions bill twice
        elif operation == "GetItem":
            item = response.get("Item")
            self._read(caller, params["TableName"], [item] if item else [], bool(params.get("ConsistentRead")))
        elif operation in ("Query", "Scan"):
            self._read(
                caller, params["TableName"], list(response.get("Items") or []), bool(params.get("ConsistentRead"))
            )
        elif operation == "BatchGetItem":
            for table, items in (response.get("Responses") or {}).items():
                consistent = bool((params.get("RequestItems") or {}).get(table, {}).get("ConsistentRead"))
                for item in items:
                    self._read(caller, table, [item], consistent)

    # -- results --------------------------------------------------------------------------------------
    def usage(self) -> dict[str, Any]:
        """The counts as the cost model reads them (``huracan.cost``): per caller, per operation."""
        calls: dict[str, dict[str, int]] = defaultdict(dict)
        body: dict[str, dict[str, int]] = defaultdict(dict)
        for (caller, op), st in sorted(self.ops.items()):
            calls[caller][op] = st.calls
            body[caller][op] = st.request_bytes
        wru: dict[str, dict[str, float]] = defaultdict(dict)
        rru: dict[str, dict[str, float]] = defaultdict(dict)
        for (caller, table), u in sorted(self.write_units.items()):
            wru[caller][table] = u
        for (caller, table), u in sorted(self.read_units.items()):
            rru[caller][table] = u
        lambdas: dict[str, dict[str, float]] = {}
        for inv in self.invocations:
            d = lambdas.setdefault(
                inv.function,
                {
                    "invocations": 0,
                    "compute_s": 0.0,
                    "aws_calls": 0,
                    "external_calls": 0,
                    "wall_s": 0.0,
                    "log_bytes": 0,
                },
            )
            d["invocations"] += 1
            d["compute_s"] += inv.compute_s
            d["aws_calls"] += inv.aws_calls
            d["external_calls"] += inv.external_calls
            d["wall_s"] += inv.wall_s
            d["log_bytes"] += inv.log_bytes
        metrics = [
            {"namespace": ns, "name": name, "dimensions": dims, "caller": caller, "emissions": n}
            for (ns, name, dims, caller), n in sorted(self.metric_emissions.items())
        ]
        return {
            "calls": dict(calls),
            "request_bytes": dict(body),
            "dynamodb_write_units": dict(wru),
            "dynamodb_read_units": dict(rru),
            "kinesis_put_payload_units": dict(self.kinesis_put_payload_units),
            "lambda": lambdas,
            "dynamodb_item_bytes": {t: round(info.mean_item, 1) for t, info in self.tables.items() if info.items},
            "cloudwatch": {"custom_metrics": len(self.metric_keys), "metrics": metrics},
        }

    def run_usage(self, function: str) -> dict[str, Any]:
        """One function's invocations and request-priced calls: a scheduled target measured on its own."""
        u = self.usage()
        return dict(u["lambda"].get(function, {"invocations": 0}), calls=u["calls"].get(function, {}))


class LogTap(io.TextIOBase):
    """Counts what handlers print (their Powertools JSON logs and EMF metrics) and discards it."""

    def __init__(self, meter: AwsMeter) -> None:
        self.meter = meter

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.meter._log(s)
        return len(s)


@dataclass
class MeteredReplay:
    """A replay of real days through the whole local stack with every AWS call metered."""

    records: int
    bars: int
    signals: int
    shadow_trades: int
    resolved_trades: int
    transitions: int
    window_days: float
    startup_s: float
    replay_s: float
    drain_s: float
    settle_s: float
    poller_batches: int
    batch_sizes: list[int]  # records per evaluate invocation, in order
    usage: dict[str, Any]
    invocations: list[Invocation]
    #: the scheduled functions the replay does not invoke, measured on their own (``usage["scheduled_runs"]``)
    scheduled_runs: list[Invocation] = field(default_factory=list)


class LocalKlines:
    """Binance-format ``GET /api/v3/klines`` on loopback, answered from real bars: the ingest's exchange.

    Answers in well under a millisecond (a binary search, ``limit`` rows), so an ingest measured against it
    is its own compute; the internet round trip to the real exchange is the cost model's assumption.
    """

    def __init__(self, bars: BarArrays) -> None:
        self.bars = bars
        self.requests = 0
        self._server: Any = None

    def rows(self, end_ms: int, limit: int) -> list[list[Any]]:
        import numpy as np

        b = self.bars
        stop = int(np.searchsorted(b.ts, (end_ms + 1) // 1000 - 60, side="right"))  # bars closed by endTime

        def row(i: int) -> list[Any]:
            t = int(b.ts[i]) * 1000
            return [t, str(b.open[i]), str(b.high[i]), str(b.low[i]), str(b.close[i]), str(b.volume[i]), t + 59_999]

        return [[*row(i), "0", 0, "0", "0", "0"] for i in range(max(0, stop - limit), stop)]

    def __enter__(self) -> str:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse

        exchange = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                exchange.requests += 1
                q = parse_qs(urlparse(self.path).query)
                body = json.dumps(exchange.rows(int(q["endTime"][0]), int(q["limit"][0]))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def metered_replay(
    days: float,
    profile: str = "demo",
    *,
    first_day: float = 0.0,
    window_s: int = 3600,
    skip_schedules: frozenset[str] = frozenset({INGEST_SCHEDULE}),
    ingest_runs: int = 0,
) -> MeteredReplay:
    """Replay ``days`` of the FTX month from ``first_day`` as the demo does, metering every call.

    The deploy's calls are not metered (the meter is reset after start); the handlers' stdout (their logs and
    EMF metrics) is counted and discarded. Trades whose timer lies beyond the data stay OPEN, as in the demo.

    The replay publishes the records itself, so the every-minute ingest schedule is skipped; with
    ``ingest_runs`` > 0 the real ``IngestMarketFunction`` handler is then run that many times on its own (the
    scheduled events of the window's last minutes, against :class:`LocalKlines` serving the month), after one
    unmetered warm-up run (an every-minute function stays warm): ``usage["scheduled_runs"]`` holds its
    invocations and calls, its custom metrics join ``usage["cloudwatch"]["metrics"]``. Its records go onto the
    stream after the replay has ended, so nothing evaluates them twice.
    """
    import boto3

    from huracan.core.strategies import signals_history
    from huracan.data import find_data_file, load_bars
    from huracan.local.clock import scheduled_event
    from huracan.local.replay import build_records
    from huracan.local.runtime import LocalRuntime

    all_bars = load_bars(find_data_file())
    start = round(first_day * 1440)
    bars = all_bars.slice(start, min(len(all_bars), start + round(days * 1440)))
    recs = build_records(bars, "BTC-PERP", signals_history(bars))
    n_signals = sum(1 for r in recs if r.payload.get("type") == "signal")
    meter = AwsMeter().install()
    timing = {"drain": 0.0, "settle": 0.0}
    runs: list[Invocation] = []
    run_usage: dict[str, Any] | None = None
    try:
        with contextlib.redirect_stdout(meter.log_tap()), LocalKlines(all_bars) as exchange_url:
            t0 = time.perf_counter()
            params = {"HuracanProfile": profile, "SchedulesEnabled": "true", "ExchangeApiUrl": exchange_url}
            with LocalRuntime(parameters=params, skip_schedules=set(skip_schedules)) as rt:
                lambdas = rt.lambdas
                lambdas.invoke = meter.wrap_invoke(  # type: ignore[method-assign,assignment]
                    lambdas.invoke, lambda name: lambdas.get(name).logical_id
                )
                meter.learn_tables(boto3.client("dynamodb"))
                drain, settle = rt.drain, rt.settle

                def timed_drain() -> int:
                    t = time.perf_counter()
                    try:
                        return drain()
                    finally:
                        timing["drain"] += time.perf_counter() - t

                def timed_settle(until: float) -> list[tuple[str, str]]:
                    t = time.perf_counter()
                    try:
                        return settle(until)
                    finally:
                        timing["settle"] += time.perf_counter() - t

                rt.drain = timed_drain  # type: ignore[method-assign]
                rt.settle = timed_settle  # type: ignore[method-assign]
                startup = time.perf_counter() - t0
                meter.reset()
                t1 = time.perf_counter()
                rt.replay(recs, window_s=window_s)
                rt.finish(recs[-1].publish_at)
                replay_s = time.perf_counter() - t1
                with meter.paused():
                    trades, resolved, transitions = _timer_counts(rt.physical("ShadowTradeTimer"))
                batches = sum(p.stats.batches for p in rt.pollers)
                sizes = [n for p in rt.pollers for n in p.stats.invocations]
                usage = meter.usage()
                invocations = list(meter.invocations)
                if ingest_runs > 0:
                    ends = [float(ts) + 60 for ts in bars.ts[-ingest_runs - 1 :]]
                    events = [scheduled_event(INGEST_SCHEDULE, t, rt.aws.region) for t in ends]
                    lambdas.invoke(INGEST_FUNCTION, events[0])  # the cold start, not measured
                    meter.reset()
                    for event in events[1:]:
                        lambdas.invoke(INGEST_FUNCTION, event)
                    runs = list(meter.invocations)
                    run_usage = meter.run_usage(INGEST_FUNCTION)
                    ingest_metrics = meter.usage()["cloudwatch"]["metrics"]
    finally:
        meter.uninstall()
    if run_usage is not None:
        usage["scheduled_runs"] = {INGEST_FUNCTION: run_usage}
        usage["cloudwatch"]["metrics"] += ingest_metrics
        usage["cloudwatch"]["custom_metrics"] = len(
            {(m["namespace"], m["name"], m["dimensions"]) for m in usage["cloudwatch"]["metrics"]}
        )
    window_days = len(bars) / 1440
    usage.update(
        window_days=window_days,
        profile=profile,
        volumes={
            "records": len(recs),
            "bars": len(bars),
            "signals": n_signals,
            "shadow_trades": trades,
            "resolved_trades": resolved,
        },
        stepfunctions_transitions=transitions,
    )
    return MeteredReplay(
        records=len(recs),
        bars=len(bars),
        signals=n_signals,
        shadow_trades=trades,
        resolved_trades=resolved,
        transitions=transitions,
        window_days=window_days,
        startup_s=startup,
        replay_s=replay_s,
        drain_s=timing["drain"],
        settle_s=timing["settle"],
        poller_batches=batches,
        batch_sizes=sizes,
        usage=usage,
        invocations=invocations,
        scheduled_runs=runs,
    )


def _timer_counts(state_machine_arn: str) -> tuple[int, int, int]:
    """Executions started, executions finished, and their state transitions (entered states)."""
    import boto3

    sfn = boto3.client("stepfunctions")
    started = finished = transitions = 0
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        for ex in page["executions"]:
            started += 1
            if ex["status"] == "RUNNING":
                continue
            finished += 1
            for hist in sfn.get_paginator("get_execution_history").paginate(executionArn=ex["executionArn"]):
                transitions += sum(1 for e in hist["events"] if str(e["type"]).endswith("StateEntered"))
    return started, finished, transitions
