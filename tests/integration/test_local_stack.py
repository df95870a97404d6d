"""The local stack is created from template.yaml, and what moto cannot serve is listed with its stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from huracan.local.aws import EmbeddedAws, embedded_aws
from huracan.local.stack import LocalStack
from huracan.local.template import load_template, resources_of_type


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with embedded_aws() as aws:
        yield LocalStack(aws).deploy()


def test_every_table_stream_and_queue_of_the_template_exists(stack: LocalStack) -> None:
    template = load_template()
    ddb = boto3.client("dynamodb")
    tables = set(ddb.list_tables()["TableNames"])
    for lid in resources_of_type(template, "AWS::DynamoDB::Table"):
        assert stack.physical[lid] in tables
        # key schema is the template's, not a copy
        desc = ddb.describe_table(TableName=stack.physical[lid])["Table"]
        assert desc["KeySchema"] == template["Resources"][lid]["Properties"]["KeySchema"]
    streams = boto3.client("kinesis").list_streams()["StreamNames"]
    assert stack.physical["MarketStream"] in streams
    queues = boto3.client("sqs").list_queues()["QueueUrls"]
    assert any(stack.physical["StreamDeadLetterQueue"].rsplit("/", 1)[-1] in q for q in queues)


def test_function_environment_is_resolved_from_the_stack(stack: LocalStack) -> None:
    assert stack.lambdas is not None
    fn = stack.lambdas.get("EvaluateSignalsFunction")
    assert fn.environment["DECISIONS_TABLE"] == stack.physical["DecisionsTable"]
    assert fn.environment["TIMER_STATE_MACHINE_ARN"] == stack.physical["ShadowTradeTimer"]
    assert fn.code_dir.name == "evaluate_signals"


def test_stand_ins_are_listed_by_name(stack: LocalStack) -> None:
    lines = "\n".join(stack.describe())
    assert "ShadowTradeTimer" in lines and "Step Functions API" in lines
    assert "EvaluateSignalsFunctionMarketStream" in lines and "KinesisPoller" in lines
    assert "NightlyTrainingRule" in lines and "virtual clock" in lines
    sfn = boto3.client("stepfunctions")
    arns = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]
    assert stack.physical["ShadowTradeTimer"] in arns


def test_event_source_mapping_settings_come_from_the_template(stack: LocalStack) -> None:
    ((function, settings),) = stack.esm.values()
    assert "EvaluateSignalsFunction" in function
    assert settings.batch_size == 100
    assert settings.report_batch_item_failures and settings.bisect_on_error
    assert settings.on_failure_queue_url is not None


def test_schedules_are_the_templates_crons(stack: LocalStack) -> None:
    exprs = {s.rule_id: s.expression for s in stack.schedules}
    assert exprs["NightlyTrainingRule"] == "cron(0 0 * * ? *)"
    assert "cron(0 23 * * ? *)" in exprs.values()


def test_embedded_aws_restores_the_environment() -> None:
    import os

    before = os.environ.get("AWS_ENDPOINT_URL")
    aws = EmbeddedAws()
    with aws:
        assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint
    assert os.environ.get("AWS_ENDPOINT_URL") == before


def test_signing_key_is_asymmetric_and_usable(stack: LocalStack) -> None:
    kms = boto3.client("kms")
    key_id = stack.physical["ModelSigningKey"]
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    # the OpenSSF Model Signing format's key-based verifier takes elliptic-curve keys
    assert meta["KeySpec"] == "ECC_NIST_P256" and meta["KeyUsage"] == "SIGN_VERIFY"
    sig = kms.sign(KeyId=key_id, Message=b"manifest", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
    assert kms.verify(
        KeyId=key_id,
        Message=b"manifest",
        MessageType="RAW",
        Signature=sig["Signature"],
        SigningAlgorithm="ECDSA_SHA_256",
    )["SignatureValid"]
