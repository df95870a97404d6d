"""A replay crosses a long gap in its data without running the schedules inside it (huracan.local.runtime)."""

from __future__ import annotations

from typing import Any

from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.local.runtime import IDLE_GAP_S, LocalRuntime


def _runtime(start: str) -> tuple[LocalRuntime, list[tuple[str, str]]]:
    # Nothing is started: only the virtual clock, the scheduler and the (empty) timer gate are used.
    rt = LocalRuntime(start_time=epoch_s(start))
    ran: list[tuple[str, str]] = []

    def target(name: str) -> Any:
        return lambda event: ran.append((name, event["time"]))

    rt.scheduler.add("NightlyTrainingRule", "cron(0 0 * * ? *)", target("training"))
    rt.scheduler.add("DailySummaryFunctionNightly", "cron(0 23 * * ? *)", target("summary"))
    return rt, ran


def test_a_gap_runs_the_day_after_the_data_then_skips_to_where_it_resumes() -> None:
    # Given data that stops at 2016-10-09T23:59Z and resumes at 2017-09-03T00:00Z (the Coinbase sample's shape)
    rt, ran = _runtime("2016-10-09T23:30:00Z")
    last, resume = epoch_s("2016-10-09T23:59:00Z"), epoch_s("2017-09-03T00:00:00Z")
    # When the replay crosses it
    skipped = rt.skip_gap(last, resume)
    # Then the training on the last day ran, and nothing else until the data resumes
    assert ran == [("training", "2016-10-10T00:00:00Z")]
    assert skipped == {"NightlyTrainingRule": 327, "DailySummaryFunctionNightly": 328} == rt.scheduler.skipped
    assert from_epoch_s(rt.clock.now()) == "2017-09-02T23:59:59Z"
    # and the resume day's own runs fire as usual
    rt.settle(epoch_s("2017-09-03T23:00:00Z"))
    assert ran[1:] == [("training", "2017-09-03T00:00:00Z"), ("summary", "2017-09-03T23:00:00Z")]


def test_just_over_the_threshold_only_the_runs_after_the_day_after_are_skipped() -> None:
    # Given a stop of two days and a minute from noon: that day's summary and the training on it run, no more
    rt, ran = _runtime("2022-01-01T12:00:00Z")
    last = epoch_s("2022-01-01T12:00:00Z")
    assert IDLE_GAP_S == 2 * 86_400
    skipped = rt.skip_gap(last, last + IDLE_GAP_S + 60)
    assert skipped == {"NightlyTrainingRule": 1, "DailySummaryFunctionNightly": 1}
    assert ran == [("summary", "2022-01-01T23:00:00Z"), ("training", "2022-01-02T00:00:00Z")]
