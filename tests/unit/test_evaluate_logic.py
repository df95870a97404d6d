"""The evaluate-signals logic with in-memory ports (no AWS, sockets off) and the adapters' error mapping."""

from __future__ import annotations

import base64
import json
import logging
import re
from typing import Any

import botocore.exceptions
import numpy as np
import pytest
from pynamodb.exceptions import PutError

from huracan.adapters.errors import AlreadyExists, NotOpen, PermanentError, TransientError, translate_errors
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.features import BAR_FEATURES, WINDOW, features_history
from huracan.core.records import Bar
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.service.evaluate import PreparedBatch, SignalService, shadow_id_for

SYMBOL = "BTC-PERP"


class FakeStore:
    def __init__(self, history: BarArrays | None = None) -> None:
        self.history = history
        self.bars: dict[tuple[str, str], Bar] = {}
        self.decisions: dict[str, Any] = {}
        self.trades: dict[str, Any] = {}
        self.queries: list[tuple[str, str, int]] = []
        self.fail_decision: Exception | None = None

    def put_bars(self, bars, expires_at_epoch):
        for b in bars:
            self.bars[(b.symbol, b.ts)] = b

    def bars_before(self, symbol, before_ts, limit):
        self.queries.append((symbol, before_ts, limit))
        h = self.history
        assert h is not None
        end = int(np.searchsorted(h.ts, int(epoch_s(before_ts)), side="left"))
        return h.slice(max(0, end - limit), end)

    def create_decision(self, rec):
        if self.fail_decision is not None:
            raise self.fail_decision
        if rec.signal_id in self.decisions:
            raise AlreadyExists("exists")
        self.decisions[rec.signal_id] = rec

    def get_decision(self, signal_id):
        return self.decisions.get(signal_id)

    def create_shadow_trade(self, rec):
        if rec.shadow_id in self.trades:
            raise AlreadyExists("exists")
        self.trades[rec.shadow_id] = rec


class FakeDlq:
    def __init__(self, fail: Exception | None = None) -> None:
        self.parked: list[Any] = []
        self.fail = fail

    def park(self, records):
        if self.fail is not None:
            raise self.fail
        self.parked.extend(records)


class FakeTimers:
    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}

    def start(self, timer):
        new = timer.name not in self.started
        self.started.setdefault(timer.name, timer.input)
        return new


def rec(seq: int, payload: dict[str, Any] | bytes) -> dict[str, Any]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {
        "eventID": f"shardId-000000000001:{seq}",
        "eventSourceARN": "arn:aws:kinesis:eu-west-2:1:stream/market",
        "kinesis": {"sequenceNumber": str(seq), "data": base64.b64encode(data).decode()},
    }


def bar(bars: BarArrays, i: int) -> dict[str, Any]:
    return {
        "type": "bar",
        "symbol": SYMBOL,
        "ts": from_epoch_s(int(bars.ts[i])),
        "open": float(bars.open[i]),
        "high": float(bars.high[i]),
        "low": float(bars.low[i]),
        "close": float(bars.close[i]),
        "volume": float(bars.volume[i]),
    }


def signal(bars: BarArrays, k: int, *, conf: float = 0.9, mode: str = "scalp", side: str = "long") -> dict[str, Any]:
    ts = int(bars.ts[k]) + 60
    return {
        "type": "signal",
        "signal_id": f"test.{SYMBOL}.{ts}.{side}",
        "symbol": SYMBOL,
        "ts": from_epoch_s(ts),
        "side": side,
        "mode": mode,
        "confidence": conf,
        "price": float(bars.close[k]),
        "strategy": "test",
    }


def make(
    store: Any = None, dlq: Any = None, timers: Any = None, profile: str = "demo", model_provider: Any = None
) -> SignalService:
    kwargs: dict[str, Any] = {}
    if model_provider is not None:
        kwargs["model_provider"] = model_provider
    svc = SignalService(
        store=store or FakeStore(),
        dead_letters=dlq or FakeDlq(),
        timers=timers or FakeTimers(),
        config=load_config(profile),
        log=logging.getLogger("huracan.test"),
        **kwargs,
    )
    return svc


def run(svc: SignalService, records: list[dict[str, Any]]) -> tuple[list[str], PreparedBatch]:
    """Prepare then handle each record as Powertools would; returns the failed sequence numbers."""
    batch = svc.prepare(records)
    failed = []
    for r in records:
        try:
            batch.handle(r["kinesis"]["sequenceNumber"])
        except Exception:
            failed.append(r["kinesis"]["sequenceNumber"])
    return failed, batch


def test_shadow_id_is_deterministic_and_a_valid_execution_name():
    a = shadow_id_for("momentum_breakout.BTC-PERP.20220101T041400Z")
    assert a == shadow_id_for("momentum_breakout.BTC-PERP.20220101T041400Z")
    assert a != shadow_id_for("momentum_breakout.BTC-PERP.20220101T041500Z")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", a)


