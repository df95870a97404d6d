"""EvaluateSignalsFunction end to end on a moto server: real FTX bars and strategy signals, Lambda-format
Kinesis events, tables/queue/state machine from the template."""

from __future__ import annotations

import base64
import importlib.util
import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import numpy as np
import pytest

from huracan.adapters.errors import TransientError
from huracan.adapters.repository import Repository
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.core.features import BAR_FEATURES, features_history
from huracan.core.strategies import signal_id_for, signals_history
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.service.evaluate import shadow_id_for
from tests.integration._stack import aws_endpoint, create_resources, drain_queue

APP = Path(__file__).resolve().parents[2] / "functions" / "evaluate_signals" / "app.py"
SYMBOL = "BTC-PERP"
SHARD = "shardId-000000000000"
ARN = "arn:aws:kinesis:eu-west-2:123456789012:stream/market"


@dataclass
class Ctx:
    function_name: str = "EvaluateSignalsFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:EvaluateSignalsFunction"
    aws_request_id: str = "req-1"


class Stream:
    """Builds Lambda-format Kinesis records with increasing sequence numbers."""

    def __init__(self) -> None:
        self.seq = 49_000_000_000_000_000_000

    def record(self, payload: bytes | dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        # a record reaches the stream a moment after it is stamped (the handler refuses far-future stamps)
        ts = payload.get("ts") if isinstance(payload, dict) else None
        arrival = epoch_s(ts) + 1.0 if isinstance(ts, str) and ts.endswith("Z") and len(ts) == 20 else 1641218700.0
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": SYMBOL,
                "sequenceNumber": str(self.seq),
                "data": base64.b64encode(data).decode(),
                "approximateArrivalTimestamp": arrival,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{SHARD}:{self.seq}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda",
            "awsRegion": "eu-west-2",
            "eventSourceARN": ARN,
        }


def bar_payload(bars, i: int) -> dict[str, Any]:
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


def signal_payload(bars, sigs, j: int) -> dict[str, Any]:
    k = int(sigs.bar_idx[j])
    ts = int(bars.ts[k]) + 60
    return {
        "type": "signal",
        "signal_id": signal_id_for(sigs.strategy[j], SYMBOL, ts),
        "symbol": SYMBOL,
        "ts": from_epoch_s(ts),
        "side": sigs.side[j],
        "mode": sigs.mode[j],
        "confidence": float(sigs.confidence[j]),
        "price": float(bars.close[k]),
        "strategy": sigs.strategy[j],
    }


@pytest.fixture()
def env(request, monkeypatch):
    with aws_endpoint(request) as endpoint:
        resources = create_resources(endpoint)
        for k, v in resources.items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("HURACAN_PROFILE", "demo")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "HuracanTest")
        yield resources


