"""The pynamodb models against tables created from template.yaml on a moto server over HTTP."""

from __future__ import annotations

import math
from typing import Any

import pytest

from huracan.adapters.errors import AlreadyExists, NotOpen, TransientError
from huracan.adapters.repository import Repository
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.records import Bar
from huracan.core.timeutil import from_epoch_s
from huracan.local.template import load_template
from huracan.service.entities import DecisionRecord, ShadowTradeRecord
from tests.integration._stack import TABLE_ENV, aws_endpoint, create_resources


@pytest.fixture()
def env(request):
    with aws_endpoint(request) as endpoint:
        yield create_resources(endpoint)


@pytest.fixture()
def repo(env) -> Repository:
    return Repository(bind_tables(TableSettings.from_env(env)))


def _schema(props: dict[str, Any]) -> tuple[Any, ...]:
    keys = sorted((k["AttributeName"], k["KeyType"]) for k in props["KeySchema"])
    gsis = sorted(
        (g["IndexName"], tuple(sorted((k["AttributeName"], k["KeyType"]) for k in g["KeySchema"])))
        for g in props.get("GlobalSecondaryIndexes", [])
    )
    return tuple(keys), tuple(gsis)


def test_model_keys_indexes_and_ttl_match_the_template(env):
    # Given the template and the models bound to its tables
    template = load_template()
    tables = bind_tables(TableSettings.from_env(env))
    models = {
        "ShadowTradesTable": tables.shadow_trades,
        "TradesTable": tables.trades,
        "DecisionsTable": tables.decisions,
        "PricesTable": tables.prices,
    }
    for logical_id, model in models.items():
        props = template["Resources"][logical_id]["Properties"]
        schema = model._get_schema()
        # Then the key schema and GSIs are the template's
        ours = (
            tuple(sorted((k["AttributeName"], k["KeyType"]) for k in schema["key_schema"])),
            tuple(
                sorted(
                    (g["index_name"], tuple(sorted((k["AttributeName"], k["KeyType"]) for k in g["key_schema"])))
                    for g in schema["global_secondary_indexes"]
                )
            ),
        )
        assert ours == _schema(props), logical_id
        # And the TTL attribute is the one the template enables
        ttl_attrs = [n for n, a in model.get_attributes().items() if type(a).__name__ == "TTLAttribute"]
        ttl = props.get("TimeToLiveSpecification")
        assert ttl_attrs == ([ttl["AttributeName"]] if ttl else []), logical_id
        assert model.Meta.table_name == env[TABLE_ENV[logical_id]]
        assert model.Meta.host == env["AWS_ENDPOINT_URL"]


def _decision(signal_id: str = "sig-1", passed: bool = True) -> DecisionRecord:
    return DecisionRecord(
        signal_id=signal_id,
        day="2022-01-03",
        ts="2022-01-03T14:05:00Z",
        symbol="BTC-PERP",
        side="long",
        mode="scalp",
        strategy="momentum_breakout",
        confidence=0.78,
        price=46000.5,
        features_json='{"spread_bps": 1.5}',
        gates={
            "meta_label_gate": {"passed": True, "value": 0.78, "threshold": 0.45, "text": "✓ meta"},
            "regime_gate": {"passed": passed, "value": "TREND", "threshold": "TREND,RANGE", "text": "regime"},
            "volume_gate": {"passed": True, "value": None, "threshold": 0.5, "text": "vol"},
        },
        passed=passed,
        blocked_by=() if passed else ("regime_gate",),
        prob=0.78,
        prob_source="prior",
        regime="TREND",
        regime_source="rule",
        model_id=None,
        config_version="2026-11-24.1",
        expected_return_bps=12.5,
        cost_bps=float("nan"),
        shadow_id="shadow_x" if passed else None,
        expires_at_epoch=1_700_000_000,
    )


def test_decision_round_trip_is_conditional_and_queryable_by_day(repo):
    rec = _decision()
    repo.create_decision(rec)
    # a second create of the same signal is a domain AlreadyExists, not a botocore error
    with pytest.raises(AlreadyExists) as exc:
        repo.create_decision(rec)
    assert exc.value.__cause__ is not None
    got = repo.get_decision("sig-1")
    assert got is not None
    assert got.gates == rec.gates
    assert got.blocked_by == ()
    assert got.cost_bps is None  # NaN is never stored
    assert got.expires_at_epoch == 1_700_000_000
    assert got.features_json == rec.features_json and got.prob == pytest.approx(0.78)
    repo.create_decision(_decision("sig-2", passed=False))
    day = list(repo.decisions_on_day("2022-01-03"))
    assert [d.signal_id for d in day] == ["sig-1", "sig-2"]
    assert day[1].blocked_by == ("regime_gate",)
    assert repo.symbols_on_day("2022-01-03") == {d.symbol for d in day} and repo.symbols_on_day("2022-01-04") == set()
    assert repo.count_decisions_on_day("2022-01-03") == 2 and repo.count_decisions_on_day("2022-01-04") == 0
    assert repo.get_decision("nope") is None


