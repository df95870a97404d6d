"""DailySummaryFunction against a moto server over HTTP: tables from template.yaml, known rows in them,
the report in S3 and the notification on SNS (read back through an SQS subscription)."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import bind_tables
from huracan.local.template import dynamodb_table_kwargs, load_template
from huracan.observability.report import PLOT_IDS

APP = Path(__file__).resolve().parents[2] / "functions" / "daily_summary" / "app.py"
DAY = "2024-01-03"
MODEL = "sha256:" + "ab" * 32


class Ctx:
    function_name = "DailySummaryFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:DailySummaryFunction"
    aws_request_id = "req-daily-1"


@pytest.fixture()
def stack(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    template = load_template()
    ddb = boto3.client("dynamodb")
    env: dict[str, str] = {}
    for logical, var in (("ShadowTradesTable", "SHADOW_TRADES_TABLE"), ("TradesTable", "TRADES_TABLE"),
                         ("DecisionsTable", "DECISIONS_TABLE"), ("PricesTable", "PRICES_TABLE")):  # fmt: skip
        name = f"{logical}-{suffix}"
        ddb.create_table(**dynamodb_table_kwargs(template, logical, name))
        env[var] = name
    bucket = f"models-{suffix}"
    boto3.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=f"notify-{suffix}")["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"inbox-{suffix}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "false"})
    dlq = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
    for i in range(2):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"reason": f"bad {i}"}))
    env |= {"MODEL_BUCKET": bucket, "NOTIFICATIONS_TOPIC_ARN": topic, "DEAD_LETTER_QUEUE_URL": dlq,
            "POWERTOOLS_TRACE_DISABLED": "1", "POWERTOOLS_METRICS_NAMESPACE": "HuracanTest"}  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("TIMER_DLQ_URL", raising=False)
    return {"env": env, "bucket": bucket, "inbox": inbox}


def _seed(env: dict[str, str], bucket: str) -> None:
    t = bind_tables(TableSettings.from_env(env | {"AWS_ENDPOINT_URL": boto3.client("s3").meta.endpoint_url}))

    def decision(sig: str, day: str, passed: bool, shadow: str | None, cf: tuple[str, float] | None) -> None:
        spread = 2.0 if passed else 9.0
        t.decisions(
            sig, day=day, ts=f"{day}T10:00:00Z", symbol="BTC-USD", side="long", mode="scalp", strategy="s",
            confidence=0.8, price=100.0, features_json="{}", passed=passed,
            blocked_by=[] if passed else ["spread_gate"],
            gates={"meta_label_gate": {"passed": True, "value": 0.8, "threshold": 0.45, "text": ""},
                   "spread_gate": {"passed": passed, "value": spread, "threshold": 5.0, "text": ""}},
            prob=0.8, prob_source="model", regime="trend", model_id=MODEL, config_version="v1", shadow_id=shadow,
            cf_outcome=cf[0] if cf else None, cf_pnl_net_bps=cf[1] if cf else None,
        ).save()  # fmt: skip

    def shadow(sid: str, outcome: str, net: float, exit_price: float) -> None:
        t.shadow_trades(
            sid, ts=f"{DAY}T10:00:00Z", day=DAY, symbol="BTC-USD", mode="scalp", side="long", entry_price=100.0,
            signal_id=sid.replace("sh-", "sig-"), timeout_at=f"{DAY}T11:00:00Z", tp_price=101.0, sl_price=99.0,
            status="CLOSED", exit_price=exit_price, exit_reason="TP" if outcome == "WIN" else "SL",
            exit_ts=f"{DAY}T10:30:00Z", shadow_pnl_bps=net + 6.0, shadow_pnl_net_bps=net, actual_outcome=outcome,
            predicted_win_prob=0.8, model_id=MODEL, regime="trend",
        ).save()  # fmt: skip

    decision("sig-1", DAY, True, "sh-1", None)
    decision("sig-2", DAY, True, "sh-2", None)
    decision("sig-3", DAY, False, None, ("LOSS", -5.0))
    decision("sig-0", "2024-01-02", True, None, None)  # yesterday: only in the pass-rate trend
    shadow("sh-1", "WIN", 20.0, 101.0)
    shadow("sh-2", "LOSS", -8.0, 99.0)
    t.trades("live-1", ts_open=f"{DAY}T12:00:00Z", day=DAY, symbol="BTC-USD", mode="scalp", side="long",
             entry_price=100.05, exit_price=100.95, pnl_bps=15.0, model_id=MODEL, status="closed",
             engine_shadow_id="sh-1", outcome="WIN").save()  # fmt: skip
    card = {"model_id": MODEL, "stage": "champion", "version": 1, "created_at": f"{DAY}T00:30:00Z",
            "metrics": {"auc": 0.61, "ece": 0.02, "brier": 0.23, "n_samples": 1500},
            "readiness": {"ready": True, "checks": []}}  # fmt: skip
    boto3.client("s3").put_object(
        Bucket=bucket, Key=f"models/meta_label/{'ab' * 32}/manifest.json", Body=json.dumps(card)
    )


def test_daily_summary_writes_report_and_notifies(stack: dict[str, Any]) -> None:
    # Given a day with two shadow trades (+20, -8 net), one blocked loser, a live trade and a published model
    _seed(stack["env"], stack["bucket"])
    spec = importlib.util.spec_from_file_location(f"daily_summary_app_{uuid.uuid4().hex}", APP)
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)

    # When the 23:00 schedule fires
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": f"{DAY}T23:00:00Z", "detail": {}}
    out = app.lambda_handler(event, Ctx())

    # Then the report is in S3 under reports/<day>/ with every plot
    s3 = boto3.client("s3")
    bucket = stack["bucket"]
    assert out["report"] == f"s3://{bucket}/reports/{DAY}/index.html"
    obj = s3.get_object(Bucket=bucket, Key=f"reports/{DAY}/index.html")
    assert obj["ContentType"].startswith("text/html")
    page = obj["Body"].read().decode()
    assert [pid for pid in PLOT_IDS if f'<figure id="{pid}"' not in page] == []
    assert "queue depth: StreamDeadLetterQueue</td><td>2</td>" in page
    metrics = {(m["name"], m["key"]): m for m in json.loads(s3.get_object(
        Bucket=bucket, Key=f"reports/{DAY}/metrics.json")["Body"].read())["metrics"]}  # fmt: skip
    assert metrics[("shadow_trades_daily", "")]["value"] == 2
    assert metrics[("shadow_pnl_daily", "")]["value"] == 12.0
    assert metrics[("shadow_win_rate", "scalp")]["value"] == 0.5
    assert metrics[("training_data_size", "")]["value"] == 1500
    assert metrics[("models_exported", "")]["value"] == 1
    assert metrics[("hamilton_adoption", "")]["value"] == pytest.approx(11.5 / 24)
    index = s3.get_object(Bucket=bucket, Key="reports/index.html")["Body"].read().decode()
    assert f'href="{DAY}/index.html"' in index

    # And one notification with the headline went out
    expected = "Huracan 2024-01-03: 2 shadow trades, +12.0 bps net, model ready, health issues"
    assert out["headline"] == expected
    msgs = boto3.client("sqs").receive_message(QueueUrl=stack["inbox"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
    bodies = [json.loads(m["Body"]) for m in msgs.get("Messages", [])]
    assert [b["Subject"] for b in bodies] == [expected]
    assert f"s3://{bucket}/reports/{DAY}/index.html" in bodies[0]["Message"]
    assert "StreamDeadLetterQueue holds 2 messages" in bodies[0]["Message"]
