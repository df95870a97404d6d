"""The timer waits for its data: with bars stored 120 s after their close, as on AWS, and IngestLagSeconds 120,
every shadow trade resolves on the first attempt and none ends ERROR; waiting no lag, the resolver retries.

The replay publishes each bar 120 s late, window by window (one minute each), so a timer released before its
window's last bar is stored finds the price path incomplete and raises TransientError, as on AWS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io

from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.bars import BarArrays
from huracan.core.strategies import signals_history
from huracan.local.replay import build_records
from huracan.local.runtime import LocalRuntime

LAG_S = 120


def _replay(bars: BarArrays, waited_lag_s: int) -> tuple[list[float], dict[str, int], int]:
    records = [
        dataclasses.replace(r, publish_at=r.publish_at + LAG_S)
        for r in build_records(bars, "BTC-PERP", signals_history(bars))
    ]
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(
            parameters={"HuracanProfile": "demo", "IngestLagSeconds": str(waited_lag_s)},
            skip_schedules={"IngestMarketFunctionEveryMinute", "NightlyTrainingRule", "DailySummaryFunctionNightly"},
        ) as rt,
    ):
        rt.replay(records, window_s=60)
        rt.finish(records[-1].publish_at)
        tables = bind_tables(TableSettings.from_env())
        statuses: dict[str, int] = {}
        for t in tables.shadow_trades.scan():
            statuses[t.status] = statuses.get(t.status, 0) + 1
        return list(rt.backoff.waits), statuses, rt.lambdas.invocations.get("ResolveOutcomeFunction", 0)


def test_timers_resolve_on_the_first_attempt_when_they_wait_the_ingest_lag(ftx_month: BarArrays) -> None:
    bars = ftx_month.slice(0, 720)
    waits, statuses, invocations = _replay(bars, LAG_S)
    resolved = sum(n for s, n in statuses.items() if s != "OPEN")
    assert resolved >= 5, statuses  # the half day opens and resolves trades
    assert waits == [], waits  # no Retry: each timer's one attempt found its window complete
    assert "ERROR" not in statuses
    assert invocations == resolved

    # the control: waiting only one bar, the same replay retries (the bar is not stored yet)
    waits0, statuses0, invocations0 = _replay(bars, 0)
    assert waits0 and invocations0 > invocations
    assert sum(statuses0.values()) == sum(statuses.values())
