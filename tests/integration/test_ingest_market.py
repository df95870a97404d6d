"""Market ingest against a local HTTP server speaking Binance's klines format with real FTX bars.

The server also plays the exchange's failures: rate limits (429 with Retry-After), 5xx, and a missing bar.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from huracan.adapters.errors import TransientError
from huracan.adapters.exchange import BinanceKlines
from huracan.adapters.settings import AwsSettings
from huracan.adapters.stream import MarketStream
from huracan.core.bars import BarArrays
from huracan.core.records import parse_record
from huracan.core.strategies import signals_history
from huracan.core.timeutil import from_epoch_s
from huracan.local.aws import EmbeddedAws, embedded_aws
from huracan.service.ingest import ingest_minute


class _Exchange:
    """Serves klines from real bars; ``failures`` is a queue of statuses to answer before succeeding."""

    def __init__(self, bars: BarArrays) -> None:
        self.bars = bars
        self.failures: list[int] = []
        self.missing: set[int] = set()
        self.requests = 0

    def klines(self, end_ms: int, limit: int) -> list[list[Any]]:
        end_s = (end_ms + 1) // 1000
        rows = []
        for i in range(len(self.bars)):
            t = int(self.bars.ts[i])
            if t + 60 <= end_s and t not in self.missing:
                rows.append(
                    [
                        t * 1000,
                        str(self.bars.open[i]),
                        str(self.bars.high[i]),
                        str(self.bars.low[i]),
                        str(self.bars.close[i]),
                        str(self.bars.volume[i]),
                        t * 1000 + 59_999,
                        "0",
                        0,
                        "0",
                        "0",
                        "0",
                    ]
                )
        return rows[-limit:]


@pytest.fixture(scope="module")
def exchange(ftx_month: BarArrays) -> Iterator[tuple[_Exchange, str]]:
    ex = _Exchange(ftx_month.slice(0, 2000))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            ex.requests += 1
            if ex.failures:
                status = ex.failures.pop(0)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(b'{"code":-1003,"msg":"Too many requests"}')
                return
            q = parse_qs(urlparse(self.path).query)
            body = json.dumps(ex.klines(int(q["endTime"][0]), int(q["limit"][0]))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ex, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with embedded_aws() as a:
        yield a


@pytest.fixture
def stream(aws: EmbeddedAws) -> Iterator[MarketStream]:
    aws.reset()
    boto3.client("kinesis").create_stream(StreamName="market", ShardCount=1)
    yield MarketStream("market", AwsSettings(AWS_ENDPOINT_URL=aws.endpoint, AWS_REGION=aws.region))


def _published() -> list[dict[str, Any]]:
    k = boto3.client("kinesis")
    shard = k.describe_stream(StreamName="market")["StreamDescription"]["Shards"][0]["ShardId"]
    it = k.get_shard_iterator(StreamName="market", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [json.loads(r["Data"]) for r in k.get_records(ShardIterator=it, Limit=10_000)["Records"]]


def test_each_minute_publishes_the_closed_bar_and_the_same_signals_as_the_replay(exchange, stream) -> None:
    ex, url = exchange
    source = BinanceKlines(url, backoff_s=0.0)
    bars = ex.bars
    # Given minutes 40..400 of a real day, one invocation per minute (EventBridge's event time)
    for i in range(40, 400):
        ingest_minute(from_epoch_s(int(bars.ts[i]) + 60), ["BTC-PERP"], source, stream)
    out = _published()
    for rec in out:
        parse_record(json.dumps(rec))  # every record is valid on the stream
    got_bars = [r["ts"] for r in out if r["type"] == "bar"]
    assert got_bars == [from_epoch_s(int(bars.ts[i])) for i in range(40, 400)]
    # Then the signals are exactly the replay's for those bars
    hist = signals_history(bars)
    want = sorted(
        (from_epoch_s(int(bars.ts[k]) + 60), s, sd, m)
        for k, s, sd, m in zip(hist.bar_idx, hist.strategy, hist.side, hist.mode, strict=True)
        if 40 <= k < 400
    )
    got = sorted((r["ts"], r["strategy"], r["side"], r["mode"]) for r in out if r["type"] == "signal")
    assert got == want
    assert len(got) > 5


def test_with_the_strategies_disabled_ingest_publishes_bars_only(exchange, stream) -> None:
    # Given the same minutes that made the built-in strategies fire above, on a stack fed by the user's signals
    ex, url = exchange
    source = BinanceKlines(url, backoff_s=0.0)
    fired = {int(k) for k in signals_history(ex.bars).bar_idx if 40 <= k < 400}
    assert fired
    for i in range(40, 400):
        ingest_minute(from_epoch_s(int(ex.bars.ts[i]) + 60), ["BTC-PERP"], source, stream, strategies_enabled=False)
    # Then every bar is published and not one built-in signal
    out = _published()
    assert [r["type"] for r in out] == ["bar"] * 360


def test_rate_limit_and_server_errors_are_retried_without_duplicates(exchange, stream) -> None:
    ex, url = exchange
    ex.failures = [429, 503, 500]
    t = from_epoch_s(int(ex.bars.ts[100]) + 60)
    res = ingest_minute(t, ["BTC-PERP"], BinanceKlines(url, backoff_s=0.0), stream)
    assert res.bars == 1 and not res.gaps
    assert [r["ts"] for r in _published() if r["type"] == "bar"] == [from_epoch_s(int(ex.bars.ts[100]))]


def test_persistent_failure_is_transient_so_lambda_retries(exchange, stream) -> None:
    ex, url = exchange
    ex.failures = [503] * 10
    with pytest.raises(TransientError):
        ingest_minute(
            from_epoch_s(int(ex.bars.ts[100]) + 60), ["BTC-PERP"], BinanceKlines(url, retries=2, backoff_s=0.0), stream
        )
    ex.failures = []
    assert _published() == []


def test_a_missing_bar_is_reported_not_invented(exchange, stream) -> None:
    ex, url = exchange
    ex.missing = {int(ex.bars.ts[199]), int(ex.bars.ts[180])}
    try:
        res = ingest_minute(
            from_epoch_s(int(ex.bars.ts[199]) + 60), ["BTC-PERP"], BinanceKlines(url, backoff_s=0.0), stream
        )
        assert res.gaps["BTC-PERP"] == [from_epoch_s(int(ex.bars.ts[180])), from_epoch_s(int(ex.bars.ts[199]))]
        assert res.published == 0 and _published() == []
        # a bar inside the window missing: the closed bar is published, strategies are skipped
        res = ingest_minute(
            from_epoch_s(int(ex.bars.ts[190]) + 60), ["BTC-PERP"], BinanceKlines(url, backoff_s=0.0), stream
        )
        assert res.bars == 1 and res.signals == 0 and res.gaps["BTC-PERP"] == [from_epoch_s(int(ex.bars.ts[180]))]
    finally:
        ex.missing = set()


def test_handler_reads_its_settings_from_the_template_environment(moto_aws, exchange) -> None:
    """The deployed function's variables (INGEST_SYMBOLS, EXCHANGE_API_URL, ...) are what the handler reads."""
    from huracan.adapters.settings import IngestSettings
    from huracan.local.template import load_template

    env = load_template()["Resources"]["IngestMarketFunction"]["Properties"]["Environment"]["Variables"]
    assert {"INGEST_SYMBOLS", "EXCHANGE_API_URL", "STRATEGIES_ENABLED"} <= set(env)
    _, url = exchange
    s = IngestSettings.from_env(
        {"MARKET_STREAM_NAME": "market", "INGEST_SYMBOLS": "BTCUSDT,ETHUSDT", "EXCHANGE_API_URL": url}
    )
    assert s.symbols == ["BTCUSDT", "ETHUSDT"] and s.strategies_enabled
