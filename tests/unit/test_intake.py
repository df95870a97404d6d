"""The per-record refusals of the evaluate step (huracan.service.intake): time, storage, conflicting ids."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from huracan.adapters.errors import TransientError
from huracan.core.records import Bar, InvalidRecord, Signal, parse_record
from huracan.service.intake import arrival_epoch, signal_conflict, time_refusal, write_bars_isolating

DAY = 86_400


def _bar(i: int, volume: float = 1.0) -> Bar:
    rec = parse_record(
        f'{{"type":"bar","symbol":"X-Y","ts":"2022-01-03T00:{i:02d}:00Z","open":1,"high":2,"low":0.5,'
        f'"close":1.5,"volume":{volume}}}'
    )
    assert isinstance(rec, Bar)
    return rec


def test_time_refusal_names_the_future_skew_and_the_retention() -> None:
    assert time_refusal(1000.0, 900.0, max_future_skew_s=300, max_age_s=35 * DAY) is None
    ahead = time_refusal(1000.0 + 400 * DAY, 1000.0, max_future_skew_s=300, max_age_s=35 * DAY)
    assert ahead is not None and ahead.startswith("ts:") and "300 s of clock skew" in ahead
    old = time_refusal(1000.0, 1000.0 + 36 * DAY, max_future_skew_s=300, max_age_s=35 * DAY)
    assert old is not None and "older than the prices retention (35 days)" in old
    assert time_refusal(1e12, None, max_future_skew_s=300, max_age_s=DAY) is None  # no arrival: no judgement


def test_arrival_epoch_reads_only_a_finite_positive_number() -> None:
    assert arrival_epoch({"kinesis": {"approximateArrivalTimestamp": 1641219000.5}}) == 1641219000.5
    for bad in (None, "soon", float("nan"), -1, {"a": 1}):
        assert arrival_epoch({"kinesis": {"approximateArrivalTimestamp": bad}}) is None


def test_an_unstorable_bar_is_isolated_and_the_others_are_written() -> None:
    stored: list[str] = []

    def put(bars: Sequence[Bar], ttl: int | None) -> None:
        if any(b.volume < 1e-100 for b in bars):
            raise ValueError("Number underflow")
        stored.extend(b.ts for b in bars)

    bars = [_bar(1), _bar(2, volume=1e-200), _bar(3)]
    refused, retry = write_bars_isolating(put, bars, 123)
    assert list(refused) == [1] and not retry
    assert stored == [bars[0].ts, bars[2].ts]


def test_a_throttle_while_isolating_leaves_the_rest_for_the_retry() -> None:
    calls: list[int] = []

    def put(bars: Sequence[Bar], ttl: int | None) -> None:
        calls.append(len(bars))
        if len(bars) > 1:
            raise ValueError("refused")
        if len(calls) == 3:
            raise TransientError("throttled", operation="BatchWriteItem")

    refused, retry = write_bars_isolating(put, [_bar(i) for i in range(1, 5)], None)
    assert not refused and sorted(retry) == [1, 2, 3] and calls == [4, 1, 1]


def test_signal_conflict_tells_a_redelivery_from_a_different_signal() -> None:
    text = (
        '{"type":"signal","signal_id":"s1","symbol":"X-Y","ts":"2022-01-03T00:01:00Z","side":"long",'
        '"mode":"scalp","confidence":0.7,"price":100.0,"strategy":"m"}'
    )
    sig = parse_record(text)
    assert isinstance(sig, Signal)
    assert signal_conflict(sig, sig) is None
    other = parse_record(text.replace('"long"', '"short"'))
    reason = signal_conflict(sig, other)
    assert reason is not None and "side 'short' != 'long'" in reason


def test_json_nested_thousands_deep_is_an_invalid_record_not_a_crash() -> None:
    deep = '{"type":"signal","features":' + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(InvalidRecord, match="nested too deeply"):
        parse_record(deep)