@pytest.fixture()
def app(env):
    spec = importlib.util.spec_from_file_location(f"evaluate_signals_app_{id(env)}", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scenario(ftx_month):
    """Warm-up bars, then a 100-record batch (bars + real strategy signals + 2 malformed records)."""
    bars = ftx_month
    sigs = signals_history(bars)
    start = 300  # bars [start - 100, start) go in first, as an earlier batch
    stream = Stream()
    warm = [stream.record(bar_payload(bars, i)) for i in range(start - 100, start)]
    main: list[dict[str, Any]] = []
    signal_rows: list[tuple[dict[str, Any], int]] = []
    i = start
    main.append(stream.record(b"{not json"))
    main.append(stream.record({**bar_payload(bars, i), "close": -1.0}))
    while len(main) < 100:
        main.append(stream.record(bar_payload(bars, i)))
        for j in np.flatnonzero(sigs.bar_idx == i):
            if len(main) < 100:
                payload = signal_payload(bars, sigs, int(j))
                main.append(stream.record(payload))
                signal_rows.append((payload, i))
        i += 1
    return {"bars": bars, "warm": warm, "main": main, "signals": signal_rows, "stream": stream}


def event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


class CallCounter:
    """Counts every botocore API call (boto3 clients and pynamodb's connection go through it)."""

    def __init__(self, monkeypatch) -> None:
        self.calls: Counter[str] = Counter()
        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

        def counting(client, operation_name, api_params):
            self.calls[operation_name] += 1
            return original(client, operation_name, api_params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def executions(env) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    out: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=env["TIMER_STATE_MACHINE_ARN"]):
        out.extend(dict(e) for e in page["executions"])
    return out


def test_batch_makes_decisions_trades_timers_and_parks_malformed(env, app, scenario, monkeypatch, caplog):
    caplog.set_level("INFO")
    # Given an earlier batch of bars in the prices table
    assert app.lambda_handler(event(scenario["warm"]), Ctx()) == {"batchItemFailures": []}
    repo = Repository(bind_tables(TableSettings.from_env(env)))

    # When the 100-record batch arrives (counting every AWS call it makes)
    counter = CallCounter(monkeypatch)
    result = app.lambda_handler(event(scenario["main"]), Ctx())
    calls = Counter(counter.calls)  # the handler's calls only, before the checks below add theirs
    total = sum(calls.values())

    # Then nothing is a batch item failure (malformed records are parked, not retried)
    assert result == {"batchItemFailures": []}
    signals = scenario["signals"]
    assert len(signals) >= 5
    bars_in_batch = 100 - 2 - len(signals)

    # every signal has a decision whose features equal the training features of the same bar
    full = features_history(scenario["bars"])
    passed = []
    for payload, k in signals:
        d = repo.get_decision(payload["signal_id"])
        assert d is not None, payload["signal_id"]
        feats = json.loads(d.features_json)
        expected = full[k]
        got = np.array([np.nan if feats[n] is None else feats[n] for n in BAR_FEATURES])
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
        assert d.prob_source == "prior" and d.prob == pytest.approx(payload["confidence"])
        assert set(d.gates) == {
            "meta_label_gate",
            "cost_gate",
            "confidence_gate",
            "regime_gate",
            "spread_gate",
            "volume_gate",
        }
        assert d.passed == (not d.blocked_by)
        trade = repo.get_shadow_trade(shadow_id_for(payload["signal_id"]))
        if d.passed:
            passed.append(payload)
            assert d.shadow_id == shadow_id_for(payload["signal_id"])
            assert trade is not None and trade.status == "OPEN"
            assert trade.entry_price == pytest.approx(payload["price"])
            sign = 1 if payload["side"] == "long" else -1
            assert sign * (trade.tp_price - trade.entry_price) > 0 > sign * (trade.sl_price - trade.entry_price)
            assert trade.simulated_fee_gbp == pytest.approx(0.10)
            assert trade.predicted_win_prob == pytest.approx(payload["confidence"])
            assert trade.timeout_at > payload["ts"]
        else:
            assert trade is None and d.shadow_id is None
    assert passed, "the demo profile passes some real signals in this window"
    assert len(passed) < len(signals), "and blocks others"

    # every pass has exactly one timer execution, named after its shadow id, with the resolver's input
    execs = {e["name"]: e for e in executions(env)}
    assert set(execs) == {shadow_id_for(p["signal_id"]) for p in passed}
    sfn = boto3.client("stepfunctions")
    one = passed[0]
    first_trade = repo.get_shadow_trade(shadow_id_for(one["signal_id"]))
    assert first_trade is not None
    desc = sfn.describe_execution(executionArn=execs[shadow_id_for(one["signal_id"])]["executionArn"])
    assert json.loads(desc["input"]) == {
        "shadow_id": shadow_id_for(one["signal_id"]),
        "signal_id": one["signal_id"],
        "symbol": SYMBOL,
        "mode": one["mode"],
        "side": one["side"],
        "timeout_at": first_trade.timeout_at,
        # one bar, then the template's default IngestLagSeconds (90 s; the test environment sets none)
        "resolve_at": from_epoch_s(epoch_s(first_trade.timeout_at) + 60 + 90),
    }

    # the malformed records are on the DLQ with reason, shard, sequence number and raw data
    parked = drain_queue(env["AWS_ENDPOINT_URL"], env["DEAD_LETTER_QUEUE_URL"])
    by_seq = {p["sequence_number"]: p for p in parked}
    bad_json, bad_bar = scenario["main"][0], scenario["main"][1]
    assert set(by_seq) == {bad_json["kinesis"]["sequenceNumber"], bad_bar["kinesis"]["sequenceNumber"]}
    assert "JSON" in by_seq[bad_json["kinesis"]["sequenceNumber"]]["reason"]
    assert "close" in by_seq[bad_bar["kinesis"]["sequenceNumber"]]["reason"]
    for rec in (bad_json, bad_bar):
        p = by_seq[rec["kinesis"]["sequenceNumber"]]
        assert p["shard_id"] == SHARD and p["data_b64"] == rec["kinesis"]["data"]

    # bars went to the table in batches, not one call per bar; the AWS call count is bounded
    print(
        f"\nAWS calls for a 100-record batch ({bars_in_batch} bars, {len(signals)} signals, "
        f"{len(passed)} passes, 2 malformed): total={total} {dict(calls)}"
    )
    assert calls["BatchWriteItem"] == math.ceil(bars_in_batch / 25)
    assert calls["Query"] == 1  # one symbol: one history query
    assert calls["SendMessageBatch"] == 1
    assert calls["PutItem"] == len(signals) + len(passed)
    assert calls["StartExecution"] == len(passed)
    assert total == (math.ceil(bars_in_batch / 25) + 1 + 1 + len(signals) + 2 * len(passed))
    assert total <= 3 + math.ceil(bars_in_batch / 25) + 3 * len(signals)

    # every log line about a signal carries signal_id, shadow_id and model_id (the batch's counters line,
    # written at the default MetricsLevel instead of per-batch metrics, is about no one signal)
    lines = [r for r in caplog.records if r.name.startswith("huracan") and r.getMessage() != "batch"]
    assert len(lines) >= len(signals) + 2
    for line in lines:
        assert all(hasattr(line, key) for key in ("signal_id", "shadow_id", "model_id")), line.getMessage()
    assert {r.signal_id for r in lines} >= {p["signal_id"] for p, _ in signals}
    assert {r.shadow_id for r in lines} >= {shadow_id_for(p["signal_id"]) for p in passed}


def test_duplicate_delivery_changes_nothing(env, app, scenario):
    app.lambda_handler(event(scenario["warm"]), Ctx())
    main = [r for r in scenario["main"][2:]]  # valid records only
    assert app.lambda_handler(event(main), Ctx()) == {"batchItemFailures": []}
    ddb = boto3.client("dynamodb")

    def snapshot() -> tuple[dict[str, list[str]], list[str]]:
        out: dict[str, list[str]] = {}
        for var in ("DECISIONS_TABLE", "SHADOW_TRADES_TABLE", "PRICES_TABLE"):
            items = ddb.scan(TableName=env[var])["Items"]
            out[var] = sorted(json.dumps(i, sort_keys=True) for i in items)
        return out, sorted(e["name"] for e in executions(env))

    before = snapshot()
    # When the same records are delivered again (Lambda retry), and once more in a different batch shape
    assert app.lambda_handler(event(main), Ctx()) == {"batchItemFailures": []}
    assert app.lambda_handler(event(main[40:] + main[:40]), Ctx()) == {"batchItemFailures": []}
    # Then one decision, one trade and one execution per signal, unchanged
    assert snapshot() == before
    assert len(before[0]["DECISIONS_TABLE"]) == len(scenario["signals"])


def test_throttle_fails_exactly_that_record_and_retry_completes_it(env, app, scenario, monkeypatch):
    app.lambda_handler(event(scenario["warm"]), Ctx())
    main = scenario["main"][2:]
    victim_payload, _ = scenario["signals"][len(scenario["signals"]) // 2]
    victim = next(
        r
        for r in main
        if json.loads(base64.b64decode(r["kinesis"]["data"])).get("signal_id") == victim_payload["signal_id"]
    )
    original = Repository.create_decision

    def throttled(self, rec):
        if rec.signal_id == victim_payload["signal_id"]:
            raise TransientError("decisions.PutItem: ProvisionedThroughputExceededException", code="Throttling")
        return original(self, rec)

    monkeypatch.setattr(Repository, "create_decision", throttled)
    result = app.lambda_handler(event(main), Ctx())
    assert result == {"batchItemFailures": [{"itemIdentifier": victim["kinesis"]["sequenceNumber"]}]}
    repo = Repository(bind_tables(TableSettings.from_env(env)))
    assert repo.get_decision(victim_payload["signal_id"]) is None
    others = [p for p, _ in scenario["signals"] if p["signal_id"] != victim_payload["signal_id"]]
    assert all(repo.get_decision(p["signal_id"]) is not None for p in others)
    assert drain_queue(env["AWS_ENDPOINT_URL"], env["DEAD_LETTER_QUEUE_URL"]) == []

    # When Lambda retries from the failed record, it completes
    monkeypatch.setattr(Repository, "create_decision", original)
    idx = main.index(victim)
    assert app.lambda_handler(event(main[idx:]), Ctx()) == {"batchItemFailures": []}
    assert repo.get_decision(victim_payload["signal_id"]) is not None


def test_bad_environment_fails_cold_start_naming_the_variable(env, app, monkeypatch):
    monkeypatch.delenv("DECISIONS_TABLE")
    from huracan.adapters.settings import SettingsError

    with pytest.raises(SettingsError, match="DECISIONS_TABLE"):
        app.lambda_handler(event([]), Ctx())
    assert os.environ.get("SHADOW_TRADES_TABLE")
