"""The AWS cost model's figures from a short real replay (``huracan cost`` on freshly metered counts).

Half a real day of the FTX month (12:00 to 24:00 UTC, so the 23:00 daily summary runs) (demo profile: it opens shadow trades, so the per-trade cost is measured)
is replayed through the local stack with *one-minute* windows: the poller then drains the stream every
minute, so the handler sees what it would live (a bar and its signals per invocation) rather than the
demo's hourly batches, and the Lambda request count is the live one. The counts are priced by
``huracan.cost.price`` with ``huracan/config/aws_prices.toml`` and template.yaml, and projected to the seed's
volumes (one stream, 200 shadow trades a day). Goals: <= $2 per million signals at the margin, <= $15 a month.

The every-minute market ingest is not in the replay (the replay publishes the records itself); after it,
``--ingest-runs`` scheduled events run the real ``IngestMarketFunction`` handler against a loopback exchange
serving the FTX month (``huracan.local.metering.LocalKlines``), so its compute, calls, logs and metrics are
measured, and the cost model bills them as often as template.yaml's schedule fires. The meter records which
function sent each custom metric and how often (CloudWatch bills a metric by the hours it gets data); the
stack's default ``MetricsLevel``, ``essential``, is what is measured.

    .venv/bin/python benchmarks/cost.py [--days 0.5] [--ingest-runs 60] [--usage-out /tmp/huracan-cost-usage.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from huracan.cost import Target, format_report, load_prices, price, stack_shape
from huracan.local.metering import metered_replay

DAYS = 0.5
INGEST_RUNS = 60


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=DAYS, help="days of the FTX month to replay")
    ap.add_argument("--first-day", type=float, default=0.5, help="where the replay starts (days into the month)")
    ap.add_argument("--ingest-runs", type=int, default=INGEST_RUNS, help="scheduled ingest runs measured (warm)")
    ap.add_argument("--usage-out", type=Path, default=Path("/tmp/huracan-cost-usage.json"))
    args = ap.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("huracan.local.runtime").setLevel(logging.ERROR)
    # 12:00-24:00 of the first day: the 23:00 daily summary runs, so its cost and custom metrics are measured
    r = metered_replay(args.days, "demo", first_day=args.first_day, window_s=60, ingest_runs=args.ingest_runs)
    args.usage_out.write_text(json.dumps(r.usage, indent=1))
    prices = load_prices()
    report = price(r.usage, prices, stack_shape(), Target())
    print(format_report(report, prices=prices))
    print(f"usage: {args.usage_out} (price it again with `huracan cost {args.usage_out}`)")
    m_name, m_share = report.dominant(report.monthly_by_component)
    s_name, s_share = report.dominant(report.margin_by_component)
    print(f"dominant: monthly {m_name} ({m_share:.0%}); per signal {s_name} ({s_share:.0%})")
    print(
        "custom metrics sent: "
        + ", ".join(
            f"{m['name']}[{m['dimensions']}] x{m['emissions']} by {m['caller']}"
            for m in r.usage["cloudwatch"]["metrics"]
        )
    )
    ingest = r.scheduled_runs
    ingest_ms = 1e3 * sum(i.compute_s for i in ingest) / max(1, len(ingest))
    if ingest:
        print(
            f"ingest (measured on its own, {len(ingest)} warm runs): compute {ingest_ms:.1f} ms a run, "
            f"{sum(i.aws_calls for i in ingest) / len(ingest):g} AWS + {sum(i.external_calls for i in ingest) / len(ingest):g}"
            f" exchange calls a run, {sum(i.log_bytes for i in ingest) / len(ingest):.0f} log bytes a run"
        )
    figures = {
        **report.figures(),
        "monthly_dominant_share": round(m_share, 3),
        "margin_dominant_share": round(s_share, 3),
        "lambda_invocations_per_record": round(
            r.usage["lambda"].get("EvaluateSignalsFunction", {}).get("invocations", 0) / max(1, r.records), 3
        ),
        "replay_days": r.window_days,
        "custom_metrics": r.usage["cloudwatch"]["custom_metrics"],
        "ingest_compute_ms": round(ingest_ms, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps({"benchmark": "cost", "figures": figures}))


if __name__ == "__main__":
    main()
