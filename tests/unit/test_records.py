"""Stream records: anything malformed is a permanent error whose reason names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huracan.core.records import Bar, InvalidRecord, Signal, parse_record

BAR: dict[str, Any] = {
    "type": "bar",
    "symbol": "BTC-USD",
    "ts": "2022-01-03T14:05:00Z",
    "open": 46000.0,
    "high": 46100.0,
    "low": 45900.0,
    "close": 46050.0,
    "volume": 12.5,
}
SIGNAL: dict[str, Any] = {
    "type": "signal",
    "signal_id": "momentum_breakout.ETH-USD.20220103T140600Z",
    "symbol": "ETH-USD",
    "ts": "2022-01-03T14:06:00Z",
    "side": "long",
    "mode": "scalp",
    "confidence": 0.78,
    "price": 2045.50,
    "strategy": "momentum_breakout",
}


def _reject(record: dict[str, Any] | str | bytes) -> InvalidRecord:
    data = record if isinstance(record, str | bytes) else json.dumps(record)
    with pytest.raises(InvalidRecord) as info:
        parse_record(data)
    return info.value


def test_valid_records_parse() -> None:
    bar = parse_record(json.dumps({**BAR, "bid": 46049.0, "ask": 46051.0}))
    assert isinstance(bar, Bar) and bar.bid == 46049.0
    sig = parse_record(json.dumps(SIGNAL).encode())
    assert isinstance(sig, Signal) and sig.confidence == 0.78
    # a non-UTC offset is normalised to Z
    assert parse_record(json.dumps({**BAR, "ts": "2022-01-03T15:05:00+01:00"})).ts == "2022-01-03T14:05:00Z"


@pytest.mark.parametrize("field", ["symbol", "ts", "open", "high", "low", "close", "volume"])
def test_missing_bar_field_is_named(field: str) -> None:
    err = _reject({k: v for k, v in BAR.items() if k != field})
    assert err.field == field and field in err.reason


@pytest.mark.parametrize("field", ["symbol", "ts", "side", "mode", "confidence"])
def test_missing_signal_field_is_named(field: str) -> None:
    err = _reject({k: v for k, v in SIGNAL.items() if k != field})
    assert err.field == field and field in err.reason


def test_optional_signal_fields_get_their_documented_defaults() -> None:
    # Given a signal without signal_id, price and strategy (a user's row may leave them out)
    bare = {k: v for k, v in SIGNAL.items() if k not in ("signal_id", "price", "strategy")}
    # When it is parsed, twice
    a, b = parse_record(json.dumps(bare)), parse_record(json.dumps(bare))
    # Then the id is derived from symbol, ts, side and strategy, the same both times; price stays unknown
    assert isinstance(a, Signal) and isinstance(b, Signal)
    assert a.signal_id == b.signal_id == "user.ETH-USD.20220103T140600Z.long"
    assert a.strategy == "user" and a.price is None
    short = parse_record(json.dumps({**bare, "side": "short"}))
    assert isinstance(short, Signal) and short.signal_id != a.signal_id
    # epoch milliseconds are the same instant as the ISO time
    ms = parse_record(json.dumps({**bare, "ts": 1641218760000}))
    assert isinstance(ms, Signal) and ms.ts == "2022-01-03T14:06:00Z" and ms.signal_id == a.signal_id


@pytest.mark.parametrize(("record", "field"), [(BAR, "open"), (BAR, "close"), (SIGNAL, "price")])
def test_negative_price_is_named(record: dict[str, Any], field: str) -> None:
    err = _reject({**record, field: -1.0})
    assert err.field == field and "greater than 0" in err.reason


@given(price=st.floats(max_value=0.0, allow_nan=False, allow_infinity=False))
def test_no_non_positive_signal_price_gets_through(price: float) -> None:
    assert _reject({**SIGNAL, "price": price}).field == "price"


@pytest.mark.parametrize("kind", ["trade", "BAR", None, 3])
def test_unknown_type_is_named(kind: object) -> None:
    err = _reject({**BAR, "type": kind})
    assert err.field == "type" and "unknown record type" in err.reason


@pytest.mark.parametrize("raw", ["{not json", b"\xff\xfe", "", "[1, 2]", '"bar"'])
def test_bad_json(raw: str | bytes) -> None:
    err = _reject(raw)
    assert "JSON" in err.reason


@pytest.mark.parametrize("ts", ["yesterday", "2022-01-03T14:05:00", "2022-13-03T14:05:00Z", "", "1641218700"])
def test_bad_timestamp_is_named(ts: str) -> None:
    err = _reject({**BAR, "ts": ts})
    assert err.field == "ts" and "ts" in err.reason


def test_high_below_low_is_rejected_naming_high() -> None:
    err = _reject({**BAR, "high": 45800.0, "low": 45900.0})
    assert "high" in err.reason


@pytest.mark.parametrize(
    ("change", "field"),
    [({"confidence": 1.5}, "confidence"), ({"side": "buy"}, "side"), ({"mode": "swing"}, "mode")],
)
def test_out_of_range_signal_values_are_named(change: dict[str, Any], field: str) -> None:
    assert _reject({**SIGNAL, **change}).field == field


def test_unexpected_field_and_half_quotes() -> None:
    assert _reject({**BAR, "colour": "red"}).field == "colour"
    assert "bid and ask" in _reject({**BAR, "bid": 46049.0}).reason
    assert "finite" in _reject(json.dumps(BAR).replace("12.5", "Infinity")).reason