def test_features_come_from_batch_bars_plus_one_history_query(ftx_month):
    # Given bars 0..k-1 in the store and bars k..k+9 plus a signal at bar k+5 in the batch
    k = 500
    store = FakeStore(history=ftx_month.slice(0, k))
    svc = make(store)
    records = [rec(i, bar(ftx_month, k + i)) for i in range(10)] + [rec(100, signal(ftx_month, k + 5))]
    failed, _ = run(svc, records)
    assert failed == []
    # Then exactly one query asked for the bars before the batch's first bar
    assert store.queries == [(SYMBOL, from_epoch_s(int(ftx_month.ts[k])), WINDOW)]
    d = next(iter(store.decisions.values()))
    feats = json.loads(d.features_json)
    want = features_history(ftx_month)[k + 5]
    np.testing.assert_allclose([feats[n] for n in BAR_FEATURES], want, rtol=1e-9, atol=1e-9)


def test_no_query_when_the_batch_holds_a_full_window(ftx_month):
    store = FakeStore(history=None)  # any query would fail the test
    svc = make(store)
    k = 1000
    records = [rec(i, bar(ftx_month, k + i)) for i in range(WINDOW + 1)] + [rec(500, signal(ftx_month, k + WINDOW))]
    failed, _ = run(svc, records)
    assert failed == [] and store.queries == []
    assert len(store.bars) == WINDOW + 1


def _passing_index(bars: BarArrays, profile: str = "demo") -> int:
    """A bar where a long scalp with confidence 0.9 passes every gate (found, not assumed)."""
    from huracan.core.gates import evaluate_gates

    feats = features_history(bars)
    cfg = load_config(profile)
    for k in range(WINDOW + 10, len(bars)):
        if evaluate_gates(feats[k], mode="scalp", confidence=0.9, config=cfg).passed:
            return k
    raise AssertionError("no passing bar")


def test_pass_opens_a_trade_and_a_timer_and_redelivery_repeats_nothing(ftx_month):
    k = _passing_index(ftx_month)
    store, timers = FakeStore(history=ftx_month), FakeTimers()
    svc = make(store, timers=timers)
    sig = signal(ftx_month, k)
    failed, _ = run(svc, [rec(1, sig)])
    assert failed == []
    sid = shadow_id_for(sig["signal_id"])
    trade = store.trades[sid]
    assert trade.status == "OPEN" and trade.entry_price == sig["price"]
    assert trade.tp_price == pytest.approx(sig["price"] * (1 + 40 / 1e4))
    assert trade.sl_price == pytest.approx(sig["price"] * (1 - 40 / 1e4))
    assert trade.timeout_at == from_epoch_s(int(epoch_s(sig["ts"])) + 1800)
    fill = trade.fill_assumptions
    # a long taker pays half the spread up (the estimator may say the spread is 0 in a quiet minute)
    assert fill["entry_fill_price"] == pytest.approx(sig["price"] * (1 + fill["spread_bps"] / 2 / 1e4))
    assert fill["slippage_bps_per_side"] == pytest.approx(fill["spread_bps"] / 2)
    assert fill["round_trip_cost_bps"] == pytest.approx(10.0 + fill["spread_bps"])
    assert timers.started == {
        sid: {
            "shadow_id": sid,
            "signal_id": sig["signal_id"],
            "symbol": SYMBOL,
            "mode": "scalp",
            "side": "long",
            "timeout_at": trade.timeout_at,
            "resolve_at": from_epoch_s(epoch_s(trade.timeout_at) + 60),  # one bar, no ingest lag given
        }
    }
    # When the same record comes again
    failed, batch2 = run(svc, [rec(1, sig)])
    assert failed == []
    assert batch2.counters.redelivered == 1 and batch2.counters.trades_opened == 0
    assert len(store.decisions) == 1 and len(store.trades) == 1 and len(timers.started) == 1


def test_redelivery_completes_a_trade_the_first_attempt_left_undone(ftx_month):
    # Given a stored passed decision but no trade (the first attempt died after the decision)
    k = _passing_index(ftx_month)
    store, timers = FakeStore(history=ftx_month), FakeTimers()
    svc = make(store, timers=timers)
    sig = signal(ftx_month, k)
    run(svc, [rec(1, sig)])
    store.trades.clear()
    timers.started.clear()
    # When it is redelivered, now with a model that would block it
    svc2 = make(store, timers=timers, model_provider=lambda: ("sha256:abc", lambda x: np.zeros(len(x))))
    failed, _ = run(svc2, [rec(1, sig)])
    # Then the stored decision wins: the trade and timer are completed from it
    assert failed == []
    sid = shadow_id_for(sig["signal_id"])
    assert sid in store.trades and sid in timers.started
    assert store.trades[sid].prob_source == "prior" and store.trades[sid].model_id is None