def test_challenger_probabilities_round_trip_on_the_decision(repo):
    # Given a decision scored by two challengers in shadow
    from dataclasses import replace

    rec = replace(_decision("sig-c"), challenger_probs={"sha256:" + "a" * 64: 0.61, "sha256:" + "b" * 64: 0.07})
    repo.create_decision(rec)
    # Then the table gives both back, beside the gating probability, and a decision without them has none
    got = repo.get_decision("sig-c")
    assert got is not None and got.challenger_probs == rec.challenger_probs and got.prob == pytest.approx(0.78)
    repo.create_decision(_decision("sig-d"))
    assert repo.get_decision("sig-d").challenger_probs is None


def _trade() -> ShadowTradeRecord:
    return ShadowTradeRecord(
        shadow_id="shadow_abc",
        signal_id="sig-1",
        ts="2022-01-03T14:05:00Z",
        day="2022-01-03",
        symbol="BTC-PERP",
        mode="scalp",
        side="long",
        strategy="momentum_breakout",
        entry_price=46000.5,
        tp_price=46060.3,
        sl_price=45839.5,
        timeout_at="2022-01-03T14:20:00Z",
        simulated_size_gbp=100.0,
        simulated_fee_gbp=0.1,
        predicted_win_prob=0.78,
        prob_source="prior",
        features_json="{}",
        fill_assumptions={"spread_bps": 2.0, "fee_bps_per_side": 5.0},
        model_id=None,
        regime="TREND",
        config_version="v1",
    )


def test_shadow_trade_opens_once_and_closes_exactly_once(repo):
    repo.create_shadow_trade(_trade())
    with pytest.raises(AlreadyExists):
        repo.create_shadow_trade(_trade())
    got = repo.get_shadow_trade("shadow_abc")
    assert got == _trade()
    item = repo.tables.shadow_trades.get("shadow_abc")
    assert item.trade_type == "SHADOW" and item.used_in_training is False and item.status == "OPEN"
    repo.close_shadow_trade("shadow_abc", exit_price=46060.3, exit_reason="TP", shadow_pnl_bps=13.0, duration_sec=480)
    with pytest.raises(NotOpen):
        repo.close_shadow_trade("shadow_abc", exit_reason="SL")
    item = repo.tables.shadow_trades.get("shadow_abc")
    assert (item.status, item.exit_reason, item.duration_sec) == ("CLOSED", "TP", 480)
    with pytest.raises(NotOpen):  # a trade that was never opened cannot be closed either
        repo.close_shadow_trade("shadow_missing", exit_reason="TP")


def test_open_trades_due_are_the_open_ones_past_their_window_however_old(repo):
    """The sweeper's one query: OPEN trades whose window ended before the bound - a week-old one included, a
    closed one, one still inside its window and one ending exactly at the bound left out."""
    from dataclasses import replace

    def trade(sid: str, timeout_at: str) -> ShadowTradeRecord:
        return replace(_trade(), shadow_id=sid, signal_id=f"sig-{sid}", timeout_at=timeout_at)

    repo.create_shadow_trade(trade("week_old", "2022-01-03T14:20:00Z"))
    repo.create_shadow_trade(trade("late", "2022-01-10T11:59:59.500000Z"))
    repo.create_shadow_trade(trade("closed", "2022-01-09T10:00:00Z"))
    repo.create_shadow_trade(trade("at_bound", "2022-01-10T12:00:00Z"))
    repo.create_shadow_trade(trade("running", "2022-01-10T12:30:00Z"))
    repo.close_shadow_trade("closed", exit_reason="TP")
    due = repo.open_shadow_trades_due("2022-01-10T12:00:00Z")
    assert [t.shadow_id for t in due] == ["week_old", "late"]
    assert due[0] == trade("week_old", "2022-01-03T14:20:00Z")


def test_bars_batch_write_and_history_query(repo):
    t0 = 1_641_218_700
    bars = [
        Bar(
            type="bar",
            symbol="BTC-PERP",
            ts=from_epoch_s(t0 + 60 * i),
            open=100 + i,
            high=101 + i,
            low=99 + i,
            close=100.5 + i,
            volume=10.0 * i,
            bid=100.4 + i if i % 2 else None,
            ask=100.6 + i if i % 2 else None,
        )
        for i in range(70)
    ]
    repo.put_bars(bars, expires_at_epoch=t0 + 86400)
    hist = repo.bars_before("BTC-PERP", from_epoch_s(t0 + 60 * 65), 61)
    assert len(hist) == 61
    assert list(hist.ts) == [t0 + 60 * i for i in range(4, 65)]
    assert hist.close[-1] == pytest.approx(100.5 + 64)
    assert hist.bid[-2] == pytest.approx(100.4 + 63) and math.isnan(hist.bid[-1])
    assert len(repo.bars_before("ETH-PERP", from_epoch_s(t0 + 60 * 65), 61)) == 0


def test_unreachable_endpoint_is_a_transient_error(env):
    # Given tables bound to a port nobody listens on
    dead = {**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    repo = Repository(bind_tables(TableSettings.from_env(dead)))
    with pytest.raises(TransientError) as exc:
        repo.create_decision(_decision())
    assert exc.value.__cause__ is not None
