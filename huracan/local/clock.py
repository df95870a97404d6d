"""The virtual clock and the scheduler that fires the template's EventBridge schedules in replay time.

moto never fires EventBridge crons, and a month replayed in minutes needs "midnight" to come when the
replay's data says so. The replay driver advances the clock as it publishes bars; the scheduler fires every
schedule whose time has come, in time order, with the EventBridge event the Lambda/Fargate task would get.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

from huracan.core.timeutil import format_ts, from_epoch_s

__all__ = ["Schedule", "Scheduler", "VirtualClock", "next_fire", "scheduled_event"]

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")


class VirtualClock:
    """Replay time in epoch seconds; only ever moves forward. Thread-safe: pollers read it concurrently."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def now_iso(self) -> str:
        return from_epoch_s(self.now())

    def advance_to(self, t: float) -> None:
        with self._lock:
            if t > self._now:
                self._now = float(t)


def _aws_cron_to_croniter(expr: str) -> str:
    """AWS cron has 6 fields (min hour dom month dow year) and ``?``; croniter wants 5 without ``?``."""
    parts = expr.split()
    if len(parts) != 6:
        raise ValueError(f"AWS cron needs 6 fields, got {len(parts)}: {expr!r}")
    if parts[5] not in ("*", "?"):
        raise ValueError(f"year field {parts[5]!r} is not supported by the local scheduler")
    return " ".join(p.replace("?", "*") for p in parts[:5])


def next_fire(expression: str, after: float) -> float:
    """The first firing strictly after ``after`` (epoch s) of an EventBridge ``cron()`` or ``rate()``."""
    start = datetime.fromtimestamp(after, tz=UTC)
    if m := _RATE.match(expression.strip()):
        n, unit = int(m.group(1)), m.group(2).rstrip("s")
        step = timedelta(**{f"{unit}s": n}).total_seconds()
        return (after // step + 1) * step
    if m := _CRON.match(expression.strip()):
        it = croniter(_aws_cron_to_croniter(m.group(1)), start)
        fire: datetime = it.get_next(datetime)
        return fire.timestamp()
    raise ValueError(f"not an EventBridge schedule expression: {expression!r}")


def scheduled_event(rule_name: str, fire_at: float, region: str, account: str = "123456789012") -> dict[str, Any]:
    """The event EventBridge delivers for a schedule: handlers take their time from ``time``."""
    return {
        "version": "0",
        "id": f"{rule_name}-{int(fire_at)}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": format_ts(datetime.fromtimestamp(fire_at, tz=UTC)),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule_name}"],
        "detail": {},
    }


@dataclass
class Schedule:
    """One schedule from the template and what stands in for its target locally."""

    name: str
    expression: str
    target: Callable[[dict[str, Any]], object]
    next_at: float = field(default=0.0)


class Scheduler:
    """Fires due schedules in time order as the virtual clock advances."""

    def __init__(self, clock: VirtualClock, region: str) -> None:
        self.clock = clock
        self.region = region
        self.schedules: list[Schedule] = []
        self.fired: list[tuple[str, str]] = []
        self.failed: list[tuple[str, str]] = []
        #: firings passed over by :meth:`skip_until` (a replay's gap in the data), per schedule
        self.skipped: dict[str, int] = {}
        #: wall seconds spent in each schedule's runs (where a replay's time goes)
        self.wall_s: dict[str, float] = {}

    def add(self, name: str, expression: str, target: Callable[[dict[str, Any]], object]) -> None:
        self.schedules.append(Schedule(name, expression, target, next_fire(expression, self.clock.now())))

    def due(self, until: float) -> list[tuple[float, Schedule]]:
        out = [(s.next_at, s) for s in self.schedules if s.next_at <= until]
        return sorted(out, key=lambda x: (x[0], x[1].name))

    def skip_until(self, until: float) -> dict[str, int]:
        """Pass over every firing due up to ``until`` without running it; how many, per schedule.

        Only a replay calls this, across a gap in its data: EventBridge would fire each one, but on a file
        of separate days months apart (the Coinbase sample) that is hundreds of nightly trainings and
        summaries of nothing, minutes of wall time that teach nothing.
        """
        skipped: dict[str, int] = {}
        for sched in self.schedules:
            while sched.next_at <= until:
                skipped[sched.name] = skipped.get(sched.name, 0) + 1
                sched.next_at = next_fire(sched.expression, sched.next_at)
        for name, n in skipped.items():
            self.skipped[name] = self.skipped.get(name, 0) + n
        return skipped

    def run_until(self, until: float) -> int:
        """Fire everything due up to ``until`` (inclusive), one firing at a time in time order."""
        count = 0
        while True:
            pending = self.due(until)
            if not pending:
                return count
            at, sched = pending[0]
            self.clock.advance_to(at)
            t0 = time.perf_counter()
            try:
                sched.target(scheduled_event(sched.name, at, self.region))
            except Exception:  # as in AWS: a failed scheduled run is logged and counted; the next one still runs
                log.exception("scheduled target %s failed at %s", sched.name, from_epoch_s(at))
                self.failed.append((sched.name, from_epoch_s(at)))
            finally:
                self.wall_s[sched.name] = self.wall_s.get(sched.name, 0.0) + time.perf_counter() - t0
            self.fired.append((sched.name, from_epoch_s(at)))
            sched.next_at = next_fire(sched.expression, at)
            count += 1
