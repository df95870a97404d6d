"""The local scheduler fires the template's EventBridge schedules at the right virtual times."""

from __future__ import annotations

from typing import Any

import pytest

from huracan.core.timeutil import epoch_s
from huracan.local.clock import Scheduler, VirtualClock, next_fire


def test_next_fire_for_aws_cron_and_rate() -> None:
    t = epoch_s("2022-01-01T22:59:30Z")
    assert next_fire("cron(0 23 * * ? *)", t) == epoch_s("2022-01-01T23:00:00Z")
    assert next_fire("cron(0 0 * * ? *)", t) == epoch_s("2022-01-02T00:00:00Z")
    assert next_fire("rate(1 minute)", t) == epoch_s("2022-01-01T23:00:00Z")
    with pytest.raises(ValueError, match="not an EventBridge schedule"):
        next_fire("every day", t)


def test_scheduler_fires_in_time_order_with_event_time() -> None:
    clock = VirtualClock(epoch_s("2022-01-01T12:00:00Z"))
    sched = Scheduler(clock, "eu-west-2")
    seen: list[tuple[str, str]] = []

    def target(name: str) -> Any:
        return lambda event: seen.append((name, event["time"]))

    sched.add("training", "cron(0 0 * * ? *)", target("training"))
    sched.add("summary", "cron(0 23 * * ? *)", target("summary"))
    fired = sched.run_until(epoch_s("2022-01-03T00:00:00Z"))
    assert fired == 4
    assert seen == [
        ("summary", "2022-01-01T23:00:00Z"),
        ("training", "2022-01-02T00:00:00Z"),
        ("summary", "2022-01-02T23:00:00Z"),
        ("training", "2022-01-03T00:00:00Z"),
    ]
    assert clock.now_iso() == "2022-01-03T00:00:00Z"


def test_skip_until_passes_over_firings_without_running_them() -> None:
    # Given the two nightly schedules armed at noon on 2016-10-10
    clock = VirtualClock(epoch_s("2016-10-10T12:00:00Z"))
    sched = Scheduler(clock, "eu-west-2")
    seen: list[str] = []
    sched.add("training", "cron(0 0 * * ? *)", lambda event: seen.append(event["time"]))
    sched.add("summary", "cron(0 23 * * ? *)", lambda event: seen.append(event["time"]))
    # When a replay skips to just before data that resumes on 2016-10-20
    skipped = sched.skip_until(epoch_s("2016-10-19T23:59:59Z"))
    # Then nothing ran, each firing up to then is counted, and the next ones are the resume day's
    assert seen == []
    assert skipped == {"training": 9, "summary": 10} == sched.skipped
    assert sched.run_until(epoch_s("2016-10-20T23:00:00Z")) == 2
    assert seen == ["2016-10-20T00:00:00Z", "2016-10-20T23:00:00Z"]
    # and a second skip adds to the running count
    sched.skip_until(epoch_s("2016-10-22T00:00:00Z"))
    assert sched.skipped == {"training": 11, "summary": 11}
