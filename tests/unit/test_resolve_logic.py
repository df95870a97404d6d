"""The resolver's logic with an in-memory store: terms from the trade, NO_DATA vs "not yet", exactly once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from huracan.adapters.errors import NotOpen, TransientError
from huracan.core.barriers import Barriers, barrier_prices
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.service.entities import ShadowTradeRecord
from huracan.service.resolve import (
    ALREADY_RESOLVED,
    CLOSED,
    OutcomeResolver,
    TradeNotFound,
    close_columns,
    terms_of,
)

T0 = 1_641_000_000 - (1_641_000_000 % 60)
CONFIG = load_config("seed")


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *, extra: Mapping[str, object]) -> None:
        self.lines.append(msg)

    def warning(self, msg: str, *, extra: Mapping[str, object]) -> None:
        self.lines.append(msg)


class Store:
    """Trades in a dict, bars in arrays; ``close_shadow_trade`` conditional on OPEN like DynamoDB's."""

    def __init__(self, bars: BarArrays) -> None:
        self.bars = bars
        self.trades: dict[str, ShadowTradeRecord] = {}
        self.columns: dict[str, dict[str, Any]] = {}
        self.closes = 0
        self.close_race = False

    def get_shadow_trade(self, shadow_id: str) -> ShadowTradeRecord | None:
        return self.trades.get(shadow_id)

    def bars_from(self, symbol: str, start_ts: str, limit: int) -> BarArrays:
        i = int(np.searchsorted(self.bars.ts, int(epoch_s(start_ts))))
        return self.bars.slice(i, i + limit)

    def close_shadow_trade(self, shadow_id: str, *, status: str = "CLOSED", **columns: Any) -> None:
        if self.close_race:  # another invocation closed it between our read and our write
            self.trades[shadow_id] = replace(self.trades[shadow_id], status="CLOSED")
            raise NotOpen("condition failed")
        if self.trades[shadow_id].status != "OPEN":
            raise NotOpen("condition failed")
        self.closes += 1
        self.trades[shadow_id] = replace(self.trades[shadow_id], status=status)
        self.columns[shadow_id] = columns


def flat_bars(n: int, price: float = 100.0, start: int = T0) -> BarArrays:
    ts = start + 60 * np.arange(n)
    p = np.full(n, price)
    return BarArrays.from_columns(ts, p, p + 0.01, p - 0.01, p, np.ones(n))


def trade(side: str = "long", mode: str = "scalp", **fill: Any) -> ShadowTradeRecord:
    m = CONFIG.mode(mode)
    tp, sl = barrier_prices(100.0, side, Barriers.from_mode(m))
    return ShadowTradeRecord(
        shadow_id="shadow_x",
        signal_id="sig_x",
        ts=from_epoch_s(T0),
        day=from_epoch_s(T0)[:10],
        symbol="BTC-PERP",
        mode=mode,
        side=side,
        strategy="s",
        entry_price=100.0,
        tp_price=tp,
        sl_price=sl,
        timeout_at=from_epoch_s(T0 + m.timeout_sec),
        simulated_size_gbp=100.0,
        simulated_fee_gbp=0.1,
        predicted_win_prob=0.7,
        prob_source="prior",
        features_json="{}",
        fill_assumptions={"spread_bps": 2.0, "fee_bps_per_side": 5.0, "tp_bps": m.tp_bps, "sl_bps": m.sl_bps, **fill},
        model_id=None,
        regime="TREND",
        config_version=CONFIG.version,
    )


def resolver(store: Store) -> OutcomeResolver:
    return OutcomeResolver(store=store, config=CONFIG, log=Log())


def with_bar(bars: BarArrays, j: int, **cols: float) -> BarArrays:
    arrays = {n: getattr(bars, n).copy() for n in ("ts", "open", "high", "low", "close", "volume", "bid", "ask")}
    for k, v in cols.items():
        arrays[k][j] = v
    return BarArrays(**arrays)


def test_take_profit_closes_with_gross_and_net_pnl_from_the_trades_own_costs() -> None:
    bars = with_bar(flat_bars(40), 3, high=100.2)  # +20 bps > scalp tp 13 bps
    store = Store(bars)
    store.trades["shadow_x"] = trade(spread_bps=4.0)
    result = resolver(store).resolve("shadow_x")
    assert result.status == CLOSED
    cols = store.columns["shadow_x"]
    tp = 100.0 * (1 + 13 / 1e4)
    assert cols["exit_reason"] == "TP" and cols["exit_price"] == pytest.approx(tp)
    assert cols["shadow_pnl_bps"] == pytest.approx(13.0)
    assert cols["shadow_pnl_net_bps"] == pytest.approx(13.0 - 2 * 5.0 - 4.0)  # the trade's spread, not default
    assert cols["actual_outcome"] == "BREAKEVEN"  # |-1| <= band 1
    assert cols["prediction_correct"] is False  # predicted a win (0.7 > 0.45), did not win
    assert cols["duration_sec"] == 4 * 60 and cols["exit_ts"] == from_epoch_s(T0 + 240)
    assert cols["outcome_reason"] is None


