"""Counterfactual labelling of decisions on moto: real FTX bars (24 hours in the prices table, the next 24
only in the S3 bar archive), real strategy signals as decisions, blocked by one gate or by two."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, cast

import boto3
import pytest

from huracan.adapters.archive import BarArchive
from huracan.adapters.repository import Repository
from huracan.adapters.settings import AwsSettings, TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.barriers import Barriers, first_touch
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.counterfactual import GatePerformance, gate_performance
from huracan.core.gates import GATE_NAMES
from huracan.core.outcomes import shadow_outcome
from huracan.core.records import Bar
from huracan.core.strategies import signals_history
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.service.counterfactuals import days_between, gate_summary, resolve_counterfactuals
from huracan.service.entities import DecisionRecord
from tests.integration._stack import aws_endpoint, create_resources

SYMBOL = "BTC-PERP"
D1 = 11 * 1440  # 24 h from 2022-01-11 23:01 in the prices table; the next 24 h only in the archive
BLOCKS: tuple[tuple[str, ...], ...] = ((), ("cost_gate",), ("confidence_gate", "regime_gate"), ("spread_gate",))
CFG = load_config("demo")


@pytest.fixture(scope="module")
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    mp = pytest.MonkeyPatch()
    with aws_endpoint(request) as endpoint:
        resources = create_resources(endpoint)
        for k, v in resources.items():
            mp.setenv(k, v)
        bucket = f"cf-archive-{uuid.uuid4().hex[:8]}"
        boto3.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": cast(Any, os.environ["AWS_DEFAULT_REGION"])}
        )
        yield {**resources, "BUCKET": bucket}
    mp.undo()


@pytest.fixture(scope="module")
def world(env: dict[str, str], ftx_month: BarArrays) -> tuple[Repository, BarArchive, list[DecisionRecord]]:
    repo = Repository(bind_tables(TableSettings.model_validate(dict(os.environ))))
    archive = BarArchive(env["BUCKET"], AwsSettings.from_env())
    b = ftx_month
    repo.put_bars(
        [
            Bar(
                type="bar",
                symbol=SYMBOL,
                ts=from_epoch_s(int(b.ts[i])),
                open=float(b.open[i]),
                high=float(b.high[i]),
                low=float(b.low[i]),
                close=float(b.close[i]),
                volume=float(b.volume[i]),
            )
            for i in range(D1, D1 + 1440)
        ],
        None,
    )
    archive.put_bars(SYMBOL, b.slice(D1 + 1440, D1 + 2880))
    sigs = signals_history(b)
    decisions = []
    for n, k in enumerate(sigs.bar_idx.tolist()):
        if not (D1 <= k < D1 + 2880):
            continue
        t0 = int(b.ts[k]) + 60
        blocked = BLOCKS[n % len(BLOCKS)]
        feats = {"spread_bps": 3.0} if n % 3 else {}
        rec = DecisionRecord(
            signal_id=f"cf_{n}",
            day=from_epoch_s(t0)[:10],
            ts=from_epoch_s(t0),
            symbol=SYMBOL,
            side=sigs.side[n],
            mode=sigs.mode[n],
            strategy=sigs.strategy[n],
            confidence=float(sigs.confidence[n]),
            price=float(b.close[k]),
            features_json=json.dumps(feats),
            gates={},
            passed=not blocked,
            blocked_by=blocked,
            prob=None,
            prob_source="prior",
            regime="TREND",
            regime_source="rule",
            model_id=None,
            config_version=CFG.version,
            expected_return_bps=None,
            cost_bps=None,
            shadow_id=None,
            expires_at_epoch=None,
        )
        repo.create_decision(rec)
        decisions.append(rec)
    assert len(decisions) > 100
    return repo, archive, decisions


def rounded(perf: GatePerformance) -> Any:
    """Counts exactly, means to 1e-9 (they are sums in a different order)."""

    def walk(x: Any) -> Any:
        if isinstance(x, float):
            return round(x, 9)
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [walk(v) for v in x]
        return x

    return walk(asdict(perf))


def expected(rec: DecisionRecord, bars: BarArrays) -> tuple[str, str, float | None, float | None]:
    """The resolver's scalar code on the same inputs: (exit_reason, outcome, exit_price, net bps)."""
    m = CFG.mode(rec.mode)
    t0 = int(epoch_s(rec.ts))
    touch = first_touch(
        bars.ts, bars.high, bars.low, bars.close, bars.open, t0, rec.price, rec.side, Barriers.from_mode(m)
    )
    spread = json.loads(rec.features_json).get("spread_bps", CFG.costs.default_spread_bps)
    out = shadow_outcome(
        touch,
        fee_bps_per_side=CFG.costs.fee_bps_per_side,
        spread_bps=spread,
        breakeven_band_bps=CFG.costs.breakeven_band_bps,
    )
    return out.exit_reason, out.actual_outcome, out.exit_price, out.shadow_pnl_net_bps


