"""``huracan replay --stack NAME``: publish a bar file's records to a deployed stack's stream.

How a user backfills at scale: the same records the local replay sends (bars, then the signals their close
triggered, in time order) go to the stack's Kinesis stream, partitioned by symbol, and the deployed
evaluate_signals function does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import boto3

from huracan.adapters.stack_outputs import stack_environment
from huracan.core.strategies import signals_history
from huracan.data import load_minute_bars
from huracan.local.replay import build_records, put_records

__all__ = ["Published", "publish_to_stack"]


@dataclass(frozen=True)
class Published:
    stream: str
    records: int
    bars: int
    signals: int


def publish_to_stack(
    path: Path,
    symbol: str,
    stack_name: str,
    *,
    days: int | None = None,
    endpoint_url: str | None = None,
    quotes: Path | None = None,
) -> Published:
    """Validate the whole file first (nothing is sent from a bad file), then put every record in order."""
    bars = load_minute_bars(path, days, quotes=quotes)
    env = stack_environment(stack_name, endpoint_url)
    stream = env["MARKET_STREAM_NAME"]
    records = build_records(bars, symbol, signals_history(bars))
    kinesis = boto3.client("kinesis", endpoint_url=endpoint_url) if endpoint_url else boto3.client("kinesis")
    sent = put_records(kinesis, stream, records)
    n_signals = sum(1 for r in records if r.payload["type"] == "signal")
    return Published(stream=stream, records=sent, bars=len(bars), signals=n_signals)