def test_model_probability_and_id_are_used_and_recorded(ftx_month):
    k = _passing_index(ftx_month)
    store = FakeStore(history=ftx_month)
    seen = {}

    def predict(x):
        seen["shape"] = x.shape
        return np.full(len(x), 0.97)

    svc = make(store, model_provider=lambda: ("sha256:feed", predict))
    # confidence 0.65 clears the confidence gate, but as a prior it would fail the cost gate: the model decides
    run(svc, [rec(1, signal(ftx_month, k, conf=0.65))])
    d = next(iter(store.decisions.values()))
    assert seen["shape"][0] == 1 and d.prob == pytest.approx(0.97)
    assert (d.prob_source, d.model_id) == ("model", "sha256:feed")
    assert store.trades[d.shadow_id].model_id == "sha256:feed"


def test_malformed_records_are_parked_not_failed():
    dlq = FakeDlq()
    svc = make(dlq=dlq)
    records = [rec(1, b"\xff\xfe"), rec(2, {"type": "quote"}), rec(3, {"type": "bar", "symbol": SYMBOL})]
    records.append({"eventID": "shardId-000000000001:4", "kinesis": {"sequenceNumber": "4", "data": "!!notb64"}})
    failed, batch = run(svc, records)
    assert failed == []
    assert [p.sequence_number for p in dlq.parked] == ["1", "2", "3", "4"]
    assert "type" in dlq.parked[1].reason and "base64" in dlq.parked[3].reason
    assert all(p.shard_id == "shardId-000000000001" for p in dlq.parked)
    assert dlq.parked[0].data_b64 == records[0]["kinesis"]["data"]
    assert batch.counters.parked == 4


def test_a_dlq_that_refuses_turns_malformed_records_into_failures():
    svc = make(dlq=FakeDlq(fail=TransientError("throttled")))
    failed, _ = run(svc, [rec(1, b"nope"), rec(2, b"nope")])
    assert failed == ["1", "2"]


def test_transient_fails_the_record_permanent_parks_it(ftx_month):
    store, dlq = FakeStore(history=ftx_month), FakeDlq()
    svc = make(store, dlq=dlq)
    sig = signal(ftx_month, 2000)
    store.fail_decision = TransientError("throttled")
    failed, _ = run(svc, [rec(7, sig)])
    assert failed == ["7"] and dlq.parked == []
    store.fail_decision = PermanentError("ValidationException")
    failed, _ = run(svc, [rec(8, sig)])
    assert failed == [] and [p.sequence_number for p in dlq.parked] == ["8"]
    assert "ValidationException" in dlq.parked[0].reason


def _client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem")


@pytest.mark.parametrize(
    ("exc", "conflict", "expected"),
    [
        (_client_error("ProvisionedThroughputExceededException"), None, TransientError),
        (_client_error("ThrottlingException"), None, TransientError),
        (_client_error("ValidationException"), None, PermanentError),
        (_client_error("ConditionalCheckFailedException"), AlreadyExists, AlreadyExists),
        (_client_error("ConditionalCheckFailedException"), NotOpen, NotOpen),
        (_client_error("ConditionalCheckFailedException"), None, PermanentError),
        (PutError("x", _client_error("ConditionalCheckFailedException")), AlreadyExists, AlreadyExists),
        (PutError("x", _client_error("RequestLimitExceeded")), AlreadyExists, TransientError),
        (PutError("Failed to batch write items: max_retry_attempts exceeded"), None, TransientError),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), None, TransientError),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), None, TransientError),
    ],
)
def test_sdk_errors_map_to_domain_errors(exc, conflict, expected):
    with pytest.raises(expected) as got, translate_errors("op", conflict=conflict):
        raise exc
    assert got.value.__cause__ is exc


def test_signals_sent_alone_each_see_their_own_bars_and_get_the_last_close_as_price(ftx_month):
    # Given the bars already stored and a batch of signals alone, spanning two hours, without prices
    store = FakeStore(history=ftx_month)
    svc = make(store)
    ks = [2000, 2030, 2060, 2120]
    sigs = [{k2: v for k2, v in signal(ftx_month, k).items() if k2 != "price"} for k in ks]
    failed, _ = run(svc, [rec(i, s) for i, s in enumerate(sigs)])
    assert failed == []
    history = features_history(ftx_month)
    for k, s in zip(ks, sigs, strict=True):
        d = store.decisions[s["signal_id"]]
        # Then each signal's features are those of the bar that closed at its ts, not of the batch's first
        feats = json.loads(d.features_json)
        np.testing.assert_allclose([feats[n] for n in BAR_FEATURES], history[k], rtol=1e-9, atol=1e-9)
        # and it is priced at that bar's close (the last price known at its ts)
        assert d.price == float(ftx_month.close[k])