def test_blocked_and_passed_decisions_get_the_resolvers_outcome_from_table_and_archive(
    world: tuple[Repository, BarArchive, list[DecisionRecord]], ftx_month: BarArrays
) -> None:
    repo, archive, decisions = world
    data = ftx_month.slice(D1, D1 + 2880)  # exactly what the two sources hold together
    until = from_epoch_s(int(data.ts[-1]) + 60 + 30 * 60)  # half an hour after the last bar
    run = resolve_counterfactuals(
        until, store=repo, bars=[repo, archive], config=CFG, since_ts=decisions[0].ts, settle_sec=3600
    )
    labelled = {
        rec.signal_id: out
        for day in days_between(decisions[0].ts, until)
        for rec, out in repo.decisions_with_outcomes_on_day(day)
    }
    exp_signals = []
    pending = 0
    for rec in decisions:
        reason, outcome, price, net = expected(rec, data)
        got = labelled[rec.signal_id]
        if got is None:  # not due yet, or its window's last bars may still arrive
            pending += 1
            assert reason == "NO_DATA", rec.signal_id
            continue
        assert (got.cf_exit_reason, got.cf_outcome) == (reason, outcome), rec.signal_id
        if price is None:
            assert got.cf_exit_price is None and got.cf_pnl_net_bps is None and got.cf_reason
        else:
            assert got.cf_exit_price == price and got.cf_pnl_net_bps is not None
            assert net is not None and math.isclose(got.cf_pnl_net_bps, net, abs_tol=1e-9)
        exp_signals.append((rec.blocked_by, outcome, net))
    assert run.written == len(exp_signals) > 100
    assert pending == run.pending + run.not_due and pending > 0
    # some windows were resolved from the archive-only day, and every kind of exit occurred
    assert any(labelled[r.signal_id] is not None and r.day == "2022-01-13" for r in decisions)
    assert {o for _, o, _ in exp_signals} >= {"WIN", "LOSS"}

    perf = run.performance
    assert perf is not None and rounded(perf) == rounded(gate_performance(exp_signals, GATE_NAMES))
    # honest attribution: confidence_gate only ever blocked together with regime_gate
    conf = perf.gate("confidence_gate")
    assert conf.any.n_blocked > 0 and conf.sole.n_blocked == 0
    assert conf.share.n_blocked == pytest.approx(conf.any.n_blocked / 2)
    cost = perf.gate("cost_gate")
    assert cost.any.good + cost.any.bad > 0 and cost.any.precision == pytest.approx(
        cost.any.good / (cost.any.good + cost.any.bad)
    )
    assert perf.passed.n_passed == sum(1 for b, _, _ in exp_signals if not b)

    # a rerun changes nothing; the day summary reads the same figures back from the table
    again = resolve_counterfactuals(until, store=repo, bars=[repo, archive], config=CFG, since_ts=decisions[0].ts)
    assert again.written == 0
    assert rounded(gate_summary(repo, days_between(decisions[0].ts, until))) == rounded(perf)


def test_windows_still_open_are_not_labelled(world: tuple[Repository, BarArchive, list[DecisionRecord]]) -> None:
    repo, archive, decisions = world
    last = decisions[-1]
    run = resolve_counterfactuals(last.ts, store=repo, bars=[repo, archive], config=CFG, since_ts=last.ts)
    assert run.written == 0 and run.not_due >= 1
