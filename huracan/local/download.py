"""Fetching a month of 1-minute bars from Binance's public data archive when no local file is there.

Only used when ``--data``, ``$HURACAN_DATA`` and ``../shared/data`` all fail. The files are cached under
``~/.cache/huracan``; on a machine without internet the error says exactly how to pass a file instead.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import urllib3

from huracan.data import DataFileError

__all__ = ["ARCHIVE_URL", "download_default_month"]

ARCHIVE_URL = "https://data.binance.vision/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2022-01.zip"


def download_default_month(cache: Path | None = None) -> Path:
    """BTCUSDT 1m for January 2022 as ``ts,open,high,low,close,volume`` CSV in the cache."""
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huracan"
    target = cache / "binance_BTCUSDT_1m_2022-01.csv"
    if target.is_file():
        return target
    try:
        resp = urllib3.PoolManager(timeout=urllib3.Timeout(total=30)).request("GET", ARCHIVE_URL, retries=2)
    except urllib3.exceptions.HTTPError as exc:
        raise DataFileError(
            f"could not download {ARCHIVE_URL} ({exc}); pass --data FILE (an OHLCV CSV/Parquet with columns "
            "ts,open,high,low,close,volume) or set HURACAN_DATA to a folder holding "
            "ftx_BTC-PERP_1m_20220101-20220201.csv.gz"
        ) from exc
    if resp.status != 200:
        raise DataFileError(f"{ARCHIVE_URL}: HTTP {resp.status}; pass --data FILE or set HURACAN_DATA")
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        raw = zf.read(zf.namelist()[0]).decode()
    lines = ["ts,open,high,low,close,volume"]
    from huracan.core.timeutil import from_epoch_s

    for row in raw.splitlines():
        f = row.split(",")
        if not f or not f[0].isdigit():
            continue
        t = int(f[0])
        t = t // 1000 if t < 10**14 else t // 1_000_000  # ms, or µs in the newer archive files
        lines.append(",".join([from_epoch_s(t), f[1], f[2], f[3], f[4], f[5]]))
    cache.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n")
    return target
