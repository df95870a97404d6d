"""ResolveOutcomeFunction against tables on a moto server, and the resolver against a plain reference loop
on every trade of the real FTX BTC-PERP month (long and short, scalp and runner, both settings profiles)."""

from __future__ import annotations

import importlib.util
import math
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore.exceptions
import numpy as np
import pytest
from pynamodb.connection.base import Connection
from pynamodb.exceptions import QueryError

from huracan.adapters.errors import TransientError
from huracan.adapters.repository import Repository
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.barriers import Barriers, barrier_prices
from huracan.core.bars import BarArrays
from huracan.core.config import EngineConfig, load_config
from huracan.core.records import Bar
from huracan.core.strategies import signals_history
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.service.entities import ShadowTradeRecord
from huracan.service.resolve import CLOSED, OutcomeResolver
from tests.integration._stack import aws_endpoint, create_resources

APP = Path(__file__).resolve().parents[2] / "functions" / "resolve_outcome" / "app.py"
SYMBOL = "BTC-PERP"
SPREAD_BPS = 1.5
COLS = ("ts", "open", "high", "low", "close", "volume", "bid", "ask")


# ------------------------------------------------------------------ the reference (independent of barriers.py)


@dataclass(frozen=True)
class Ref:
    exit_reason: str
    exit_price: float | None
    gross_bps: float | None
    duration_sec: int | None
    outcome: str


_INDEX: dict[int, dict[int, int]] = {}


def _index(bars: BarArrays) -> dict[int, int]:
    """ts -> row, built once per bar set (a plain dict: the reference does not search sorted arrays)."""
    key = id(bars)
    if key not in _INDEX:
        _INDEX[key] = {int(t): i for i, t in enumerate(bars.ts.tolist())}
    return _INDEX[key]


