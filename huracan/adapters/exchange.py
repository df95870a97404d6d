"""An exchange's public REST klines endpoint (Binance format), with retries that respect rate limits.

The engine only reads public market data; it never places orders. ``urllib3`` (already shipped with
botocore, so no extra layer weight) does the retrying: 429/418 honour ``Retry-After``, 5xx and connection
errors back off exponentially, and what is still failing after that is a :class:`TransientError`, so the
scheduled invocation is retried by Lambda rather than publishing a guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.util.retry import Retry

from huracan.adapters.errors import PermanentError, TransientError

__all__ = ["BinanceKlines", "Kline"]


@dataclass(frozen=True, slots=True)
class Kline:
    """One closed 1-minute bar as the exchange reports it (times in epoch seconds)."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def _parse(row: Any) -> Kline:
    try:
        return Kline(
            open_time=int(row[0]) // 1000,
            open=float(row[1]),
            high=float(row[2]),
            low=float(row[3]),
            close=float(row[4]),
            volume=float(row[5]),
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise PermanentError(f"malformed kline row {row!r}: {exc}") from exc


class BinanceKlines:
    """``GET /api/v3/klines`` on any host speaking Binance's format (or a local test server)."""

    def __init__(self, base_url: str, retries: int = 4, backoff_s: float = 0.5, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        retry = Retry(
            total=retries,
            backoff_factor=backoff_s,
            status_forcelist=(418, 429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.http = urllib3.PoolManager(retries=retry, timeout=urllib3.Timeout(total=timeout_s))
        self.requests = 0

    def fetch(self, symbol: str, end_time_s: int, limit: int) -> list[Kline]:
        """Bars whose open time is before ``end_time_s``, oldest first (at most ``limit``)."""
        url = f"{self.base_url}/api/v3/klines"
        fields = {"symbol": symbol, "interval": "1m", "endTime": str(end_time_s * 1000 - 1), "limit": str(limit)}
        self.requests += 1
        try:
            resp = self.http.request("GET", url, fields=fields)
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(f"klines {symbol}: {exc}") from exc
        if resp.status in (418, 429) or resp.status >= 500:
            raise TransientError(f"klines {symbol}: HTTP {resp.status} after retries")
        if resp.status != 200:
            raise PermanentError(f"klines {symbol}: HTTP {resp.status}: {resp.data[:200]!r}")
        try:
            rows = json.loads(resp.data)
        except ValueError as exc:
            raise TransientError(f"klines {symbol}: response is not JSON") from exc
        if not isinstance(rows, list):
            raise PermanentError(f"klines {symbol}: expected a list, got {type(rows).__name__}")
        klines = [_parse(r) for r in rows]
        return [k for k in klines if k.open_time + 60 <= end_time_s]
