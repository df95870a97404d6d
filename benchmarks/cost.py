"""The AWS cost model's figures from a short real replay (``huracan cost`` on freshly metered counts).

Half a real day of the FTX month (12:00 to 24:00 UTC, so the 23:00 daily summary runs) (demo profile: it opens shadow trades, so the per-trade cost is measured)
is replayed through the local stack with *one-minute* windows: the poller then drains the stream every
minute, so the handler sees what it would live (a bar and its signals per invocation) rather than the
demo's hourly batches, and the Lambda request count is the live one. The counts are priced by
``huracan.cost.price`` with ``huracan/config/aws_prices.toml`` and template.yaml, and projected to the seed's
volumes (one stream, 200 shadow trades a day). Goals: <= $2 per million signals at the margin, <= $15 a month.

CloudWatch bills a custom metric by the hours it receives data, so the model needs to know which function sent
each metric and how often; :func:`attributed_metrics` records that next to the meter's own count (the stack's
default ``MetricsLevel``, ``essential``, is what is measured).

    .venv/bin/python benchmarks/cost.py [--days 0.5] [--usage-out /tmp/huracan-cost-usage.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from huracan.cost import Target, format_report, load_prices, price, stack_shape
from huracan.local.metering import AwsMeter, metered_replay

DAYS = 0.5


@contextlib.contextmanager
def attributed_metrics() -> Iterator[dict[tuple[str, str, str], dict[str, Any]]]:
    """Per custom metric (namespace, name, dimensions): the function whose handler printed it, and how often.

    The meter (``huracan.local.metering``, not this benchmark's to change) counts distinct EMF metrics but not
    their senders; this wraps its log hook for the replay's duration and reads the same EMF documents.
    """
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    original: Callable[[AwsMeter, str], None] = getattr(AwsMeter, "_log")  # noqa: B009 - private hook

    def _log(meter: AwsMeter, text: str) -> None:
        original(meter, text)
        if '"_aws"' not in text:
            return
        invocation = getattr(meter._local, "invocation", None)
        caller = invocation.function if invocation is not None else "harness"
        for line in text.splitlines():
            try:
                doc = json.loads(line)
                directives = doc["_aws"]["CloudWatchMetrics"]
            except (ValueError, KeyError, TypeError):
                continue
            for d in directives:
                for dims in d.get("Dimensions", [[]]):
                    dim = ",".join(f"{k}={doc.get(k)}" for k in dims)
                    for m in d.get("Metrics", []):
                        entry = seen.setdefault((str(d.get("Namespace")), str(m.get("Name")), dim), {"caller": caller})
                        entry["emissions"] = entry.get("emissions", 0) + 1

    setattr(AwsMeter, "_log", _log)  # noqa: B010 - patched on purpose, restored below
    try:
        yield seen
    finally:
        setattr(AwsMeter, "_log", original)  # noqa: B010


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=DAYS)
    ap.add_argument("--first-day", type=float, default=0.5)
    ap.add_argument("--usage-out", type=Path, default=Path("/tmp/huracan-cost-usage.json"))
    args = ap.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("huracan.local.runtime").setLevel(logging.ERROR)
    # 12:00-24:00 of the first day: the 23:00 daily summary runs, so its custom metrics are counted too
    with attributed_metrics() as sent:
        r = metered_replay(args.days, "demo", first_day=args.first_day, window_s=60)
    r.usage["cloudwatch"]["metrics"] = [
        {"namespace": ns, "name": name, "dimensions": dims, **info} for (ns, name, dims), info in sorted(sent.items())
    ]
    args.usage_out.write_text(json.dumps(r.usage, indent=1))
    report = price(r.usage, load_prices(), stack_shape(), Target())
    print(format_report(report))
    print(f"usage: {args.usage_out} (price it again with `huracan cost {args.usage_out}`)")
    m_name, m_share = report.dominant(report.monthly_by_component)
    s_name, s_share = report.dominant(report.margin_by_component)
    print(f"dominant: monthly {m_name} ({m_share:.0%}); per signal {s_name} ({s_share:.0%})")
    print(
        "custom metrics sent: "
        + ", ".join(f"{m['name']}[{m['dimensions']}] x{m['emissions']}" for m in r.usage["cloudwatch"]["metrics"])
    )
    figures = {
        **report.figures(),
        "monthly_dominant_share": round(m_share, 3),
        "margin_dominant_share": round(s_share, 3),
        "lambda_invocations_per_record": round(
            r.usage["lambda"].get("EvaluateSignalsFunction", {}).get("invocations", 0) / max(1, r.records), 3
        ),
        "replay_days": r.window_days,
        "custom_metrics": len(r.usage["cloudwatch"]["metrics"]),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps({"benchmark": "cost", "figures": figures}))


if __name__ == "__main__":
    main()
