"""The local stack enforces IAM: each principal runs as its own role and sees only its own variables.

One stack from template.yaml with moto's IAM checks on. For every function, the state machine and the
training task, one call its policy grants succeeds and one outside it is refused with AccessDenied, made with
the credentials and environment the runtime gives that principal (the same scope an invocation runs in).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from huracan.local.runtime import LocalRuntime


@pytest.fixture(scope="module")
def rt() -> Iterator[LocalRuntime]:
    with contextlib.redirect_stdout(io.StringIO()), LocalRuntime(parameters={"HuracanProfile": "demo"}) as runtime:
        yield runtime


def _as(rt: LocalRuntime, principal: str) -> Any:
    """The scope ``principal`` runs in: a function's own, or the task definition's for the training task."""
    assert rt.layer is not None
    if principal in rt.lambdas.scopes:
        return rt.layer.scope(*rt.lambdas.scopes[principal])
    assert rt.stack is not None
    return rt.principal_scope(principal, rt.stack.container_environment(principal))


def _denied(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as err:
        call()
    response = err.value.response
    # moto answers SQS's JSON protocol with its XML error body, so botocore sees only the status there
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403, err.value
    text = f"{response['Error'].get('Code')} {response['Error'].get('Message')} {err.value}"
    assert "AccessDenied" in text or "not authorized" in text, text
    return text


def test_each_principal_signs_as_its_own_role(rt: LocalRuntime) -> None:
    for principal in ("EvaluateSignalsFunction", "ResolveOutcomeFunction", "TrainingTaskDefinition"):
        with _as(rt, principal):
            arn = boto3.client("sts").get_caller_identity()["Arn"]
        assert rt.stack is not None
        role = rt.stack.physical[rt.stack.principal_roles[principal]]
        assert arn.endswith(f":assumed-role/{role}/{principal}"), arn
    # outside any scope: the local platform
    assert boto3.client("sts").get_caller_identity()["Arn"].endswith(":user/huracan-local-platform")


def test_each_function_sees_only_its_own_variables(rt: LocalRuntime) -> None:
    with _as(rt, "IngestMarketFunction"):
        assert "INGEST_SYMBOLS" in os.environ
        assert "TIMER_STATE_MACHINE_ARN" not in os.environ
    with _as(rt, "EvaluateSignalsFunction"):
        assert "TIMER_STATE_MACHINE_ARN" in os.environ
        assert "INGEST_SYMBOLS" not in os.environ
        assert os.environ["AWS_LAMBDA_FUNCTION_NAME"] == rt.lambdas.get("EvaluateSignalsFunction").physical_name
    with _as(rt, "TrainingTaskDefinition"):
        # the task definition gives neither (issue 16: the Fargate task has no metrics level, no symbols)
        assert "HURACAN_METRICS_LEVEL" not in os.environ
        assert "INGEST_SYMBOLS" not in os.environ
        assert "MODEL_BUCKET" in os.environ
    # the process (the platform) keeps its own environment
    assert "TIMER_STATE_MACHINE_ARN" in os.environ


def test_evaluate_signals_cannot_write_the_bucket_or_notify(rt: LocalRuntime) -> None:
    bucket = rt.physical("ModelBucket")
    with _as(rt, "EvaluateSignalsFunction"):
        s3 = boto3.client("s3")
        s3.list_objects_v2(Bucket=bucket, Prefix="models/")  # S3ReadPolicy
        _denied(lambda: s3.put_object(Bucket=bucket, Key="models/latest.json", Body=b"{}"))
        _denied(lambda: boto3.client("sns").publish(TopicArn=rt.physical("NotificationsTopic"), Message="x"))


def test_resolve_outcome_has_no_s3_and_no_queue(rt: LocalRuntime) -> None:
    with _as(rt, "ResolveOutcomeFunction"):
        _denied(lambda: boto3.client("s3").list_objects_v2(Bucket=rt.physical("ModelBucket")))
        sqs = boto3.client("sqs")
        _denied(lambda: sqs.send_message(QueueUrl=rt.physical("TimerDeadLetterQueue"), MessageBody="x"))


def test_daily_summary_cannot_put_market_records(rt: LocalRuntime) -> None:
    with _as(rt, "DailySummaryFunction"):
        kinesis = boto3.client("kinesis")
        _denied(lambda: kinesis.put_record(StreamName=rt.physical("MarketStream"), Data=b"x", PartitionKey="k"))


def test_daily_summary_writes_reports_only_and_cannot_change_the_bucket(rt: LocalRuntime) -> None:
    """Issue 17: the S3 prefix scoping is enforced at run time (moto resolves S3 keys)."""
    bucket = rt.physical("ModelBucket")
    with _as(rt, "DailySummaryFunction"):
        s3 = boto3.client("s3")
        s3.put_object(Bucket=bucket, Key="reports/2022-01-01/probe.json", Body=b"{}")
        _denied(lambda: s3.put_object(Bucket=bucket, Key="models/latest.json", Body=b"{}"))
        _denied(lambda: s3.put_object(Bucket=bucket, Key="bars/probe", Body=b"{}"))
        rules = {"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]}
        _denied(lambda: s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=rules))
        _denied(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": []})))


def test_training_task_alone_writes_models(rt: LocalRuntime) -> None:
    bucket = rt.physical("ModelBucket")
    with _as(rt, "TrainingTaskDefinition"):
        boto3.client("s3").put_object(Bucket=bucket, Key="models/probe.json", Body=b"{}")
    for fn in ("EvaluateSignalsFunction", "OutcomeApiFunction", "ResolveOutcomeFunction", "IngestMarketFunction"):
        with _as(rt, fn):
            s3 = boto3.client("s3")
            _denied(lambda s3=s3: s3.put_object(Bucket=bucket, Key="models/probe.json", Body=b"{}"))


def test_outcome_api_cannot_park_or_sign(rt: LocalRuntime) -> None:
    with _as(rt, "OutcomeApiFunction"):
        sqs = boto3.client("sqs")
        _denied(lambda: sqs.send_message(QueueUrl=rt.physical("StreamDeadLetterQueue"), MessageBody="x"))
        kms = boto3.client("kms")
        _denied(lambda: kms.sign(KeyId=rt.physical("ModelSigningKey"), Message=b"m", SigningAlgorithm="x"))


def test_ingest_market_cannot_touch_tables_or_the_bucket(rt: LocalRuntime) -> None:
    with _as(rt, "IngestMarketFunction"):
        ddb = boto3.client("dynamodb")
        _denied(lambda: ddb.get_item(TableName=rt.physical("TradesTable"), Key={"trade_id": {"S": "t"}}))
        s3 = boto3.client("s3")
        _denied(lambda: s3.get_object(Bucket=rt.physical("ModelBucket"), Key="models/latest.json"))


def test_state_machine_role_cannot_read_tables(rt: LocalRuntime) -> None:
    """The scope a Step Functions execution's worker thread enters (the state machine's RoleArn)."""
    assert rt.layer is not None
    identity = rt.layer.by_role_arn[rt.identities["ShadowTradeTimer"].role_arn or ""]
    with rt.layer.scope(identity, None):
        ddb = boto3.client("dynamodb")
        _denied(lambda: ddb.get_item(TableName=rt.physical("ShadowTradesTable"), Key={"shadow_id": {"S": "s"}}))


def test_training_task_cannot_send_to_queues(rt: LocalRuntime) -> None:
    with _as(rt, "TrainingTaskDefinition"):
        sqs = boto3.client("sqs")
        _denied(lambda: sqs.send_message(QueueUrl=rt.physical("TimerDeadLetterQueue"), MessageBody="x"))
        ddb = boto3.client("dynamodb")
        ddb.describe_table(TableName=rt.physical("PricesTable"))  # ReadLearningData


def test_a_denied_call_inside_a_handler_fails_the_invocation(rt: LocalRuntime) -> None:
    """Through the real invoke path (Lambda Invoke on the emulator, routed to the handler): the handler runs
    as its own role, and a call its role may not make fails the invocation as on AWS."""
    lam = boto3.client("lambda")
    fn = rt.lambdas.get("ResolveOutcomeFunction")
    calls: list[str] = []

    def fault(event: dict[str, Any]) -> None:
        calls.append(boto3.client("sts").get_caller_identity()["Arn"])
        boto3.client("s3").list_objects_v2(Bucket=rt.physical("ModelBucket"))

    rt.lambdas.faults[fn.logical_id] = fault
    try:
        out = lam.invoke(FunctionName=fn.physical_name, Payload=json.dumps({}).encode())
    finally:
        rt.lambdas.faults.pop(fn.logical_id)
    assert out.get("FunctionError") == "Unhandled"
    assert "AccessDenied" in out["Payload"].read().decode()
    assert calls and "/ResolveOutcomeFunction" in calls[0]
