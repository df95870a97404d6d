"""Reading bar files (CSV, gzip CSV, Parquet) into :class:`~huracan.core.bars.BarArrays`.

Real market data is never copied into the repository: it is found through ``--data``, ``$HURACAN_DATA``
or ``../shared/data`` beside the checkout. A bad row is reported with file, line and column, and nothing
is returned half-read.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from huracan.core.bars import BarArrays
from huracan.core.features import BAR_SEC

__all__ = ["DEFAULT_MONTH", "DataFileError", "find_data_dir", "find_data_file", "load_bars", "load_minute_bars"]

DEFAULT_MONTH = "ftx_BTC-PERP_1m_20220101-20220201.csv.gz"
_OHLCV = ("ts", "open", "high", "low", "close", "volume")
_QUOTES = ("bid_close", "ask_close")


class DataFileError(ValueError):
    """A bar file is missing or malformed; the message names the file, line and column."""


def find_data_dir() -> Path:
    """``$HURACAN_DATA``, else ``../shared/data`` beside the checkout; a clear error if neither exists."""
    env = os.environ.get("HURACAN_DATA")
    candidates = [Path(env)] if env else []
    repo = Path(__file__).resolve().parent.parent
    candidates += [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    raise DataFileError(
        "market data not found: pass --data FILE, set HURACAN_DATA to a folder of bar files, or put the "
        f"shared data at {repo.parent / 'shared' / 'data'}"
    )


def find_data_file(name: str = DEFAULT_MONTH) -> Path:
    """A named file from the data folder, with the folder's path in the error when it is not there."""
    folder = find_data_dir()
    path = folder / name
    if not path.is_file():
        raise DataFileError(f"{name} not found in {folder}; pass --data FILE or set HURACAN_DATA")
    return path


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, EOFError, zlib.error) as exc:  # EOFError / zlib.error: a truncated .gz
        raise DataFileError(f"{path}: cannot read: {exc}") from exc


def _numeric(frame: pd.DataFrame, col: str, path: Path, *, positive: bool) -> np.ndarray:
    raw = frame[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | ((values <= 0) if positive else (values < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rule = "a positive number" if positive else "a non-negative number"
        raise DataFileError(f"{path}: line {i + 2}, column {col!r}: {raw.iloc[i]!r} is not {rule}")
    return values


def load_bars(path: str | Path, quotes: str | Path | None = None) -> BarArrays:
    """Load an OHLCV file (optionally with ``bid``/``ask`` or ``bid_close``/``ask_close`` columns).

    ``quotes`` names a quote-bar file (``ts,bid_*,ask_*``) whose closing bid/ask are joined on ``ts``;
    bars without a quote keep NaN there, so the spread feature falls back to its estimator.
    """
    path = Path(path)
    frame = _read_frame(path)
    if quotes is not None:
        qpath = Path(quotes)
        qframe = _read_frame(qpath)
        missing_q = [c for c in ("ts", *_QUOTES) if c not in qframe.columns]
        if missing_q:
            raise DataFileError(f"{qpath}: missing column(s) {missing_q} for a quote-bar file")
        frame = frame.drop(columns=[c for c in ("bid", "ask", *_QUOTES) if c in frame.columns])
        qframe = qframe[["ts", *_QUOTES]].copy()
        qframe["ts"] = pd.to_datetime(qframe["ts"], utc=True, format="ISO8601")
        frame["_t"] = pd.to_datetime(frame["ts"], utc=True, errors="coerce", format="ISO8601")
        frame = frame.merge(qframe.rename(columns={"ts": "_t"}), on="_t", how="left").drop(columns="_t")
        frame[list(_QUOTES)] = frame[list(_QUOTES)].fillna("")
    missing = [c for c in _OHLCV if c not in frame.columns]
    if missing:
        raise DataFileError(f"{path}: missing column(s) {missing}; expected header {','.join(_OHLCV)}")
    if len(frame) == 0:
        raise DataFileError(f"{path}: no rows")
    ts = pd.to_datetime(frame["ts"], utc=True, errors="coerce", format="ISO8601")
    if ts.isna().any():
        i = int(np.flatnonzero(ts.isna().to_numpy())[0])
        raise DataFileError(f"{path}: line {i + 2}, column 'ts': {frame['ts'].iloc[i]!r} is not an ISO-8601 time")
    ts_s = ((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
    if len(ts_s) > 1:
        step = np.diff(ts_s)
        if (step <= 0).any():
            i = int(np.flatnonzero(step <= 0)[0]) + 1
            raise DataFileError(f"{path}: line {i + 2}, column 'ts': not after the previous row (sorted, unique)")
    cols = {c: _numeric(frame, c, path, positive=c != "volume") for c in _OHLCV[1:]}
    hi_bad = cols["high"] < np.maximum.reduce([cols["open"], cols["close"], cols["low"]])
    lo_bad = cols["low"] > np.minimum(cols["open"], cols["close"])
    for mask, col in ((hi_bad, "high"), (lo_bad, "low")):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise DataFileError(f"{path}: line {i + 2}, column {col!r}: inconsistent with open/close")
    bid = ask = None
    for bcol, acol in (("bid", "ask"), _QUOTES):
        if bcol in frame.columns and acol in frame.columns:
            present = (frame[bcol].astype(str) != "") & (frame[acol].astype(str) != "")
            bid = np.full(len(frame), np.nan)
            ask = np.full(len(frame), np.nan)
            bid[present.to_numpy()] = _numeric(frame[present], bcol, path, positive=True)
            ask[present.to_numpy()] = _numeric(frame[present], acol, path, positive=True)
            break
    return BarArrays.from_columns(
        ts_s, cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], bid, ask
    )


def load_minute_bars(path: str | Path, days: float | None = None, *, quotes: str | Path | None = None) -> BarArrays:
    """A file to replay or archive: 1-minute bars (checked), optionally only its first ``days`` days.

    Why refuse other intervals rather than replay them: every window in the engine is a count of bars of
    ``huracan.core.features.BAR_SEC`` (features' lookbacks, the barriers' timeouts, the resolver's "no gap"
    rule), so hourly bars would run without an error and mean nothing. Gaps are fine (outages, separate
    days); the median step is what must be one bar.
    """
    bars = load_bars(path, quotes)
    if len(bars) > 1:
        step = float(np.median(np.diff(bars.ts)))
        if step != BAR_SEC:
            raise DataFileError(
                f"{path}: bars are {step:g} s apart (median), not {BAR_SEC} s; Huracan's features, gates and "
                "barriers are defined on 1-minute bars: resample the file to 1 minute or pass a 1-minute file"
            )
    if days is not None:
        bars = bars.slice(0, int((bars.ts < int(bars.ts[0]) + days * 86_400).sum()))
    return bars
