"""Real data with an 11-month hole (the Coinbase sample's separate days) through the whole local stack.

The replay runs the schedules owed to the last day before the hole, skips the ~330 daily summaries of nothing
inside it, and carries on where the data resumes; trades that were open across the hole still end, none is lost.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.strategies import signals_history
from huracan.core.timeutil import epoch_s
from huracan.data import find_data_file, load_bars
from huracan.local.replay import build_records
from huracan.local.runtime import LocalRuntime

COINBASE = "coinbase_BTCUSD_1m_8days_2016-2018.csv.gz"


def test_a_replay_skips_the_schedules_inside_a_gap_and_loses_no_trade() -> None:
    # Given the first real day of the file and the first six hours after its 11-month gap
    bars = load_bars(find_data_file(COINBASE))
    day1 = bars.slice(0, int(np.searchsorted(bars.ts, epoch_s("2016-10-08T00:00:00Z"))))
    resume = np.searchsorted(bars.ts, [epoch_s("2017-09-03T00:00:00Z"), epoch_s("2017-09-03T06:00:00Z")])
    day2 = bars.slice(int(resume[0]), int(resume[1]))
    assert len(day1) > 1000 and len(day2) == 360
    records = [*build_records(day1, "BTC-USD", signals_history(day1)), *build_records(day2, "BTC-USD")]
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(
            parameters={"HuracanProfile": "demo"},
            skip_schedules={"IngestMarketFunctionEveryMinute", "NightlyTrainingRule"},
        ) as rt,
    ):
        # When it is replayed through the stack
        rt.replay(records)
        rt.finish(records[-1].publish_at)
        tables = bind_tables(TableSettings.from_env())
        decisions = list(tables.decisions.scan())
        trades = list(tables.shadow_trades.scan())
        fired = [at for name, at in rt.scheduler.fired if name == "DailySummaryFunctionNightly"]
        skipped = dict(rt.scheduler.skipped)
    # Then the last day's 23:00 summary ran and the 330 inside the gap (2016-10-08 .. 2017-09-02) did not
    assert fired == ["2016-10-07T23:00:00Z"]
    # (and the hourly open-trade sweeper's 24 a day over the same 330 days: no data, nothing to sweep)
    assert skipped == {"DailySummaryFunctionNightly": 330, "SweepOpenTradesFunctionHourly": 330 * 24}
    # and every signal of both sides of the gap was decided, every passed one traded, no trade left OPEN
    # but those whose window runs past the data's end
    signals = sum(1 for r in records if r.payload["type"] == "signal")
    assert len(decisions) == signals > 0
    assert len(trades) == sum(1 for d in decisions if d.passed) > 0
    end = records[-1].publish_at
    assert all(t.status != "OPEN" or epoch_s(t.timeout_at) > end for t in trades)
