"""The request model and the canonical content hash that decides 200 vs 409."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from huracan.api.models import TradeOutcome, content_sha256
from huracan.api.service import trade_attributes
from tests.unit.test_api_hamilton_client import outcome_payload


def h(data: dict[str, Any]) -> str:
    return content_sha256(TradeOutcome.model_validate(json.loads(json.dumps(data))))


def test_hash_ignores_form_but_not_content() -> None:
    base = outcome_payload()
    same = [
        {k: base[k] for k in reversed(list(base))},
        base | {"duration_sec": 480.0},
        base | {"symbol": None, "tags": None},
        base | {"ts_open": None},
    ]
    assert {h(x) for x in same} == {h(base)}
    different = [
        base | {"pnl_bps": 13.21},
        base | {"outcome": "LOSS"},
        base | {"features": base["features"] | {"ret_1": None}},
        base | {"features": base["features"] | {"extra": 0.0}},
        base | {"symbol": "BTC-USD"},
    ]
    hashes = {h(x) for x in different}
    assert len(hashes) == len(different) and h(base) not in hashes


def test_equal_instants_in_ts_open_hash_alike() -> None:
    a = outcome_payload(ts_open="2024-03-01T11:00:00Z")
    b = outcome_payload(ts_open="2024-03-01T11:00:00.000000Z")
    assert h(a) == h(b)


@given(
    pnl=st.floats(min_value=-1e5, max_value=1e5, allow_nan=False),
    duration=st.integers(min_value=0, max_value=30 * 86400),
    feats=st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
        st.none() | st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        min_size=1,
        max_size=8,
    ),
)
def test_any_valid_outcome_round_trips_json_with_the_same_hash(
    pnl: float, duration: int, feats: dict[str, float | None]
) -> None:
    body = outcome_payload(pnl_bps=pnl, duration_sec=duration, features=feats)
    first = TradeOutcome.model_validate(body)
    again = TradeOutcome.model_validate(json.loads(json.dumps(first.model_dump(mode="json"))))
    assert content_sha256(first) == content_sha256(again)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_are_refused_even_from_python(value: float) -> None:
    with pytest.raises(ValidationError) as exc:
        TradeOutcome.model_validate(outcome_payload(pnl_bps=value))
    assert exc.value.errors()[0]["loc"] == ("pnl_bps",)


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(ValidationError) as exc:
        TradeOutcome.model_validate(outcome_payload(duration_sec=True))
    assert exc.value.errors()[0]["loc"] == ("duration_sec",)


def test_trade_row_columns() -> None:
    outcome = TradeOutcome.model_validate(outcome_payload(status="closed", side="short"))
    row = trade_attributes(outcome, "f" * 64, received_at=1_709_294_400.0)  # 2024-03-01T12:00:00Z
    assert row["trade_type"] == "LIVE" and row["received_at"] == "2024-03-01T12:00:00Z"
    assert row["ts_open"] == "2024-03-01T11:52:00Z" and row["day"] == "2024-03-01"
    assert "features" not in row and json.loads(row["features_json"]) == outcome.features
    assert row["side"] == "short" and row["payload_sha256"] == "f" * 64
    assert "symbol" not in row  # absent columns stay absent (not null strings)
