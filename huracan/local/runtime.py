"""The whole engine on one machine: embedded AWS + the stack from ``template.yaml`` + the stand-ins.

:class:`LocalRuntime` starts everything and stops everything (also on Ctrl-C or an error). A replay steps the
virtual clock through the data in windows; in each window it publishes the records, lets the poller drain the
stream through the real handler, starts the timers that have come due (their Step Functions executions run
the real definition), waits for them, then fires the schedules that have come due (23:00 summary, 00:00
training). That order is what makes a replay deterministic: the same data gives the same tables.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from huracan.core.timeutil import from_epoch_s
from huracan.local.api_iam import sigv4_authorizer
from huracan.local.aws import LOCAL_REGION, EmbeddedAws
from huracan.local.clock import Scheduler, VirtualClock
from huracan.local.identity import Identity, IdentityLayer
from huracan.local.lambdas import LocalLambdas
from huracan.local.policies import NOT_ENFORCED
from huracan.local.poller import KinesisPoller
from huracan.local.replay import StreamRecord, chunk_by_time, put_records
from huracan.local.stack import ACCOUNT, LocalStack, StandIn
from huracan.local.template import TEMPLATE_PATH
from huracan.local.timers import RetryBackoff, TimerGate

__all__ = ["LocalRuntime", "ReplayProgress"]

log = logging.getLogger(__name__)

DAY_S = 86_400
#: A stop in the data longer than this is a gap the replay fast-forwards over (LocalRuntime.skip_gap): hours-long
#: exchange outages (the Binance hourly files) replay as they happened; separate days months apart do not.
IDLE_GAP_S = 2 * DAY_S

ContainerTask = Callable[[dict[str, Any]], object]


@dataclass
class ReplayProgress:
    """What a progress display needs after each replay window."""

    virtual_time: float
    records_sent: int
    records_total: int
    wall_s: float
    timers_held: int
    schedules_fired: list[tuple[str, str]] = field(default_factory=list)

    @property
    def records_per_s(self) -> float:
        return self.records_sent / self.wall_s if self.wall_s > 0 else 0.0


#: Stand-ins the replay needs. The evaluate Lambda re-checks ``latest.json`` every MODEL_REFRESH_SECONDS of
#: *real* time (monotonic); a replay runs a virtual hour in under a second, so the template's 60 s would
#: mean a new model reaches the gates days of virtual time late. Checking on every batch (one small S3 GET)
#: is what 60 s amounts to at real speed.
LOCAL_ENVIRONMENT: dict[str, str] = {"MODEL_REFRESH_SECONDS": "0"}

#: Template parameters a replay sets unless told otherwise: a replay stores each bar at its close, so there is
#: no ingest lag for a timer to wait for (resolve_at = timeout_at + one bar, the moment the data exists); and a
#: replay is the running loop, so its schedules are on (a first deploy keeps them off until switched on).
LOCAL_PARAMETERS: dict[str, str] = {"IngestLagSeconds": "0", "SchedulesEnabled": "true"}

#: What Lambda's and Fargate's runtimes put in every environment that the template does not: the region, and
#: locally the endpoint that stands in for AWS's (as a VPC endpoint would).
RUNTIME_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


class _CtrlC:
    """Ctrl-C ends a replay even when its KeyboardInterrupt lands where it is converted or swallowed.

    A C extension's module initialisation turns the interrupt into ``ImportError: initialization failed``,
    which the poller then treats as a handler failure and carries on. The signal is remembered and raised
    again after the window. Only the default handler is replaced (never an ignored or custom one).
    """

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def __enter__(self) -> _CtrlC:
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def _interrupt(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.seen:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class GcMeter:
    """Garbage-collection pauses while the local stack runs, and young collections made rarer.

    A replay allocates tens of millions of short-lived objects (request parsing on both sides of every AWS
    call) next to a large, slowly growing heap of long-lived ones (the emulator's tables). With CPython's
    default thresholds (700, 10, 10) a 10-day replay spent 8.7 s of 105 s collecting (10,324 young, 938
    middle, 18 full collections); with (10,000, 20, 20) 4.0 s. Process-wide, so the previous thresholds
    are restored on stop; ``seconds`` is what the demo reports.
    """

    THRESHOLDS = (10_000, 20, 20)

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started_at = 0.0
        self._saved: tuple[int, int, int] | None = None

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started_at = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started_at
            self.collections[info["generation"]] += 1

    def install(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(*self.THRESHOLDS)
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            gc.callbacks.remove(self._callback)
            self._saved = None


class LocalRuntime:
    """Start with ``with LocalRuntime(...) as rt:``; everything started is stopped on exit."""

    def __init__(
        self,
        parameters: dict[str, str] | None = None,
        template_path: Path = TEMPLATE_PATH,
        region: str = LOCAL_REGION,
        container_tasks: dict[str, ContainerTask] | None = None,
        start_time: float = 0.0,
        skip_schedules: set[str] | None = None,
        serve_api: bool = False,
        enforce_iam: bool = True,
    ) -> None:
        self.aws = EmbeddedAws(region)
        self.parameters = {**LOCAL_PARAMETERS, **(parameters or {})}
        self.template_path = template_path
        self.container_tasks = container_tasks or {}
        self.skip_schedules = skip_schedules or set()
        self.serve_api = serve_api
        #: IAM enforced by the emulator, every principal as its own role (huracan.local.identity); False is
        #: the old single-identity stack (one environment, every call allowed), kept for moto-only tests.
        self.enforce_iam = enforce_iam
        self.layer: IdentityLayer | None = None
        self.identities: dict[str, Identity] = {}
        #: Hamilton's principal (a role with the stack's HamiltonPolicy), and one with no policy at all
        self.hamilton: Identity | None = None
        self.stranger: Identity | None = None
        self.api: Any = None
        #: Called after every replay window with the window's end (virtual epoch s): the Hamilton
        #: simulator and live views hang here.
        self.window_hooks: list[Callable[[float], None]] = []
        self.clock = VirtualClock(start_time)
        self.scheduler = Scheduler(self.clock, region)
        self.gate = TimerGate()
        #: time spent delivering records to the handler, and records delivered (the handler path's rate)
        self.drain_s = 0.0
        self.drained = 0
        #: The latest publish time of any record sent to the stream (see :meth:`arrival_time`).
        self.publish_horizon = 0.0
        #: wall time spent running due shadow-trade timers (Step Functions executions and their resolver)
        self.timers_s = 0.0
        self.backoff = RetryBackoff()
        self.gc = GcMeter()
        self.stack: LocalStack | None = None
        self.pollers: list[KinesisPoller] = []
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> LocalRuntime:
        try:
            self.gc.install()
            self.aws.start()
            self._started = True
            self.stack = LocalStack(self.aws, self.template_path, dict(self.parameters)).deploy()
            lambdas = self.lambdas
            # The process environment is the local platform's (replay driver, tests, reports): it names the
            # stack's resources as `huracan`'s stack_environment does for a deployed stack. With IAM enforced
            # the functions themselves see only their own variables (huracan.local.identity).
            lambdas.apply_environment(LOCAL_ENVIRONMENT)
            if self.enforce_iam:
                self._run_as_roles()
            lambdas.install()
            self.gate.install()
            self.backoff.install()
            if self.serve_api:
                from huracan.local.api_server import LocalApiServer

                # API Gateway is not served by moto: the Chalice app serves the same routes on loopback.
                scope, authorize = None, None
                if self.layer is not None:
                    layer, (identity, env) = self.layer, lambdas.scopes["OutcomeApiFunction"]
                    scope = lambda: layer.scope(identity, env)  # noqa: E731
                    authorize = sigv4_authorizer(ACCOUNT, self.stack.api_arn())
                self.api = LocalApiServer.from_stack(
                    self.stack, clock=self.clock.now, scope=scope, authorize=authorize
                ).start()
            for function, settings in self.stack.esm.values():
                poller = KinesisPoller(self._stream_for(function), self._invoker(function), settings, self.aws.region)
                poller.arrival_clock = self.arrival_time
                self.pollers.append(poller)
        except BaseException:
            self.stop()
            raise
        return self

    def _run_as_roles(self) -> None:
        """AssumeRole for every principal, install the identity layer, then turn moto's IAM checks on."""
        assert self.stack is not None
        self.identities = self.stack.assume_roles()
        if "HamiltonPolicy" in self.stack.physical:
            self.hamilton = self.stack.caller_identity("hamilton", "HamiltonPolicy")
        self.stranger = self.stack.caller_identity("no-policy", None)
        layer = IdentityLayer(self.stack.platform_identity())
        layer.by_role_arn = {i.role_arn: i for i in self.identities.values() if i.role_arn}
        layer.install()
        self.layer = layer
        self.lambdas.run_as_roles(layer, self.identities, self.runtime_env(), LOCAL_ENVIRONMENT)
        self.aws.enforce_iam()
        for line in NOT_ENFORCED:
            self.stack.standins.append(StandIn("IAM", "not enforced locally", line))

    def runtime_env(self) -> dict[str, str]:
        return {k: os.environ[k] for k in RUNTIME_VARIABLES if k in os.environ}

    def principal_scope(self, principal: str, env: dict[str, str]) -> Any:
        """``with rt.principal_scope("OutcomeApiFunction", env):`` - run a block as that principal (its role,
        exactly ``env`` plus the runtime's variables and its credentials); a no-op without enforcement."""
        if self.layer is None:
            return contextlib.nullcontext()
        identity = self.identities[principal]
        full = {**self.layer.process_basics(), **self.runtime_env(), **identity.variables(), **env}
        return self.layer.scope(identity, full)

    def _invoker(self, function: str) -> Callable[[dict[str, Any], Any], Any]:
        lambdas = self.lambdas

        def invoke(event: dict[str, Any], context: Any) -> Any:
            return lambdas.invoke(function, event)

        return invoke

    def arm_schedules(self) -> None:
        """Register the template's enabled schedules from the clock's current time."""
        assert self.stack is not None
        for spec in self.stack.schedules:
            if not spec.enabled or spec.rule_id in self.skip_schedules:
                continue
            target = self._schedule_target(spec.target_id)
            if target is None:
                log.warning("schedule %s targets %s, which has no local stand-in", spec.rule_id, spec.target_id)
                continue
            self.scheduler.add(spec.rule_id, spec.expression, target)

    def _schedule_target(self, target_id: str) -> Callable[[dict[str, Any]], object] | None:
        assert self.stack is not None
        lambdas = self.lambdas
        if target_id in lambdas.by_key:
            return lambda event: lambdas.invoke(target_id, event)
        task = self.container_tasks.get(target_id)
        if task is None or self.layer is None:
            return task
        # The Fargate task runs as its task role with the task definition's environment only.
        definition = self.stack.task_definition_of(target_id)
        env = self.stack.container_environment(definition)

        def run(event: dict[str, Any]) -> object:
            with self.principal_scope(definition, env):
                return task(event)

        return run

    def _stream_for(self, function: str) -> str:
        assert self.stack is not None
        for lid, res in self.stack.cfn["Resources"].items():
            if res["Type"] == "AWS::Kinesis::Stream":
                return self.stack.physical[lid]
        raise RuntimeError(f"no Kinesis stream for {function}")

    def stop(self) -> None:
        """Idempotent: unpatch, stop the server, restore the environment."""
        if self.api is not None:
            self.api.stop()
            self.api = None
        self.gate.uninstall()
        self.backoff.uninstall()
        if self.stack is not None and self.stack.lambdas is not None:
            self.stack.lambdas.uninstall()
            self.stack.lambdas.restore_environment()
        if self.layer is not None:
            self.layer.uninstall()
            self.layer = None
        if self._started:
            self.aws.stop()
            self._started = False
        self.gc.uninstall()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- access ---------------------------------------------------------------------------------------
    @property
    def lambdas(self) -> LocalLambdas:
        assert self.stack is not None and self.stack.lambdas is not None, "runtime not started"
        return self.stack.lambdas

    def physical(self, logical_id: str) -> str:
        assert self.stack is not None
        return self.stack.physical[logical_id]

    # -- replay ---------------------------------------------------------------------------------------
    def arrival_time(self) -> float:
        """When the records being drained reached the stream, on the replay's clock: the window's records are
        all published by ``publish_horizon`` (the clock itself lags a window behind while they drain)."""
        return max(self.clock.now(), self.publish_horizon)

    def drain(self) -> int:
        """Deliver everything on the stream to the handler (the event source mapping's work), timed."""
        t0 = time.perf_counter()
        n = sum(p.drain() for p in self.pollers)
        self.drain_s += time.perf_counter() - t0
        self.drained += n
        return n

    def settle(self, until: float) -> list[tuple[str, str]]:
        """Advance the clock to ``until``: timers and schedules come due in time order."""
        fired_before = len(self.scheduler.fired)
        while True:
            next_timer = self.gate.next_due()
            pending = self.scheduler.due(until)
            next_sched = pending[0][0] if pending else None
            if next_timer is not None and next_timer <= until and (next_sched is None or next_timer <= next_sched):
                # Timers are independent of each other: run all of those due before the next schedule together.
                limit = until if next_sched is None else next_sched
                self.clock.advance_to(next_timer)
                t0 = time.perf_counter()
                self.gate.release_due(limit)
                self.gate.wait_idle()
                self.timers_s += time.perf_counter() - t0
            elif next_sched is not None:
                self.scheduler.run_until(next_sched)
            else:
                break
        self.clock.advance_to(until)
        return self.scheduler.fired[fired_before:]

    def skip_gap(self, last_record: float, next_record: float) -> dict[str, int]:
        """Cross a gap in the data: schedules run until the first UTC midnight at or after its last record, then
        none until the next record.

        That midnight keeps what the data's last day is owed (its 23:00 summary, the 00:00 training on it);
        every later firing in the gap is counted in ``scheduler.skipped`` and logged, not run. Timers still
        come due in order (a trade whose window ends in the gap resolves, as NO_DATA if its bars never came).
        """
        resume = next_record - 1
        self.settle(min(-(-last_record // DAY_S) * DAY_S, resume))
        skipped = self.scheduler.skip_until(resume)
        if skipped:
            log.info(
                "data gap %s -> %s: scheduled runs skipped %s",
                from_epoch_s(last_record), from_epoch_s(next_record), skipped,
            )  # fmt: skip
        self.settle(resume)
        return skipped

    def replay(
        self,
        records: Sequence[StreamRecord],
        window_s: int = 3600,
        on_progress: Callable[[ReplayProgress], None] | None = None,
        stream_logical_id: str = "MarketStream",
        idle_gap_s: float | None = IDLE_GAP_S,
    ) -> ReplayProgress:
        """Publish records window by window through the whole stack; returns the final progress.

        Where the data stops for longer than ``idle_gap_s`` (None: never), the schedules inside the gap are
        skipped (:meth:`skip_gap`).
        """
        assert self.stack is not None
        kinesis = boto3.client("kinesis")
        stream = self.physical(stream_logical_id)
        if records and self.clock.now() < records[0].publish_at:
            self.clock.advance_to(records[0].publish_at - 1)
        if not self.scheduler.schedules:
            self.arm_schedules()
        t0 = time.perf_counter()
        sent = 0
        progress = ReplayProgress(self.clock.now(), 0, len(records), 0.0, 0)
        last_publish = records[-1].publish_at if records else 0
        previous: float | None = None
        with _CtrlC() as ctrl_c:
            for window_end, chunk in chunk_by_time(records, window_s):
                if idle_gap_s is not None and previous is not None and chunk[0].publish_at - previous > idle_gap_s:
                    self.skip_gap(previous, chunk[0].publish_at)
                previous = chunk[-1].publish_at
                # The replay's time ends with its data: the last window stops at the last record, so no timer
                # comes due for a window whose bars were never published.
                end = min(window_end, last_publish)
                self.publish_horizon = max(self.publish_horizon, float(chunk[-1].publish_at))
                sent += put_records(kinesis, stream, chunk)
                self.drain()
                fired = self.settle(end)
                for hook in self.window_hooks:
                    hook(end)
                ctrl_c.check()
                progress = ReplayProgress(end, sent, len(records), time.perf_counter() - t0, self.gate.held, fired)
                if on_progress is not None:
                    on_progress(progress)
        return progress

    def finish(self, until: float) -> list[tuple[str, str]]:
        """After the last record: let remaining timers and schedules up to ``until`` run."""
        self.drain()
        return self.settle(until)
