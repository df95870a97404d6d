"""Data files given to ``huracan replay`` / ``backfill``: a bad row is named by file, line and column, and
nothing is half-written (issue 9, input validation). Files are small CSVs made from real FTX rows."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from huracan.core.bars import BarArrays
from huracan.core.timeutil import from_epoch_s
from huracan.data import DataFileError, load_bars, load_minute_bars
from huracan.learning.archive_jobs import backfill

HEADER = "ts,open,high,low,close,volume"


def _rows(bars: BarArrays, n: int = 12) -> list[str]:
    return [
        f"{from_epoch_s(int(bars.ts[i]))},{bars.open[i]},{bars.high[i]},{bars.low[i]},{bars.close[i]},{bars.volume[i]}"
        for i in range(n)
    ]


def _write(path: Path, lines: list[str], *, gz: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _set(row: str, column: str, value: str) -> str:
    cells = row.split(",")
    cells[HEADER.split(",").index(column)] = value
    return ",".join(cells)


@pytest.mark.parametrize(
    ("row_index", "column", "value"),
    [
        (4, "close", "abc"),  # not a number
        (7, "open", "-1"),  # negative price
        (2, "volume", "-5"),  # negative volume
        (9, "high", "1"),  # high below open/close
        (5, "ts", "2022-13-45T00:00:00Z"),  # not a time
        (3, "close", "inf"),  # not finite
        (6, "low", ""),  # empty cell
    ],
)
@pytest.mark.parametrize("gz", [False, True], ids=["csv", "csv.gz"])
def test_a_bad_row_is_named_by_file_line_and_column(
    tmp_path: Path, ftx_month: BarArrays, row_index: int, column: str, value: str, gz: bool
) -> None:
    rows = _rows(ftx_month)
    rows[row_index] = _set(rows[row_index], column, value)
    path = _write(tmp_path / ("bars.csv.gz" if gz else "bars.csv"), [HEADER, *rows], gz=gz)
    with pytest.raises(DataFileError) as exc:
        load_bars(path)
    msg = str(exc.value)
    assert str(path) in msg and f"line {row_index + 2}" in msg and repr(column) in msg, msg


def test_out_of_order_and_duplicate_rows_name_the_line(tmp_path: Path, ftx_month: BarArrays) -> None:
    rows = _rows(ftx_month)
    rows[8] = rows[7]
    path = _write(tmp_path / "dup.csv", [HEADER, *rows])
    with pytest.raises(DataFileError, match=r"line 10, column 'ts'"):
        load_bars(path)


def test_missing_columns_empty_files_and_missing_files_are_named(tmp_path: Path, ftx_month: BarArrays) -> None:
    no_volume = _write(tmp_path / "a.csv", ["ts,open,high,low,close", *[r.rsplit(",", 1)[0] for r in _rows(ftx_month)]])
    with pytest.raises(DataFileError, match=r"a\.csv: missing column\(s\) \['volume'\]"):
        load_bars(no_volume)
    with pytest.raises(DataFileError, match=r"b\.csv: no rows"):
        load_bars(_write(tmp_path / "b.csv", [HEADER]))
    with pytest.raises(DataFileError, match=r"nope\.csv: no such file"):
        load_bars(tmp_path / "nope.csv")
    broken = tmp_path / "c.csv.gz"
    broken.write_bytes(gzip.compress(b"ts,open\n")[:-6])
    with pytest.raises(DataFileError, match=r"c\.csv\.gz: cannot read"):
        load_bars(broken)


def test_a_bad_quote_row_is_named_in_the_quote_file(tmp_path: Path, ftx_month: BarArrays) -> None:
    bars = _write(tmp_path / "bars.csv", [HEADER, *_rows(ftx_month)])
    quotes = ["ts,bid_close,ask_close"] + [
        f"{from_epoch_s(int(ftx_month.ts[i]))},{ftx_month.close[i] - 1},{ftx_month.close[i] + 1}" for i in range(12)
    ]
    quotes[4] = quotes[4].rsplit(",", 1)[0] + ",-3"
    # (the message names the bars file and its line where the quote joins; see the report)
    with pytest.raises(DataFileError, match=r"line 5, column 'ask_close': '-3'"):
        load_bars(bars, quotes=_write(tmp_path / "quotes.csv", quotes))


class _RecordingArchive:
    """Stands in for the S3 bar archive: records every write backfill attempts."""

    bucket = "test-bucket"

    def __init__(self) -> None:
        self.writes: list[Any] = []

    def put_bars(self, symbol: str, bars: BarArrays) -> dict[str, int]:
        self.writes.append((symbol, len(bars)))
        return {"2022-01-01": len(bars)}


def test_backfill_of_a_file_with_one_bad_row_writes_nothing(tmp_path: Path, ftx_month: BarArrays) -> None:
    rows = _rows(ftx_month, 200)
    rows[150] = _set(rows[150], "close", "n/a")  # far into the file: the first 150 rows are fine
    path = _write(tmp_path / "bars.csv", [HEADER, *rows])
    archive = _RecordingArchive()
    with pytest.raises(DataFileError, match=r"line 152, column 'close'"):
        backfill(path, "BTC-PERP", "test-bucket", archive=archive)  # type: ignore[arg-type]
    assert archive.writes == []
    good = _write(tmp_path / "good.csv", [HEADER, *_rows(ftx_month, 200)])
    assert backfill(good, "BTC-PERP", "test-bucket", archive=archive).rows_read == 200  # type: ignore[arg-type]
    assert archive.writes == [("BTC-PERP", 200)]


def test_only_one_minute_bars_are_replayed_or_archived(tmp_path: Path, ftx_month: BarArrays) -> None:
    # Given the same real bars, once as they are and once keeping every 60th (hourly spacing)
    minute = _write(tmp_path / "minute.csv", [HEADER, *_rows(ftx_month, 600)])
    hourly = _write(tmp_path / "hourly.csv", [HEADER, *_rows(ftx_month, 600)[::60]])
    # Then the minute file loads (and --days cuts it), the hourly one is refused naming its spacing
    assert len(load_minute_bars(minute)) == 600
    assert len(load_minute_bars(minute, days=0.25)) == 360
    with pytest.raises(DataFileError, match=r"hourly\.csv: bars are 3600 s apart \(median\), not 60 s"):
        load_minute_bars(hourly)
    archive = _RecordingArchive()
    with pytest.raises(DataFileError, match="1-minute bars"):
        backfill(hourly, "BTC-PERP", "test-bucket", archive=archive)  # type: ignore[arg-type]
    assert archive.writes == []
