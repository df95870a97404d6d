"""What one 100-record batch costs the evaluate_signals handler: AWS calls, bytes written, handler time.

Real FTX days (bars + the strategies' signals, demo profile) go through the local stack with the stream
filled a day at a time, so the poller hands the real handler full 100-record batches (the template's
BatchSize). Every botocore call is metered (a ``before-call`` hook for the serialized request body; the time
inside ``_make_api_call``; caller = the handler running on the thread): calls per operation and request bytes
per batch, DynamoDB write request units (item-size rules, GSIs included), and handler time *excluding AWS
latency* = handler wall time minus the time spent inside botocore calls (the emulator's HTTP round trip).

Live, records arrive a minute at a time (one bar + its signals), so Lambda sees ~1 record per invocation;
the last line of figures is that case from the replay benchmark's per-minute windows (see ``cost.py``).

    .venv/bin/python benchmarks/handler_cost.py [--days 4]
"""

from __future__ import annotations

import argparse
import json
import logging
import os

import numpy as np

from huracan.local.metering import metered_replay

DAYS = 4.0
WRITE_OPS = ("BatchWriteItem", "PutItem", "UpdateItem", "StartExecution", "SendMessage", "SendMessageBatch")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=DAYS, help="real days to replay (default 4: ~62 batches)")
    args = ap.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("huracan.local.runtime").setLevel(logging.ERROR)
    r = metered_replay(
        args.days,
        "demo",
        window_s=86_400,
        skip_schedules=frozenset(
            {"IngestMarketFunctionEveryMinute", "DailySummaryFunctionNightly", "NightlyTrainingRule"}
        ),
    )
    fn = "EvaluateSignalsFunction"
    invs = [i for i in r.invocations if i.function == fn]
    assert len(invs) == len(r.batch_sizes), "one metered invocation per poller batch"
    # The first invocation is the cold one (imports, service wiring, first model check): reported apart.
    cold_ms = invs[0].compute_s * 1e3 if invs else 0.0
    full = [i for k, (i, n) in enumerate(zip(invs, r.batch_sizes, strict=True)) if n == 100 and k > 0]
    records = sum(r.batch_sizes)
    per100 = 100.0 / records
    calls = r.usage["calls"].get(fn, {})
    body = r.usage["request_bytes"].get(fn, {})
    wru = sum(r.usage["dynamodb_write_units"].get(fn, {}).values())
    rru = sum(r.usage["dynamodb_read_units"].get(fn, {}).values())
    written = sum(b for op, b in body.items() if op.split(".", 1)[1] in WRITE_OPS)
    compute_ms = np.array([i.compute_s for i in full]) * 1e3
    wall_ms = np.array([i.wall_s for i in full]) * 1e3
    aws_ms = wall_ms - compute_ms
    n_calls = np.array([i.aws_calls for i in full])
    load = os.getloadavg()[0]
    print(
        f"{args.days:g} days: {records:,} records ({r.signals:,} signals, {r.shadow_trades} shadow trades) in "
        f"{len(invs)} batches, {len(full)} warm ones of exactly 100 records"
    )
    print("per 100-record batch (all batches, normalized):")
    for op in sorted(calls):
        print(f"  {op:34s} {calls[op] * per100:6.2f} calls  {body.get(op, 0) * per100 / 1e3:8.1f} kB request body")
    print(
        f"  total {sum(calls.values()) * per100:.2f} calls, {written * per100 / 1e3:.1f} kB written, "
        f"{wru * per100:.1f} DynamoDB WRU, {rru * per100:.2f} RRU"
    )
    print(
        f"handler time excluding AWS (wall - botocore), warm full batches: p50 {np.percentile(compute_ms, 50):.1f} ms, "
        f"p99 {np.percentile(compute_ms, 99):.1f} ms, mean {compute_ms.mean():.1f} ms; first (cold) batch {cold_ms:.0f} ms"
    )
    print(
        f"(wall on the local stack p50 {np.percentile(wall_ms, 50):.1f} ms: {np.median(aws_ms):.1f} ms in "
        f"{np.median(n_calls):.0f} calls to the emulator); load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    figures: dict[str, float] = {
        "batches": float(len(invs)),
        "full_batches": float(len(full)),
        "aws_calls_per_100": round(sum(calls.values()) * per100, 2),
        "bytes_written_per_100": round(written * per100),
        "request_bytes_per_100": round(sum(body.values()) * per100),
        "dynamodb_wru_per_100": round(wru * per100, 2),
        "dynamodb_rru_per_100": round(rru * per100, 2),
        **{f"calls_per_100_{op.replace('.', '_')}": round(n * per100, 2) for op, n in sorted(calls.items())},
        "handler_compute_p50_ms": round(float(np.percentile(compute_ms, 50)), 2),
        "handler_compute_p99_ms": round(float(np.percentile(compute_ms, 99)), 2),
        "handler_compute_cold_first_batch_ms": round(cold_ms, 1),
        "handler_wall_local_p50_ms": round(float(np.percentile(wall_ms, 50)), 2),
        "load_average_1m": round(load, 2),
    }
    print(json.dumps({"benchmark": "handler_cost", "figures": figures}))


if __name__ == "__main__":
    main()
