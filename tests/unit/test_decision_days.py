"""Settled decision days: the nightly job reads each from the table once, and never trusts a stale copy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from huracan.adapters.decision_days import SettledDecisionDays, decode_day, encode_day
from huracan.registry.errors import BlobNotFoundError
from huracan.service.entities import DecisionOutcome, DecisionRecord

Row = tuple[DecisionRecord, DecisionOutcome | None]


def _rec(i: int, day: str) -> DecisionRecord:
    return DecisionRecord(
        signal_id=f"sig-{day}-{i}",
        day=day,
        ts=f"{day}T00:{i:02d}:00Z",
        symbol="BTC-PERP",
        side="long" if i % 2 else "short",
        mode="scalp",
        strategy="momentum_breakout",
        confidence=0.61,
        price=46_210.5 + i,
        features_json='{"ret_1_bps": 1.5}',
        gates={"cost_gate": {"passed": False, "value": 3.25, "reason": "expected 3.25 bps < 14"}},
        passed=False,
        blocked_by=("cost_gate",),
        prob=None,
        prob_source="prior",
        regime="RANGE",
        regime_source="rule",
        model_id=None,
        config_version="demo@1",
        expected_return_bps=float("nan"),
        cost_bps=14.0,
        shadow_id=None,
        expires_at_epoch=1_700_000_000,
    )


def _out(rec: DecisionRecord) -> DecisionOutcome:
    return DecisionOutcome(rec.signal_id, "SL", "LOSS", 46_000.0, -35.0, -49.0, None)


class Table:
    """The decisions table's two reads, counting how often rows were fetched."""

    def __init__(self) -> None:
        self.days: dict[str, list[Row]] = {}
        self.row_reads: list[str] = []
        self.counts: list[str] = []

    def decisions_with_outcomes_on_day(self, day: str, *, only_unresolved: bool = False) -> Iterator[Row]:
        self.row_reads.append(day)
        return iter([r for r in self.days.get(day, []) if not (only_unresolved and r[1] is not None)])

    def count_decisions_on_day(self, day: str) -> int:
        self.counts.append(day)
        return len(self.days.get(day, []))


class Blobs:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.data[key] = data

    def get(self, key: str) -> bytes:
        if key not in self.data:
            raise BlobNotFoundError(key, "memory")
        return self.data[key]


def _labelled(day: str, n: int) -> list[Row]:
    return [(r, _out(r)) for r in (_rec(i, day) for i in range(n))]


def test_a_settled_day_is_read_from_the_table_once() -> None:
    table, blobs = Table(), Blobs()
    table.days["2022-01-03"] = _labelled("2022-01-03", 5)
    first = list(SettledDecisionDays(table, blobs, today="2022-01-10").decisions_with_outcomes_on_day("2022-01-03"))
    cache = SettledDecisionDays(table, blobs, today="2022-01-11")
    second = list(cache.decisions_with_outcomes_on_day("2022-01-03"))
    assert table.row_reads == ["2022-01-03"] and table.counts == ["2022-01-03"]
    assert cache.counters() == {"hits": 1, "misses": 0, "written": 0, "stale": 0}
    assert [(r.signal_id, o) for r, o in second] == [(r.signal_id, o) for r, o in first]
    assert second[0][0].blocked_by == ("cost_gate",) and second[0][0].gates == first[0][0].gates


def test_recent_and_unlabelled_days_always_come_from_the_table() -> None:
    table, blobs = Table(), Blobs()
    table.days["2022-01-09"] = _labelled("2022-01-09", 3)  # after the cutoff (today − 2 days)
    unlabelled = _labelled("2022-01-04", 3)
    unlabelled[1] = (unlabelled[1][0], None)
    table.days["2022-01-04"] = unlabelled
    for _ in range(2):
        cache = SettledDecisionDays(table, blobs, today="2022-01-10")
        assert len(list(cache.decisions_with_outcomes_on_day("2022-01-09"))) == 3
        assert len(list(cache.decisions_with_outcomes_on_day("2022-01-04"))) == 3
    assert blobs.data == {} and table.row_reads.count("2022-01-04") == 2 and table.row_reads.count("2022-01-09") == 2
    assert next(iter(cache.decisions_with_outcomes_on_day("2022-01-04", only_unresolved=True)))[1] is None


def test_a_late_decision_makes_the_copy_stale() -> None:
    table, blobs = Table(), Blobs()
    table.days["2022-01-03"] = _labelled("2022-01-03", 4)
    list(SettledDecisionDays(table, blobs, today="2022-01-10").decisions_with_outcomes_on_day("2022-01-03"))
    table.days["2022-01-03"] = _labelled("2022-01-03", 5)  # a backfill added one
    cache = SettledDecisionDays(table, blobs, today="2022-01-11")
    assert len(list(cache.decisions_with_outcomes_on_day("2022-01-03"))) == 5
    assert cache.counters() == {"hits": 0, "misses": 1, "written": 1, "stale": 1}
    assert decode_day(blobs.data[cache.key("2022-01-03")])[1] == 5


def test_the_copy_is_deterministic_and_exact() -> None:
    rows = _labelled("2022-01-05", 3)
    data = encode_day("2022-01-05", rows)
    assert data == encode_day("2022-01-05", rows)
    day, count, back = decode_day(data)
    assert (day, count) == ("2022-01-05", 3)
    for (r1, o1), (r2, o2) in zip(rows, back, strict=True):
        assert o1 == o2 and r1.price == r2.price and r1.blocked_by == r2.blocked_by
        assert r2.expected_return_bps != r2.expected_return_bps  # NaN survives the round trip
    with pytest.raises(ValueError):
        SettledDecisionDays(Table(), Blobs(), today="2022-01-05", settle_days=0)
