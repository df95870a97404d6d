"""A user's signals file: one contract with the stream, no look-ahead, bad rows named by file, line, column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from huracan.core.bars import BarArrays
from huracan.core.features import BAR_SEC, features_history
from huracan.core.records import InvalidRecord, Signal, parse_record
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.data import DataFileError, find_data_file, load_minute_bars
from huracan.local.replay import build_records
from huracan.signals import load_signals_file
from huracan.signals.schema import SCHEMA_PATH, schema_text

BYBIT = "bybit_BTCUSDT_1m_20221213.csv.gz"


@pytest.fixture(scope="module")
def bars() -> BarArrays:
    return load_minute_bars(find_data_file(BYBIT))


def _csv(tmp_path: Path, rows: list[dict[str, object]], name: str = "signals.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


ROW = {"ts": "2022-12-13T01:00:00Z", "symbol": "BTCUSDT", "side": "long", "mode": "scalp", "confidence": 0.7}


def test_the_schema_file_is_the_models_schema() -> None:
    assert SCHEMA_PATH.read_text("utf-8") == schema_text(), "python -m huracan.signals.schema --write"


def test_the_file_loader_and_the_stream_parser_agree(tmp_path: Path, bars: BarArrays) -> None:
    # Given rows of every accepted shape: ISO and epoch-ms times, with and without the optional fields
    rows = [
        dict(ROW),
        {**ROW, "ts": str(int(epoch_s("2022-12-13T02:00:30Z") * 1000)), "side": "short"},
        {**ROW, "ts": "2022-12-13T03:00:00+01:00", "signal_id": "mine-1", "strategy": "carry", "price": 17100.5},
    ]
    path = _csv(tmp_path, rows)
    # When the file is loaded and its rows travel as stream records
    loaded = load_signals_file(path)
    placed = loaded.placed({"BTCUSDT": bars})
    records = [
        r.payload for r in build_records(bars, "BTCUSDT", placed(bars, "BTCUSDT")) if r.payload["type"] == "signal"
    ]
    parsed = [parse_record(json.dumps(p)) for p in records]
    # Then the stream parser reads back every signal as the loader validated it (price filled from the bars)
    assert [p.signal_id for p in parsed] == [s.signal_id for s in loaded.signals]
    for file_sig, stream_sig in zip(loaded.signals, parsed, strict=True):
        assert isinstance(stream_sig, Signal)
        assert stream_sig.model_dump(exclude={"price"}) == file_sig.model_dump(exclude={"price"})
    assert loaded.signals[0].ts == "2022-12-13T01:00:00Z" and loaded.signals[1].ts == "2022-12-13T02:00:00Z"
    # and a row either side rejects is rejected by both: a confidence above 1
    with pytest.raises(InvalidRecord, match="confidence"):
        parse_record(json.dumps({**ROW, "type": "signal", "confidence": 1.5}))
    with pytest.raises(DataFileError, match="confidence"):
        load_signals_file(_csv(tmp_path, [{**ROW, "confidence": 1.5}], "bad.csv"))


def test_no_signal_sees_a_bar_that_closed_after_its_ts(tmp_path: Path, bars: BarArrays) -> None:
    # Given signals at every second offset inside a minute, and on the minute
    t0 = int(epoch_s("2022-12-13T05:00:00Z"))
    offsets = [0, 1, 29, 30, 59, 60, 61, 119]
    rows = [{**ROW, "ts": from_epoch_s(t0 + o), "strategy": f"s{o}"} for o in offsets]
    placed = load_signals_file(_csv(tmp_path, rows)).placed({"BTCUSDT": bars})
    sig = placed(bars, "BTCUSDT")
    history = features_history(bars)
    for j, o in enumerate(offsets):
        k = int(sig.bar_idx[j])
        t = t0 + o
        # Then the bar it is evaluated on closed at or before ts, and the next bar had not closed yet
        assert int(bars.ts[k]) + BAR_SEC <= t < int(bars.ts[k + 1]) + BAR_SEC
        # and its features are those of the bars up to k only: recomputing on a history cut at k gives the same
        cut = features_history(bars.slice(0, k + 1))
        np.testing.assert_array_equal(cut[k], history[k])
        # and without a price it enters at the first price after ts: the open of the first bar opening at/after ts
        j_entry = int(np.searchsorted(bars.ts, t, side="left"))
        assert int(bars.ts[j_entry]) >= t and sig.price is not None and sig.price[j] == bars.open[j_entry]
    # and the stream carries each signal after the bars that closed by its ts, before any that closed later
    records = build_records(bars, "BTCUSDT", sig)
    seen_close = 0
    for r in records:
        if r.payload["type"] == "bar":
            seen_close = int(epoch_s(r.payload["ts"])) + BAR_SEC
        else:
            assert seen_close <= epoch_s(r.payload["ts"]) < seen_close + BAR_SEC


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ({**ROW, "side": "buy"}, "side"),
        ({**ROW, "mode": "swing"}, "mode"),
        ({**ROW, "confidence": "high"}, "confidence"),
        ({**ROW, "ts": "2022-12-13 01:00"}, "ts"),
        ({**ROW, "price": -5}, "price"),
        ({**ROW, "symbol": "BTC USDT"}, "symbol"),
    ],
)
def test_a_bad_row_is_refused_naming_file_line_and_column(tmp_path: Path, row: dict[str, object], column: str) -> None:
    path = _csv(tmp_path, [ROW, {**ROW, "ts": "2022-12-13T01:01:00Z"}, row])
    with pytest.raises(DataFileError) as info:
        load_signals_file(path)
    msg = str(info.value)
    assert str(path) in msg and "line 4" in msg and f"column {column!r}" in msg


def test_unknown_and_missing_columns_and_repeated_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="column 'confidenc'"):
        load_signals_file(_csv(tmp_path, [{**{k: v for k, v in ROW.items() if k != "confidence"}, "confidenc": 0.7}]))
    with pytest.raises(DataFileError, match=r"missing column\(s\) \['mode'\]"):
        load_signals_file(_csv(tmp_path, [{k: v for k, v in ROW.items() if k != "mode"}]))
    with pytest.raises(DataFileError, match=r"line 3, column 'signal_id'.*repeats line 2"):
        load_signals_file(_csv(tmp_path, [ROW, ROW]))


def test_declared_features_travel_in_the_features_object(tmp_path: Path) -> None:
    path = _csv(tmp_path, [{**ROW, "imbalance": 0.25}, {**ROW, "ts": "2022-12-13T01:05:00Z", "imbalance": ""}])
    loaded = load_signals_file(path, extra_features=("imbalance",))
    assert loaded.signals[0].features == {"imbalance": 0.25} and loaded.signals[1].features is None
    with pytest.raises(DataFileError, match="line 2, column 'imbalance'"):
        load_signals_file(_csv(tmp_path, [{**ROW, "imbalance": "lots"}], "f.csv"), extra_features=("imbalance",))


def test_a_symbol_without_bars_is_refused_by_name_and_outside_signals_are_counted(
    tmp_path: Path, bars: BarArrays
) -> None:
    rows = [ROW, {**ROW, "symbol": "ETHUSDT"}]
    with pytest.raises(DataFileError, match=r"symbol\(s\) \['ETHUSDT'\] but no bars"):
        load_signals_file(_csv(tmp_path, rows)).placed({"BTCUSDT": bars})
    # Given signals before the first bar closed and after the last bar opened
    early = {**ROW, "ts": from_epoch_s(int(bars.ts[0]) + 30)}
    late = {**ROW, "ts": from_epoch_s(int(bars.ts[-1]) + 5)}
    placed = load_signals_file(_csv(tmp_path, [ROW, early, late], "span.csv")).placed({"BTCUSDT": bars})
    # Then they are counted, not silently dropped
    assert placed.outside == {"BTCUSDT": 2} and placed.total == 1


def test_parquet_files_load_like_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame([ROW, {**ROW, "ts": "2022-12-13T01:05:00Z", "side": "short"}])
    pq_path = tmp_path / "s.parquet"
    frame.to_parquet(pq_path)
    a = load_signals_file(pq_path)
    b = load_signals_file(_csv(tmp_path, frame.to_dict(orient="records")))
    assert [s.model_dump() for s in a.signals] == [s.model_dump() for s in b.signals]
