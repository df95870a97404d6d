"""`huracan publish --signals` against the embedded stack's endpoint delivers every row (count in the decisions).

In its own module: the stack it starts must not overlap another test module's (one embedded AWS per process
environment at a time).
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.cli import main as cli_main
from huracan.core.timeutil import from_epoch_s
from huracan.data import find_data_file, load_minute_bars
from huracan.local.replay import build_records
from huracan.local.runtime import LocalRuntime

FILES = {"BTCUSDT": "bybit_BTCUSDT_1m_20221213.csv.gz"}
SKIP = {"IngestMarketFunctionEveryMinute", "NightlyTrainingRule", "DailySummaryFunctionNightly"}


def test_publish_delivers_every_row_of_a_signals_file(tmp_path: Path) -> None:
    # Given the embedded stack holding a day of real BTCUSDT bars, and a signals file of more than 500 rows
    # (two PutRecords batches), some rows without price or signal_id
    bars_file = find_data_file(FILES["BTCUSDT"])
    bars = load_minute_bars(bars_file)
    rows = [
        {
            "ts": from_epoch_s(int(bars.ts[k]) + 60),
            "symbol": "BTCUSDT",
            "side": "long" if k % 2 else "short",
            "mode": "scalp",
            "confidence": 0.6 + (k % 7) / 20,
            "strategy": "sent_by_me",
            **({"price": float(bars.close[k])} if k % 3 == 0 else {}),
        }
        for k in range(100, 100 + 2 * 620, 2)
    ]
    path = tmp_path / "to_send.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out = io.StringIO()
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(parameters={"HuracanProfile": "demo", "StrategiesEnabled": "false"}, skip_schedules=SKIP) as rt,
    ):
        assert rt.stack is not None
        rt.replay(build_records(bars, "BTCUSDT", _no_signals()))
        # When the user runs `huracan publish --signals FILE --stack NAME --endpoint URL`
        with contextlib.redirect_stdout(out):
            code = cli_main(
                ["publish", "--signals", str(path), "--stack", rt.stack.stack_name, "--endpoint", rt.aws.endpoint]
            )
        rt.drain()
        decisions = [d for d in bind_tables(TableSettings.from_env()).decisions.scan()]
    # Then every row was delivered and has its decision
    assert code == 0
    assert f"published {len(rows):,} of {len(rows):,} signals" in out.getvalue()
    assert len(decisions) == len(rows)
    assert Counter(d.strategy for d in decisions) == {"sent_by_me": len(rows)}
    # a row without a price entered at the last close known at its ts (the bar that closed at ts)
    by_ts = {from_epoch_s(int(t) + 60): float(c) for t, c in zip(bars.ts, bars.close, strict=True)}
    wrong = [(d.ts, d.price, by_ts[d.ts]) for d in decisions if abs(float(d.price) - by_ts[d.ts]) > 1e-9]
    assert not wrong, wrong[:5]


def _no_signals() -> Any:
    from huracan.core.strategies import StrategySignals

    return StrategySignals(np.zeros(0, dtype=np.int64), (), (), (), np.zeros(0))
