"""Replay throughput through the whole local stack, and the demo's projected wall time for the month.

Real days of the FTX BTC-PERP month (bars + the strategies' signals, demo profile, hourly windows: exactly
what ``huracan demo`` does) through embedded moto, the stack from template.yaml, the Kinesis poller, the real
handlers and the real Step Functions definition. Every AWS call is metered (``huracan.local.metering``), which
splits the time:

- **drain** (the poller's ``drain``: GetRecords + the evaluate handler): the handler path's rate;
- **settle** (timers released on the virtual clock, the state machine runs the resolver): the timers' rate;
- inside the handlers, *compute* (wall minus time inside botocore) vs the emulator's HTTP round trips.

The projection: start-up + the measured seconds per replayed day x the month's days (the demo also loads the
data and writes a report, a few seconds). The metered counts go to ``--usage-out`` for ``huracan cost``.

    .venv/bin/python benchmarks/replay.py [--days 2] [--usage-out /tmp/huracan-replay-usage.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

from huracan.data import find_data_file, load_bars
from huracan.local.metering import metered_replay

DAYS = 2.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=DAYS, help="real days to replay (default 2)")
    ap.add_argument("--first-day", type=float, default=0.0)
    ap.add_argument("--usage-out", type=Path, default=Path("/tmp/huracan-replay-usage.json"))
    args = ap.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("huracan.local.runtime").setLevel(logging.ERROR)
    month_bars = len(load_bars(find_data_file()))
    month_days = month_bars / 1440
    t0 = time.perf_counter()
    r = metered_replay(args.days, "demo", first_day=args.first_day)
    total = time.perf_counter() - t0
    args.usage_out.write_text(json.dumps(r.usage, indent=1))

    lam = r.usage["lambda"]
    ev = lam.get("EvaluateSignalsFunction", {})
    rs = lam.get("ResolveOutcomeFunction", {})
    ds = lam.get("DailySummaryFunction", {})
    ev_wall, ev_compute = ev.get("wall_s", 0.0), ev.get("compute_s", 0.0)
    rs_wall, rs_compute = rs.get("wall_s", 0.0), rs.get("compute_s", 0.0)
    poller_s = r.drain_s - ev_wall
    settle_other = r.settle_s - rs_wall - ds.get("wall_s", 0.0)
    per_day = r.replay_s / r.window_days
    projected = r.startup_s + per_day * month_days
    load = os.getloadavg()
    print(
        f"replayed {r.window_days:.2f} days: {r.records:,} records ({r.bars:,} bars, {r.signals:,} signals), "
        f"{r.shadow_trades} shadow trades ({r.resolved_trades} resolved, {r.transitions} state transitions), "
        f"{r.poller_batches} handler batches"
    )
    print(f"start-up (moto + stack deploy): {r.startup_s:.1f} s; replay {r.replay_s:.1f} s; process {total:.1f} s")
    print(f"whole stack: {r.records / r.replay_s:,.0f} records/s")
    print(
        f"drain (handler path): {r.drain_s:.2f} s = {r.records / r.drain_s:,.0f} records/s; evaluate handler "
        f"{ev_wall:.2f} s of which compute {ev_compute:.2f} s and AWS calls {ev_wall - ev_compute:.2f} s "
        f"({ev.get('aws_calls', 0)} calls, {(ev_wall - ev_compute) / max(1, ev.get('aws_calls', 1)) * 1e3:.1f} ms each); "
        f"poller (GetRecords + events) {poller_s:.2f} s"
    )
    print(
        f"settle (timers): {r.settle_s:.2f} s = {r.resolved_trades / r.settle_s if r.settle_s else 0:,.1f} timers/s; "
        f"resolver {rs_wall:.2f} s of which compute {rs_compute:.2f} s; daily summary {ds.get('wall_s', 0.0):.2f} s; "
        f"state machine interpreter + waits {settle_other:.2f} s"
    )
    print(
        f"projected demo month ({month_days:.1f} days, ~{round(r.records / r.window_days * month_days):,} records): "
        f"{projected:.0f} s; load average {load[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"usage for `huracan cost`: {args.usage_out}")
    figures = {
        "days": r.window_days,
        "records": r.records,
        "records_per_s": round(r.records / r.replay_s, 1),
        "drain_records_per_s": round(r.records / r.drain_s, 1),
        "settle_timers_per_s": round(r.resolved_trades / r.settle_s, 2) if r.settle_s else 0.0,
        "evaluate_compute_share_of_drain": round(ev_compute / r.drain_s, 3),
        "resolver_compute_share_of_settle": round(rs_compute / r.settle_s, 3) if r.settle_s else 0.0,
        "startup_s": round(r.startup_s, 2),
        "replay_s_per_day": round(per_day, 2),
        "projected_demo_month_s": round(projected, 1),
        "load_average_1m": round(load[0], 2),
    }
    print(json.dumps({"benchmark": "replay", "figures": figures}))


if __name__ == "__main__":
    main()