def test_short_stop_loss_and_barriers_from_fill_assumptions_not_todays_settings() -> None:
    bars = with_bar(flat_bars(40), 5, high=100.5)  # +50 bps against a short
    store = Store(bars)
    store.trades["shadow_x"] = trade(side="short", sl_bps=60.0)  # stored sl wider than config's 35
    resolver(store).resolve("shadow_x")
    assert store.columns["shadow_x"]["exit_reason"] == "timeout"  # 50 bps < the trade's 60
    store2 = Store(bars)
    store2.trades["shadow_x"] = trade(side="short")
    resolver(store2).resolve("shadow_x")
    cols = store2.columns["shadow_x"]
    assert cols["exit_reason"] == "SL" and cols["actual_outcome"] == "LOSS"
    assert cols["shadow_pnl_bps"] == pytest.approx(-35.0)


def test_timeout_exits_at_the_last_window_bars_close() -> None:
    bars = with_bar(flat_bars(40), 14, close=100.05)
    store = Store(bars)
    store.trades["shadow_x"] = trade()
    resolver(store).resolve("shadow_x")
    cols = store.columns["shadow_x"]
    assert (cols["exit_reason"], cols["exit_price"], cols["duration_sec"]) == ("timeout", 100.05, 900)


def test_gappy_path_is_no_data_with_the_reason_never_a_guess() -> None:
    bars = flat_bars(40)
    keep = np.ones(40, dtype=bool)
    keep[7] = False  # a missing minute inside the window; later bars exist, so the path is final
    gappy = BarArrays(
        **{n: getattr(bars, n)[keep] for n in ("ts", "open", "high", "low", "close", "volume", "bid", "ask")}
    )
    store = Store(gappy)
    store.trades["shadow_x"] = trade()
    result = resolver(store).resolve("shadow_x")
    cols = store.columns["shadow_x"]
    assert result.status == CLOSED
    assert cols["exit_reason"] == "NO_DATA" and cols["actual_outcome"] == "NO_DATA"
    assert cols["outcome_reason"].startswith("gap")
    assert cols["exit_price"] is None and cols["shadow_pnl_bps"] is None and cols["prediction_correct"] is None


def test_a_path_whose_last_bars_have_not_arrived_is_transient_until_final() -> None:
    store = Store(flat_bars(10))  # window needs 15 bars; nothing after it yet
    store.trades["shadow_x"] = trade()
    with pytest.raises(TransientError) as info:
        resolver(store).resolve("shadow_x")
    assert type(info.value) is TransientError and "not complete" in str(info.value)
    assert store.trades["shadow_x"].status == "OPEN" and store.closes == 0
    result = resolver(store).resolve("shadow_x", final=True)  # a re-drive: what is there is all there is
    assert result.status == CLOSED and store.columns["shadow_x"]["outcome_reason"].startswith("incomplete")


def test_second_invocation_and_a_lost_race_change_nothing() -> None:
    store = Store(with_bar(flat_bars(40), 3, high=100.2))
    store.trades["shadow_x"] = trade()
    r = resolver(store)
    assert r.resolve("shadow_x").status == CLOSED
    before = dict(store.columns["shadow_x"])
    again = r.resolve("shadow_x")
    assert (again.status, again.trade_status, store.closes) == (ALREADY_RESOLVED, "CLOSED", 1)
    assert store.columns["shadow_x"] == before
    race = Store(flat_bars(40))
    race.trades["shadow_x"] = trade()
    race.close_race = True
    assert r.__class__(store=race, config=CONFIG, log=Log()).resolve("shadow_x").status == ALREADY_RESOLVED


def test_unknown_trade_is_a_permanent_error() -> None:
    with pytest.raises(TradeNotFound):
        resolver(Store(flat_bars(5))).resolve("nope")


def test_terms_window_is_the_timers_and_payload_has_no_nan() -> None:
    t = trade(mode="runner")
    terms = terms_of(t, CONFIG)
    assert terms.barriers.timeout_sec == 14_400 and terms.window_bars == 240
    assert barrier_prices(terms.entry_price, terms.side, terms.barriers) == (t.tp_price, t.sl_price)
    store = Store(flat_bars(10))
    store.trades["shadow_x"] = t
    result = resolver(store).resolve("shadow_x", final=True)
    payload = result.payload()
    assert payload["actual_outcome"] == "NO_DATA" and "exit_price" not in payload
    assert close_columns(result.outcome)["exit_ts"] is None  # type: ignore[arg-type]
