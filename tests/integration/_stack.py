"""Resources for the evaluate-signals integration tests, created on the moto server from template.yaml.

Every test gets its own uniquely named tables / queue / state machine, so tests can share one server.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from huracan.local.template import dynamodb_table_kwargs, load_template, resources_of_type

TABLE_ENV = {
    "ShadowTradesTable": "SHADOW_TRADES_TABLE",
    "TradesTable": "TRADES_TABLE",
    "DecisionsTable": "DECISIONS_TABLE",
    "PricesTable": "PRICES_TABLE",
}

#: The real timer ASL is tested elsewhere; here an execution only has to exist under its name.
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@contextmanager
def aws_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """The shared ``moto_server`` fixture when conftest provides it, else a private embedded server."""
    try:
        request.getfixturevalue("moto_server")
    except pytest.FixtureLookupError:
        from huracan.local.aws import embedded_aws

        with embedded_aws() as aws:
            yield aws.endpoint
        return
    yield os.environ["AWS_ENDPOINT_URL"]


def create_resources(endpoint: str) -> dict[str, str]:
    """Tables (key schemas from template.yaml), the stream DLQ and a Pass-state timer; returns the env."""
    template = load_template()
    suffix = uuid.uuid4().hex[:8]
    region = os.environ.get("AWS_DEFAULT_REGION", "eu-west-2")
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
    env: dict[str, str] = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": region}
    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    for logical_id, var in TABLE_ENV.items():
        name = f"{logical_id}-{suffix}"
        ddb.create_table(**dynamodb_table_kwargs(template, logical_id, name))
        ttl = tables[logical_id]["Properties"].get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        env[var] = name
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
    assert template["Resources"]["StreamDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    env["DEAD_LETTER_QUEUE_URL"] = sqs.create_queue(QueueName=f"StreamDeadLetterQueue-{suffix}")["QueueUrl"]
    sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name=region)
    assert template["Resources"]["ShadowTradeTimer"]["Properties"]["Type"] == "STANDARD"
    env["TIMER_STATE_MACHINE_ARN"] = sfn.create_state_machine(
        name=f"ShadowTradeTimer-{suffix}",
        definition=PASS_DEFINITION,
        roleArn="arn:aws:iam::123456789012:role/shadow-trade-timer",
        type="STANDARD",
    )["stateMachineArn"]
    return env


def drain_queue(endpoint: str, queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue (bodies parsed), receiving until it is empty."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=os.environ.get("AWS_DEFAULT_REGION", "eu-west-2"))
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        msgs = got.get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
