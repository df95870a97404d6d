"""The demo's progress line: virtual time, throughput, open shadow trades and models published so far."""

from __future__ import annotations

from types import SimpleNamespace

from huracan.core.timeutil import epoch_s
from huracan.local.demo import _progress_postfix
from huracan.local.runtime import ReplayProgress


def test_progress_counts_open_trades_and_only_published_nights() -> None:
    # Given a replay two virtual days in, 7 trades waiting on their timers, and three nights of training
    p = ReplayProgress(epoch_s("2022-01-03T05:00:00Z"), 2_000, 49_277, 4.0, 7)
    nights = [SimpleNamespace(status=s) for s in ("skipped", "published", "candidate")]
    # When the progress line is drawn
    line = _progress_postfix(p, nights)
    # Then it names the virtual hour, the rate, the open trades and the one published model
    assert line == "virtual 2022-01-03T05:00Z | 500 rec/s | open trades 7 | models published 1"
    # and a night published later is counted at the next window (the list is the demo's own, appended to)
    nights.append(SimpleNamespace(status="published"))
    assert _progress_postfix(p, nights).endswith("models published 2")