def test_a_signal_between_bar_closes_sees_only_closed_bars_and_enters_at_the_next_boundary(ftx_month):
    k = _passing_index(ftx_month)
    store = FakeStore(history=ftx_month)
    svc = make(store)
    sig = {**signal(ftx_month, k), "ts": from_epoch_s(int(ftx_month.ts[k]) + 60 + 25), "signal_id": "mid-bar"}
    failed, _ = run(svc, [rec(1, sig)])
    assert failed == []
    d = store.decisions["mid-bar"]
    feats = json.loads(d.features_json)
    # the bar that opened at ts[k] + 60 was still forming at ts: its close is not in the features
    np.testing.assert_allclose([feats[n] for n in BAR_FEATURES], features_history(ftx_month)[k], rtol=1e-9)
    assert d.passed  # the same features as the signal at bar k's close, which passes
    trade = store.trades[shadow_id_for("mid-bar")]
    assert trade.ts == sig["ts"]
    entry = int(ftx_month.ts[k]) + 120  # the first bar boundary after ts
    assert epoch_s(trade.timeout_at) == entry + load_config("demo").mode("scalp").timeout_sec


def test_a_declared_extra_feature_is_stored_and_a_missing_one_parks_the_signal(ftx_month):
    store, dlq = FakeStore(history=ftx_month), FakeDlq()
    svc = make(store, dlq)
    svc.config = load_config("demo").model_copy(update={"extra_features": ("imbalance",)})
    with_it = {**signal(ftx_month, 3000), "features": {"imbalance": -0.25}}
    without = {**signal(ftx_month, 3010), "signal_id": "no-feature"}
    failed, _ = run(svc, [rec(1, with_it), rec(2, without)])
    assert failed == []
    assert json.loads(store.decisions[with_it["signal_id"]].features_json)["imbalance"] == -0.25
    assert "no-feature" not in store.decisions
    (parked,) = dlq.parked
    assert "imbalance" in parked.reason and "missing" in parked.reason


def test_challengers_are_scored_in_shadow_stored_on_every_decision_and_never_gate(ftx_month):
    # Given a batch of signals, a champion, and two live challengers: one that would pass every signal
    # (p = 0.99) and one that would block every signal (p = 0.01), each called once per batch
    ks = list(range(200, 260, 5))
    calls: dict[str, int] = {"up": 0, "down": 0}

    def const(name: str, p: float):
        def predict(x):
            calls[name] += 1
            return np.full(len(x), p)

        return predict

    champion = ("sha256:champ", lambda x: np.full(len(x), 0.97))
    challengers = [("sha256:up", const("up", 0.99)), ("sha256:down", const("down", 0.01))]
    with_store, without_store = FakeStore(history=ftx_month), FakeStore(history=ftx_month)
    records = [rec(i + 1, signal(ftx_month, k, conf=0.65)) for i, k in enumerate(ks)]
    svc = make(with_store, model_provider=lambda: champion)
    svc.challenger_provider = lambda: challengers
    run(svc, records)
    run(make(without_store, model_provider=lambda: champion), records)
    # Then every decision carries both challengers' probabilities, each challenger scored the batch in one call
    assert calls == {"up": 1, "down": 1}
    assert len(with_store.decisions) == len(ks)
    for sid, d in with_store.decisions.items():
        assert d.challenger_probs == {"sha256:up": pytest.approx(0.99), "sha256:down": pytest.approx(0.01)}
        # and no gate used them: the decision is the one made without any challenger, to the last field
        other = without_store.decisions[sid]
        assert (d.passed, d.blocked_by, d.gates, d.prob, d.model_id) == (
            other.passed,
            other.blocked_by,
            other.gates,
            other.prob,
            other.model_id,
        )
        assert other.challenger_probs is None
    assert with_store.trades.keys() == without_store.trades.keys()


def test_a_failing_challenger_is_left_out_and_decides_nothing(ftx_month):
    k = _passing_index(ftx_month)
    store = FakeStore(history=ftx_month)

    def broken(x):
        raise RuntimeError("onnx says no")

    svc = make(store, model_provider=lambda: ("sha256:champ", lambda x: np.full(len(x), 0.97)))
    svc.challenger_provider = lambda: [("sha256:bad", broken), ("sha256:ok", lambda x: np.full(len(x), 0.3))]
    failed, _ = run(svc, [rec(1, signal(ftx_month, k, conf=0.65))])
    d = next(iter(store.decisions.values()))
    assert failed == [] and d.challenger_probs == {"sha256:ok": pytest.approx(0.3)} and d.prob == pytest.approx(0.97)
