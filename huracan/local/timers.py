"""Holding Step Functions executions until the virtual clock reaches their timer.

A state machine's ``Wait`` on ``$.resolve_at`` sleeps in real time on moto, and a replayed timestamp from
2022 has long passed, so an execution started at once would resolve a trade before the replay has even
published the bars of its outcome window. In a replay the local stack therefore holds every new execution
and starts it when the virtual clock passes its ``resolve_at`` (the same field the Wait state reads:
``timeout_at`` + one bar + the ingest lag); the definition that then runs is the real one.
"""

from __future__ import annotations

import heapq
import threading
import time
from typing import Any

from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.backend.execution import Execution

from huracan.core.timeutil import epoch_s

__all__ = ["RetryBackoff", "TimerGate"]


class TimerGate:
    """Patches moto's ``Execution.start``: held executions start on ``release_due(now)``."""

    def __init__(self, field: str = "resolve_at", fallback: str = "timeout_at", fallback_delay_s: float = 60.0) -> None:
        self.field = field
        # An input without resolve_at (a test's hand-made execution) waits for the bar after timeout_at, which
        # is what resolve_at says at an ingest lag of 0.
        self.fallback = fallback
        self.fallback_delay_s = fallback_delay_s
        self._heap: list[tuple[float, int, Any]] = []
        self._started: list[Any] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._original: Any = None

    def install(self) -> None:
        if self._original is not None:
            return
        self._original = Execution.start
        gate = self

        def start(execution: Execution) -> None:
            data: dict[str, Any] = execution.input_data if isinstance(execution.input_data, dict) else {}
            if data.get(gate.field) is not None:
                due = epoch_s(str(data[gate.field]))
            elif data.get(gate.fallback) is not None:
                due = epoch_s(str(data[gate.fallback])) + gate.fallback_delay_s
            else:
                gate._original(execution)
                return
            execution.exec_status = ExecutionStatus.RUNNING
            with gate._lock:
                gate._seq += 1
                heapq.heappush(gate._heap, (due, gate._seq, execution))

        Execution.start = start  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            Execution.start = self._original  # type: ignore[method-assign]
            self._original = None

    @property
    def held(self) -> int:
        with self._lock:
            return len(self._heap)

    def next_due(self) -> float | None:
        with self._lock:
            return self._heap[0][0] if self._heap else None

    def release_due(self, now: float) -> int:
        """Start every held execution whose timer has passed; returns how many started."""
        started = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                started.append(heapq.heappop(self._heap)[2])
        for execution in started:
            execution.exec_status = None
            self._original(execution)
            self._started.append(execution)
        return len(started)

    def running(self) -> int:
        self._started = [e for e in self._started if e.exec_status == ExecutionStatus.RUNNING]
        return len(self._started)

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Block until every released execution has finished (a replay step must be complete)."""
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.running()} Step Functions executions still running after {timeout}s")
            time.sleep(0.005)


class RetryBackoff:
    """A state's ``Retry`` backoff on the virtual clock: the wait is recorded, not slept.

    moto's interpreter sleeps a Retry's ``IntervalSeconds × BackoffRate^n`` in real time. In a replay a
    month passes in minutes, so the backoff passes in replay time too: every wait is recorded (the fault
    suite checks that retries happened with backoff) and the next attempt follows at once.
    """

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()
        self._original: Any = None

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(float(seconds))

    def install(self) -> None:
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        if self._original is None:
            self._original = getattr(retrier_decl, "time")  # noqa: B009 - not exported; patched on purpose
            setattr(retrier_decl, "time", self)  # noqa: B010

    def uninstall(self) -> None:
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        if self._original is not None:
            setattr(retrier_decl, "time", self._original)  # noqa: B010
            self._original = None