def reference(
    bars: BarArrays, t0: int, entry: float, side: str, tp_bps: float, sl_bps: float, timeout: int, cfg: EngineConfig
) -> Ref:
    """Walk minute by minute; a missing or non-finite minute in the window means NO_DATA."""
    at = _index(bars)
    up = side == "long"
    tp = entry * (1 + tp_bps / 1e4) if up else entry * (1 - tp_bps / 1e4)
    sl = entry * (1 - sl_bps / 1e4) if up else entry * (1 + sl_bps / 1e4)
    rows = []
    for m in range(timeout // 60):
        i = at.get(t0 + 60 * m)
        if i is None:
            return Ref("NO_DATA", None, None, None, "NO_DATA")
        o, h, lo, c = (float(bars.open[i]), float(bars.high[i]), float(bars.low[i]), float(bars.close[i]))
        if not all(math.isfinite(x) for x in (o, h, lo, c)):
            return Ref("NO_DATA", None, None, None, "NO_DATA")
        rows.append((o, h, lo, c))
    exit_reason, price, minutes = "timeout", rows[-1][3], len(rows)
    for m, (o, h, lo, _c) in enumerate(rows):
        best, worst = (h, lo) if up else (lo, h)
        hit_tp = best >= tp if up else best <= tp
        hit_sl = worst <= sl if up else worst >= sl
        if hit_tp and (o >= tp if up else o <= tp):
            exit_reason, price = "TP", o
        elif hit_sl and (o <= sl if up else o >= sl):
            exit_reason, price = "SL", o
        elif hit_sl:
            exit_reason, price = "SL", sl
        elif hit_tp:
            exit_reason, price = "TP", tp
        else:
            continue
        minutes = m + 1
        break
    gross = (price - entry) / entry * 1e4 * (1 if up else -1)
    net = gross - 2 * cfg.costs.fee_bps_per_side - SPREAD_BPS
    band = cfg.costs.breakeven_band_bps
    outcome = "WIN" if net > band else "LOSS" if net < -band else "BREAKEVEN"
    return Ref(exit_reason, price, gross, minutes * 60 if exit_reason != "timeout" else timeout, outcome)


# ------------------------------------------------------------------ trades from the real month


def make_trade(bars: BarArrays, k: int, side: str, mode: str, cfg: EngineConfig, n: int) -> ShadowTradeRecord:
    """A trade as SignalService.trade_for opens it, for the signal emitted at the close of bar k."""
    m = cfg.mode(mode)
    t0 = int(bars.ts[k]) + 60
    entry = float(bars.close[k])
    tp, sl = barrier_prices(entry, side, Barriers.from_mode(m))
    return ShadowTradeRecord(
        shadow_id=f"shadow_{n}_{cfg.profile}_{mode}_{side}",
        signal_id=f"sig_{n}",
        ts=from_epoch_s(t0),
        day=from_epoch_s(t0)[:10],
        symbol=SYMBOL,
        mode=mode,
        side=side,
        strategy="test",
        entry_price=entry,
        tp_price=tp,
        sl_price=sl,
        timeout_at=from_epoch_s(t0 + m.timeout_sec),
        simulated_size_gbp=100.0,
        simulated_fee_gbp=0.1,
        predicted_win_prob=0.6,
        prob_source="prior",
        features_json="{}",
        fill_assumptions={
            "spread_bps": SPREAD_BPS,
            "fee_bps_per_side": cfg.costs.fee_bps_per_side,
            "tp_bps": m.tp_bps,
            "sl_bps": m.sl_bps,
            "timeout_sec": m.timeout_sec,
            "bar_sec": 60,
        },
        model_id=None,
        regime="TREND",
        config_version=cfg.version,
    )


class ArrayStore:
    """The resolver's store port over in-memory bars (the same Query shape as the prices table)."""

    def __init__(self, bars: BarArrays) -> None:
        self.bars = bars
        self.trades: dict[str, ShadowTradeRecord] = {}
        self.closed: dict[str, dict[str, Any]] = {}

    def get_shadow_trade(self, shadow_id: str) -> ShadowTradeRecord | None:
        return self.trades.get(shadow_id)

    def bars_from(self, symbol: str, start_ts: str, limit: int) -> BarArrays:
        i = int(np.searchsorted(self.bars.ts, int(epoch_s(start_ts))))
        return self.bars.slice(i, i + limit)

    def close_shadow_trade(self, shadow_id: str, *, status: str = "CLOSED", **columns: Any) -> None:
        assert self.trades[shadow_id].status == "OPEN"
        self.trades[shadow_id] = replace(self.trades[shadow_id], status=status)
        self.closed[shadow_id] = columns


class QuietLog:
    def info(self, msg: str, *, extra: Mapping[str, object]) -> None:
        pass

    def warning(self, msg: str, *, extra: Mapping[str, object]) -> None:
        pass


def assert_matches(cols: Mapping[str, Any], ref: Ref, what: str) -> None:
    assert cols["exit_reason"] == ref.exit_reason, what
    assert cols["actual_outcome"] == ref.outcome, what
    if ref.exit_reason == "NO_DATA":
        assert cols.get("exit_price") is None and cols.get("shadow_pnl_bps") is None, what
        return
    assert cols["exit_price"] == pytest.approx(ref.exit_price, rel=1e-12), what
    assert cols["shadow_pnl_bps"] == pytest.approx(ref.gross_bps, abs=1e-9), what
    assert cols["duration_sec"] == ref.duration_sec, what


def gappy(bars: BarArrays, drop: int, seed: int) -> BarArrays:
    keep = np.ones(len(bars), dtype=bool)
    keep[np.random.default_rng(seed).choice(len(bars), drop, replace=False)] = False
    return BarArrays(**{c: getattr(bars, c)[keep] for c in COLS})


@pytest.mark.parametrize("profile", ["seed", "demo"])
@pytest.mark.parametrize("holes", [0, 300])
def test_every_trade_of_the_month_equals_the_reference_loop(ftx_month: BarArrays, profile: str, holes: int) -> None:
    cfg = load_config(profile)
    bars = ftx_month if holes == 0 else gappy(ftx_month, holes, seed=7)
    sigs = signals_history(ftx_month)
    store = ArrayStore(bars)
    resolver = OutcomeResolver(store=store, config=cfg, log=QuietLog())
    counts: Counter[tuple[str, str, str]] = Counter()
    for n, k in enumerate(sigs.bar_idx.tolist()):
        for mode in ("scalp", "runner"):
            for side in ("long", "short"):
                t = make_trade(ftx_month, k, side, mode, cfg, n)
                store.trades[t.shadow_id] = t
                result = resolver.resolve(t.shadow_id, final=True)  # history: the data is all there is
                assert result.status == CLOSED
                m = cfg.mode(mode)
                ref = reference(bars, int(epoch_s(t.ts)), t.entry_price, side, m.tp_bps, m.sl_bps, m.timeout_sec, cfg)
                assert_matches(store.closed[t.shadow_id], ref, f"{t.shadow_id} at {t.ts}")
                counts[(mode, side, ref.exit_reason)] += 1
    # every combination and every exit kind occurred, so the comparison covered them all
    for mode in ("scalp", "runner"):
        for side in ("long", "short"):
            for reason in ("TP", "SL", "timeout"):
                assert counts[(mode, side, reason)] > 0, (mode, side, reason, counts)
    no_data = sum(v for (_, _, reason), v in counts.items() if reason == "NO_DATA")
    # intact month: only windows running past its last bar; with holes: every window over a missing minute
    assert no_data > (500 if holes else 0) and (holes or no_data < 100)


# ------------------------------------------------------------------ the handler on moto tables


@pytest.fixture(scope="module")
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    mp = pytest.MonkeyPatch()
    with aws_endpoint(request) as endpoint:
        resources = create_resources(endpoint)
        for k, v in resources.items():
            mp.setenv(k, v)
        mp.setenv("HURACAN_PROFILE", "seed")
        mp.setenv("POWERTOOLS_TRACE_DISABLED", "1")
        mp.setenv("POWERTOOLS_METRICS_NAMESPACE", "HuracanTest")
        yield resources
    mp.undo()


@pytest.fixture(scope="module")
def app(env: dict[str, str]) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"resolve_outcome_app_{id(env)}", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def repo(env: dict[str, str]) -> Repository:
    return Repository(bind_tables(TableSettings.model_validate(dict(os.environ))))


@dataclass
class Ctx:
    function_name: str = "ResolveOutcomeFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:ResolveOutcomeFunction"
    aws_request_id: str = "req-1"


DAY_START = 9 * 1440  # one real day of the month in the prices table (2022-01-10)


@pytest.fixture(scope="module")
def sample(ftx_month: BarArrays, repo: Repository) -> list[ShadowTradeRecord]:
    """One day of real bars in the prices table and trades on it: every exit kind, both sides and modes."""
    bars = ftx_month
    lo, hi = DAY_START, DAY_START + 1440
    repo.put_bars(
        [
            Bar(
                type="bar",
                symbol=SYMBOL,
                ts=from_epoch_s(int(bars.ts[i])),
                open=float(bars.open[i]),
                high=float(bars.high[i]),
                low=float(bars.low[i]),
                close=float(bars.close[i]),
                volume=float(bars.volume[i]),
            )
            for i in range(lo, hi)
        ],
        None,
    )
    cfg = load_config("seed")
    sigs = signals_history(bars)
    chosen: list[ShadowTradeRecord] = []
    seen: set[tuple[str, str, str]] = set()
    for n, k in enumerate(sigs.bar_idx.tolist()):
        if not (lo <= k < hi - 250):
            continue
        for mode in ("scalp", "runner"):
            for side in ("long", "short"):
                t = make_trade(bars, k, side, mode, cfg, n)
                m = cfg.mode(mode)
                ref = reference(bars, int(epoch_s(t.ts)), t.entry_price, side, m.tp_bps, m.sl_bps, m.timeout_sec, cfg)
                key = (mode, side, ref.exit_reason)
                if key not in seen:
                    seen.add(key)
                    chosen.append(t)
    assert len({(t.mode, t.side) for t in chosen}) == 4 and len(chosen) >= 8
    for t in chosen:
        repo.create_shadow_trade(t)
    return chosen


def item(repo: Repository, shadow_id: str) -> dict[str, Any]:
    got = repo.tables.shadow_trades.get(shadow_id, consistent_read=True)
    return {k: v for k, v in got.attribute_values.items()}


def test_handler_closes_real_trades_from_the_prices_table_exactly_once(
    app: ModuleType, repo: Repository, sample: list[ShadowTradeRecord], ftx_month: BarArrays
) -> None:
    cfg = load_config("seed")
    for t in sample:
        out = app.lambda_handler({"shadow_id": t.shadow_id, "timeout_at": t.timeout_at}, Ctx())
        assert out["status"] == "CLOSED"
        row = item(repo, t.shadow_id)
        m = cfg.mode(t.mode)
        ref = reference(ftx_month, int(epoch_s(t.ts)), t.entry_price, t.side, m.tp_bps, m.sl_bps, m.timeout_sec, cfg)
        assert row["status"] == "CLOSED"
        assert_matches(row, ref, t.shadow_id)
        assert row["shadow_pnl_net_bps"] == pytest.approx(ref.gross_bps - 2 * 5.0 - SPREAD_BPS)  # type: ignore[operator]
        assert row["prediction_correct"] is (ref.outcome == "WIN")  # 0.6 > 0.45/0.55: predicted a win
        assert row["exit_ts"] == from_epoch_s(int(epoch_s(t.ts)) + int(row["duration_sec"]))
        # the second invocation (a redelivered timer) succeeds and changes nothing
        again = app.lambda_handler({"shadow_id": t.shadow_id}, Ctx())
        assert again["status"] == "ALREADY_RESOLVED" and again["trade_status"] == "CLOSED"
        assert item(repo, t.shadow_id) == row


def test_gappy_path_in_the_table_closes_as_no_data_with_its_reason(
    app: ModuleType, repo: Repository, sample: list[ShadowTradeRecord], ftx_month: BarArrays
) -> None:
    cfg = load_config("seed")
    k = DAY_START + 600
    t = replace(make_trade(ftx_month, k, "long", "scalp", cfg, 990_001), shadow_id="shadow_gappy")
    repo.create_shadow_trade(t)
    missing = from_epoch_s(int(epoch_s(t.ts)) + 5 * 60)
    repo.tables.prices.get(SYMBOL, missing).delete()
    try:
        out = app.lambda_handler({"shadow_id": t.shadow_id}, Ctx())
    finally:
        i = int(np.searchsorted(ftx_month.ts, int(epoch_s(missing))))
        repo.put_bars(
            [
                Bar(
                    type="bar",
                    symbol=SYMBOL,
                    ts=missing,
                    open=float(ftx_month.open[i]),
                    high=float(ftx_month.high[i]),
                    low=float(ftx_month.low[i]),
                    close=float(ftx_month.close[i]),
                    volume=float(ftx_month.volume[i]),
                )
            ],
            None,
        )
    row = item(repo, t.shadow_id)
    assert out["actual_outcome"] == "NO_DATA" and row["status"] == "CLOSED"
    assert row["exit_reason"] == "NO_DATA" and row["actual_outcome"] == "NO_DATA"
    assert row["outcome_reason"].startswith("gap")
    assert "exit_price" not in row and "shadow_pnl_bps" not in row


def test_path_not_complete_yet_raises_transient_error_by_class_name(
    app: ModuleType, repo: Repository, sample: list[ShadowTradeRecord], ftx_month: BarArrays
) -> None:
    cfg = load_config("seed")
    k = DAY_START + 1440 - 5  # the window runs past the last stored bar
    t = replace(make_trade(ftx_month, k, "short", "scalp", cfg, 990_002), shadow_id="shadow_late")
    repo.create_shadow_trade(t)
    with pytest.raises(TransientError) as info:
        app.lambda_handler({"shadow_id": t.shadow_id}, Ctx())
    assert type(info.value).__name__ == "TransientError"  # what the ASL's Retry matches
    assert item(repo, t.shadow_id)["status"] == "OPEN"
    out = app.lambda_handler({"shadow_id": t.shadow_id, "final": True}, Ctx())
    assert out["actual_outcome"] == "NO_DATA" and item(repo, t.shadow_id)["outcome_reason"].startswith("incomplete")


def test_throttled_price_read_is_a_transient_error(
    app: ModuleType,
    repo: Repository,
    sample: list[ShadowTradeRecord],
    ftx_month: BarArrays,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = load_config("seed")
    t = replace(make_trade(ftx_month, DAY_START + 700, "long", "scalp", cfg, 990_003), shadow_id="shadow_throttled")
    repo.create_shadow_trade(t)

    def throttled(*args: Any, **kwargs: Any) -> Any:
        cause = botocore.exceptions.ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "Query"
        )
        raise QueryError("Failed to query items", cause=cause)

    monkeypatch.setattr(Connection, "query", throttled)
    with pytest.raises(TransientError) as info:
        app.lambda_handler({"shadow_id": t.shadow_id}, Ctx())
    assert type(info.value) is TransientError and "ProvisionedThroughputExceeded" in str(info.value)
    monkeypatch.undo()
    assert item(repo, t.shadow_id)["status"] == "OPEN"
    assert app.lambda_handler({"shadow_id": t.shadow_id}, Ctx())["status"] == "CLOSED"


def test_unknown_trade_and_bad_input_are_permanent(app: ModuleType, sample: list[ShadowTradeRecord]) -> None:
    with pytest.raises(LookupError):
        app.lambda_handler({"shadow_id": "shadow_does_not_exist"}, Ctx())
    with pytest.raises(ValueError):
        app.lambda_handler({"timeout_at": "2022-01-01T00:00:00Z"}, Ctx())
