"""Fault injectors for the local stack: the failures AWS produces, on purpose, at a set rate.

The engine promises that throttling, crashes, duplicate deliveries and resolver failures lose nothing and
change nothing. These injectors produce exactly those failures at the boundaries where AWS produces them,
so the promise is checked on the real handlers, the real state machine and the real poller semantics:

- **throttling** at the botocore layer: a ``before-call`` event handler on every botocore client raises a
  ``ClientError`` (``ThrottlingException`` / ``ProvisionedThroughputExceededException``) *instead of*
  sending the request, for DynamoDB and Step Functions calls made inside a handler. Nothing was applied,
  as with a real throttle, and the adapters see the same exception class and code AWS would send;
- **a crash after N writes**: an ``after-call`` handler counts the writes an invocation made and, after
  the N-th, raises :class:`InjectedCrash` (a ``BaseException``, so no ``except Exception`` in the code
  under test can swallow it, just as nothing survives a killed runtime). The invocation boundary turns it
  into :class:`FunctionCrashed`, which Lambda reports as an unhandled function error;
- **duplicate deliveries**: the poller's handler is called twice with the same event (at-least-once);
- **resolver failures**: a :class:`~huracan.adapters.errors.TransientError` before the resolver runs (the
  ASL's Retry matches it by class name), or, with :meth:`FaultInjector.fail_resolver_for`, a permanent
  failure for chosen trades (Retry does not match it; Catch marks the trade ERROR and parks it).

Every random choice is a seeded hash of *what* is being called (function, records or trade, delivery
number, call number), never of call order, so concurrent Step Functions executions make the same choices
in every run. Recoverability is a property of the plan, not luck: a stream record is never in more than
one faulted invocation and a trade never sees more than ``max_faults_per_timer`` faults, both below the
template's retry budgets; what the test then checks is that the engine uses those retries correctly.

``FaultInjector.track_only()`` injects nothing and only counts: the clean replay it is compared with
runs through the same bookkeeping. Use as ``with FaultInjector(rt, FaultPlan(rate=0.05, seed=7)) as f:``
(install before the first record is published; ``f.stats`` has the figures).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import botocore.client
import botocore.exceptions

from huracan.adapters.errors import TransientError

__all__ = [
    "EVALUATE",
    "RESOLVE",
    "SWEEP",
    "FaultInjector",
    "FaultPlan",
    "FaultStats",
    "FunctionCrashed",
    "InjectedCrash",
    "ResolverFailure",
    "fault_draw",
]

EVALUATE = "EvaluateSignalsFunction"
RESOLVE = "ResolveOutcomeFunction"
SWEEP = "SweepOpenTradesFunction"

#: Calls that change state; the crash injector counts these.
WRITE_OPERATIONS = frozenset(
    {
        "PutItem",
        "BatchWriteItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "StartExecution",
        "SendMessage",
        "SendMessageBatch",
        "PutObject",
    }
)
_THROTTLE_CODES = {
    "dynamodb": ("ProvisionedThroughputExceededException", "ThrottlingException"),
    "stepfunctions": ("ThrottlingException",),
    "sfn": ("ThrottlingException",),
}


class InjectedCrash(BaseException):
    """The runtime dies mid-invocation; deliberately not an ``Exception``."""


class FunctionCrashed(RuntimeError):
    """What the Lambda service reports for a runtime that died (``Runtime.ExitError``)."""


class ResolverFailure(RuntimeError):
    """A permanent resolver failure: no Retry of the timer matches it, so Catch takes it."""


def fault_draw(seed: int, *parts: object) -> float:
    """A number in [0, 1) from a seed and the identity of a call: the same call, the same draw."""
    text = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2.0**64


@dataclass(frozen=True)
class FaultPlan:
    """Which faults, how often. ``rate`` is the chance per opportunity (per call for throttling, per
    invocation for crashes, resolver failures and duplicates); per-kind rates override it."""

    rate: float = 0.0
    seed: int = 0
    throttle_rate: float | None = None
    crash_rate: float | None = None
    duplicate_rate: float | None = None
    resolver_rate: float | None = None
    #: A crash comes after 1..max_crash_after writes of the invocation (fewer writes: no crash).
    max_crash_after: int = 6
    throttle_services: frozenset[str] = frozenset({"dynamodb", "stepfunctions"})
    functions: frozenset[str] = frozenset({EVALUATE, RESOLVE})
    #: Crashes hit the stream handler only: the timer's Retry does not list a runtime crash of the resolver
    #: (``Runtime.ExitError``), so a crashed resolver is caught as ERROR by design (see the fault suite).
    crash_functions: frozenset[str] = frozenset({EVALUATE})
    #: Below the timer's Retry budget (TransientError: 5 attempts), so a timer always recovers.
    max_faults_per_timer: int = 2

    def kind_rate(self, kind: str) -> float:
        own = {
            "throttle": self.throttle_rate,
            "crash": self.crash_rate,
            "duplicate": self.duplicate_rate,
            "resolver": self.resolver_rate,
        }[kind]
        return self.rate if own is None else own


@dataclass
class FaultStats:
    """What was injected and what the handlers were handed; the fault suite reports these figures."""

    injected: Counter[str] = field(default_factory=Counter)
    duplicates_delivered: int = 0
    records_duplicated: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    crashed_invocations: int = 0
    #: sequence number -> how many invocations of the stream handler carried it
    record_deliveries: Counter[str] = field(default_factory=Counter)
    #: shadow_id -> how many resolver invocations answered CLOSED (closed by this call)
    closed_by_resolver: Counter[str] = field(default_factory=Counter)
    resolver_results: Counter[str] = field(default_factory=Counter)

    def figures(self) -> dict[str, int]:
        return {
            **{f"injected_{k}": v for k, v in sorted(self.injected.items())},
            "injected_total": sum(self.injected.values()),
            "duplicates_delivered": self.duplicates_delivered,
            "records_duplicated": self.records_duplicated,
            "crashed_invocations": self.crashed_invocations,
        }


@dataclass
class _Scope:
    """One invocation in progress on this thread."""

    function: str
    key: str
    eligible: bool
    calls: int = 0
    writes: int = 0
    crash_after: int | None = None
    faulted: bool = False
    seqs: tuple[str, ...] = ()
    shadow_id: str | None = None


def _sequence_numbers(event: Any) -> tuple[str, ...]:
    if not isinstance(event, Mapping):
        return ()
    out = []
    for r in event.get("Records") or []:
        kin = r.get("kinesis") if isinstance(r, Mapping) else None
        if isinstance(kin, Mapping) and kin.get("sequenceNumber"):
            out.append(str(kin["sequenceNumber"]))
    return tuple(out)


class FaultInjector:
    """Installs the injectors on a started :class:`~huracan.local.runtime.LocalRuntime`; removes them on exit."""

    def __init__(self, runtime: Any, plan: FaultPlan | None = None) -> None:
        self.rt = runtime
        self.plan = plan or FaultPlan()
        self.stats = FaultStats()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._faulted_records: set[str] = set()
        self._timer_faults: Counter[str] = Counter()
        self._deliveries: Counter[str] = Counter()
        self._permanent: dict[str, str] = {}
        self._transient_for: Counter[str] = Counter()
        self._orig_invoke: Any = None
        self._orig_handlers: list[tuple[Any, Any]] = []
        self._orig_create: Any = None
        self._clients: list[Any] = []
        self.active = True

    @classmethod
    def track_only(cls, runtime: Any) -> FaultInjector:
        """The same bookkeeping with nothing injected (the clean run a faulty one is compared with)."""
        return cls(runtime, FaultPlan(rate=0.0))

    # -- targeted failures ------------------------------------------------------------------------------
    def fail_resolver_for(self, shadow_id: str, *, transient_times: int = 0, permanent: bool = False) -> None:
        """Fail this trade's resolver: ``transient_times`` TransientErrors first, then (``permanent``) always."""
        with self._lock:
            self._transient_for[shadow_id] += transient_times
            if permanent:
                self._permanent[shadow_id] = "injected permanent resolver failure"

    # -- lifecycle --------------------------------------------------------------------------------------
    def install(self) -> FaultInjector:
        lambdas = self.rt.lambdas
        self._orig_invoke = lambdas.invoke
        lambdas.invoke = self._invoke
        for poller in self.rt.pollers:
            self._orig_handlers.append((poller, poller.handler))
            poller.handler = self._delivering(poller.handler)
        self._orig_create = botocore.client.ClientCreator.create_client
        injector = self

        def create_client(creator: Any, *args: Any, **kwargs: Any) -> Any:
            client = injector._orig_create(creator, *args, **kwargs)
            injector._hook(client)
            return client

        botocore.client.ClientCreator.create_client = create_client  # type: ignore[method-assign,assignment]
        # Clients made before this point (cached by the adapters or pynamodb) get the hooks too.
        for obj in gc.get_objects():
            if isinstance(obj, botocore.client.BaseClient):
                self._hook(obj)
        return self

    def uninstall(self) -> None:
        if self._orig_create is not None:
            botocore.client.ClientCreator.create_client = self._orig_create  # type: ignore[method-assign]
            self._orig_create = None
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.meta.events.unregister("before-call", unique_id=f"huracan-faults-before-{id(self)}")
                client.meta.events.unregister("after-call", unique_id=f"huracan-faults-after-{id(self)}")
        self._clients = []
        for poller, handler in self._orig_handlers:
            poller.handler = handler
        self._orig_handlers = []
        if self._orig_invoke is not None:
            with contextlib.suppress(AttributeError):
                del self.rt.lambdas.invoke  # back to the class's method
            self._orig_invoke = None

    def __enter__(self) -> FaultInjector:
        return self.install()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No injection inside (e.g. while a test reads the tables); bookkeeping continues."""
        before, self.active = self.active, False
        try:
            yield
        finally:
            self.active = before

    @contextlib.contextmanager
    def container_task(self, name: str, *, crash_after_writes: int | None = None) -> Iterator[None]:
        """Run a container task (e.g. the nightly training) on this thread; ``crash_after_writes`` kills it
        (:class:`InjectedCrash` leaves the block) after that many successful writes, e.g. mid-upload."""
        scope = _Scope(name, f"{name}:task", eligible=False, crash_after=crash_after_writes)
        self._local.scope = scope
        try:
            yield
        except InjectedCrash:
            with self._lock:
                self.stats.crashed_invocations += 1
            raise
        finally:
            self._local.scope = None

    # -- the invocation boundary ------------------------------------------------------------------------
    def _scope(self) -> _Scope | None:
        return getattr(self._local, "scope", None)

    def _invoke(self, name_or_arn: str, event: Any) -> Any:
        spec = self.rt.lambdas.get(name_or_arn)
        fn = spec.logical_id
        with self._lock:
            self.stats.invocations[fn] += 1
        seqs = _sequence_numbers(event)
        shadow_id = event.get("shadow_id") if isinstance(event, Mapping) and fn == RESOLVE else None
        scope = self._open_scope(fn, event, seqs, shadow_id if isinstance(shadow_id, str) else None)
        self._local.scope = scope
        try:
            if scope.shadow_id is not None:
                self._resolver_faults(scope)
            result = self._orig_invoke(name_or_arn, event)
        except InjectedCrash as crash:
            with self._lock:
                self.stats.crashed_invocations += 1
            raise FunctionCrashed(f"Runtime.ExitError: {crash}") from None
        finally:
            self._local.scope = None
            if scope.faulted:
                with self._lock:
                    self._faulted_records.update(scope.seqs)
                    if scope.shadow_id is not None:
                        self._timer_faults[scope.shadow_id] += 1
        if fn == SWEEP and isinstance(result, Mapping):  # the sweeper closes trades with the same resolver
            with self._lock:
                for shadow_id in result.get("resolved_ids") or ():
                    self.stats.closed_by_resolver[str(shadow_id)] += 1
        if fn == RESOLVE and isinstance(result, Mapping):
            status = str(result.get("status"))
            with self._lock:
                self.stats.resolver_results[status] += 1
                if status == "CLOSED":
                    self.stats.closed_by_resolver[str(result.get("shadow_id"))] += 1
        return result

    def _open_scope(self, fn: str, event: Any, seqs: tuple[str, ...], shadow_id: str | None) -> _Scope:
        if seqs:
            key = hashlib.sha256("|".join(seqs).encode()).hexdigest()[:16]
        else:
            key = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()[:16]
        with self._lock:
            self._deliveries[f"{fn}:{key}"] += 1
            n = self._deliveries[f"{fn}:{key}"]
            for s in seqs:
                self.stats.record_deliveries[s] += 1
            eligible = self.active and fn in self.plan.functions
            if seqs:
                eligible = eligible and not any(s in self._faulted_records for s in seqs)
            if shadow_id is not None:
                eligible = eligible and self._timer_faults[shadow_id] < self.plan.max_faults_per_timer
        scope = _Scope(fn, f"{fn}:{key}:{n}", eligible, seqs=seqs, shadow_id=shadow_id)
        crashable = eligible and fn in self.plan.crash_functions
        if crashable and fault_draw(self.plan.seed, "crash", scope.key) < self.plan.kind_rate("crash"):
            scope.crash_after = 1 + int(fault_draw(self.plan.seed, "crash-n", scope.key) * self.plan.max_crash_after)
        return scope

    def _resolver_faults(self, scope: _Scope) -> None:
        sid = scope.shadow_id
        assert sid is not None
        with self._lock:
            if sid in self._permanent:
                self.stats.injected["resolver_permanent"] += 1
                raise ResolverFailure(f"{self._permanent[sid]} for {sid}")
            if self._transient_for[sid] > 0:
                self._transient_for[sid] -= 1
                self.stats.injected["resolver_transient"] += 1
                raise TransientError(f"injected transient resolver failure for {sid}", operation="resolve")
        if scope.eligible and fault_draw(self.plan.seed, "resolver", scope.key) < self.plan.kind_rate("resolver"):
            scope.faulted = True
            with self._lock:
                self.stats.injected["resolver_transient"] += 1
            raise TransientError(f"injected transient resolver failure for {sid}", operation="resolve")

    def _delivering(self, handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
        """The poller's handler, delivering a batch twice at the plan's duplicate rate (at-least-once)."""

        def deliver(event: dict[str, Any], context: Any) -> Any:
            seqs = _sequence_numbers(event)
            first = handler(event, context)
            key = "|".join(seqs)
            with self._lock:
                self._deliveries[f"dup:{key}"] += 1
                n = self._deliveries[f"dup:{key}"]
            if not self.active or fault_draw(self.plan.seed, "duplicate", key, n) >= self.plan.kind_rate("duplicate"):
                return first
            with self._lock:
                self.stats.duplicates_delivered += 1
                self.stats.records_duplicated += len(seqs)
                self.stats.injected["duplicate"] += 1
            return handler(event, context)

        return deliver

    # -- botocore hooks ---------------------------------------------------------------------------------
    def _hook(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-call", self._before_call, unique_id=f"huracan-faults-before-{id(self)}")
        events.register("after-call", self._after_call, unique_id=f"huracan-faults-after-{id(self)}")
        self._clients.append(client)

    def _before_call(self, model: Any = None, **_: Any) -> None:
        scope = self._scope()
        if scope is None or not scope.eligible or model is None:
            return
        service = str(model.service_model.service_name)
        scope.calls += 1
        if service not in self.plan.throttle_services:
            return
        draw = fault_draw(self.plan.seed, "throttle", scope.key, scope.calls)
        if draw >= self.plan.kind_rate("throttle"):
            return
        codes = _THROTTLE_CODES.get(service, ("ThrottlingException",))
        code = codes[int(fault_draw(self.plan.seed, "code", scope.key, scope.calls) * len(codes))]
        scope.faulted = True
        with self._lock:
            self.stats.injected[f"throttle_{service}"] += 1
        response: Any = {
            "Error": {"Code": code, "Message": f"injected {code} on {model.name}"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 0},
        }
        raise botocore.exceptions.ClientError(response, str(model.name))

    def _after_call(self, model: Any = None, http_response: Any = None, **_: Any) -> None:
        scope = self._scope()
        if scope is None or scope.crash_after is None or model is None:
            return
        if str(model.name) not in WRITE_OPERATIONS or getattr(http_response, "status_code", 500) >= 300:
            return
        scope.writes += 1
        if scope.writes >= scope.crash_after:
            scope.crash_after = None
            scope.faulted = True
            with self._lock:
                self.stats.injected["crash"] += 1
            raise InjectedCrash(f"{scope.function} killed after {scope.writes} writes ({model.name})")
