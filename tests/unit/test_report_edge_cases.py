"""The report renders the awkward figures real nights produce, and a failed scheduled run does not stop a replay."""

from __future__ import annotations

import dataclasses

from huracan.core.timeutil import epoch_s
from huracan.local.clock import Scheduler, VirtualClock
from huracan.observability.report import render_report
from huracan.observability.sample import sample_summary


def test_an_interval_that_excludes_its_point_estimate_still_renders() -> None:
    # Given a session whose bootstrap interval for ECE lies above the point estimate (ECE is biased)
    summary = sample_summary()
    odd = dataclasses.replace(summary.sessions[-1], ece=0.05, ece_ci=(0.08, 0.2), auc=0.5, auc_ci=(0.51, 0.6))
    summary = dataclasses.replace(summary, sessions=[*summary.sessions[:-1], odd])
    # When the report is rendered, Then the sessions plot is there
    html = render_report(summary)
    assert 'id="plot-sessions"' in html or "AUC per session" in html


def test_a_failed_scheduled_run_is_counted_and_the_next_one_runs() -> None:
    clock = VirtualClock(epoch_s("2022-01-01T22:00:00Z"))
    sched = Scheduler(clock, "eu-west-2")
    ran: list[str] = []

    def flaky(event: dict[str, object]) -> None:
        ran.append(str(event["time"]))
        if len(ran) == 1:
            raise ValueError("first run fails")

    sched.add("summary", "cron(0 23 * * ? *)", flaky)
    assert sched.run_until(epoch_s("2022-01-02T23:30:00Z")) == 2
    assert ran == ["2022-01-01T23:00:00Z", "2022-01-02T23:00:00Z"]
    assert sched.failed == [("summary", "2022-01-01T23:00:00Z")]
