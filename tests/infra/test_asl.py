"""The shadow-trade timer's ASL: structure, substitutions, and its failure path run on moto's interpreter.

The failure path (Resolve fails -> MarkError on DynamoDB -> ToDeadLetter on SQS -> Fail) runs for real on
moto's Step Functions interpreter, in-process: the resolver function is deliberately absent, so the Task
fails the way a broken resolver would, and the optimized DynamoDB/SQS integrations do the rest.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from huracan.local.template import TEMPLATE_PATH, dynamodb_table_kwargs, load_template

ROOT = TEMPLATE_PATH.parent
ASL_PATH = ROOT / "infra/statemachines/shadow_trade_timer.asl.json"
REGION = "eu-west-2"
LAMBDA_RETRY_ERRORS = {
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "States.Timeout",
}


@pytest.fixture(scope="module")
def asl_text() -> str:
    return ASL_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def asl(asl_text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(asl_text)
    return loaded


def _successors(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    if "Default" in state:
        yield state["Default"]


def test_every_transition_lands_on_a_state_and_every_state_is_reachable(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert asl["StartAt"] in states
    for name, state in states.items():
        for nxt in _successors(state):
            assert nxt in states, f"{name} -> {nxt} (no such state)"
    seen, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_successors(states[name]))
    assert seen == set(states), f"unreachable: {set(states) - seen}"
    terminal = {n for n, s in states.items() if s["Type"] in ("Succeed", "Fail") or s.get("End")}
    # the success path ends on the resolver's Task itself: every state entered is a billed transition
    assert {(n, s["Type"]) for n, s in states.items() if n in terminal} == {
        ("Resolve", "Task"),
        ("ResolutionFailed", "Fail"),
    }


def test_waits_until_resolve_at_then_invokes_the_resolver(asl: dict[str, Any]) -> None:
    wait = asl["States"][asl["StartAt"]]
    # resolve_at = timeout_at + one bar + IngestLagSeconds: the bar proving the window complete is stored
    assert (wait["Type"], wait["TimestampPath"]) == ("Wait", "$.resolve_at")
    resolve = asl["States"][wait["Next"]]
    assert resolve["Resource"] == "arn:aws:states:::lambda:invoke"
    assert resolve["Parameters"] == {"FunctionName": "${ResolveOutcomeFunctionArn}", "Payload.$": "$"}
    assert resolve.get("OutputPath") == "$.Payload" or "Payload" in json.dumps(resolve.get("ResultSelector"))
    assert resolve.get("End") is True and "Next" not in resolve


def test_resolve_retries_throttling_and_transient_errors_with_backoff(asl: dict[str, Any]) -> None:
    retry = asl["States"]["Resolve"]["Retry"]
    by_error = {e: r for r in retry for e in r["ErrorEquals"]}
    assert by_error.keys() >= LAMBDA_RETRY_ERRORS | {"TransientError"}
    for r in retry:
        assert r["BackoffRate"] == 2 and r["IntervalSeconds"] >= 1 and r["MaxAttempts"] >= 3
    assert all(by_error[e]["MaxAttempts"] == 3 for e in LAMBDA_RETRY_ERRORS)


def test_any_failure_marks_the_trade_then_dead_letters_then_fails(asl: dict[str, Any]) -> None:
    states = asl["States"]
    (catch,) = states["Resolve"]["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error"
    mark = states[catch["Next"]]
    assert mark["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    params = mark["Parameters"]
    assert params["TableName"] == "${ShadowTradesTableName}"
    assert params["Key"] == {"shadow_id": {"S.$": "$.shadow_id"}}
    assert params["ExpressionAttributeValues"][":error"] == {"S": "ERROR"}
    assert "#status = :open" in params["ConditionExpression"]  # never reopens a CLOSED trade
    # MarkError failing (e.g. the trade was already closed) must still reach the dead-letter queue
    dead_letter = states[mark["Next"]]
    assert all(c["Next"] == mark["Next"] for c in mark["Catch"])
    assert dead_letter["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert dead_letter["Parameters"] == {"QueueUrl": "${TimerDeadLetterQueueUrl}", "MessageBody.$": "$"}
    assert states[dead_letter["Next"]]["Type"] == "Fail"
    assert all(states[c["Next"]]["Type"] == "Fail" for c in dead_letter["Catch"])


def test_every_placeholder_is_substituted_by_the_template(asl_text: str) -> None:
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", asl_text))
    subs = load_template()["Resources"]["ShadowTradeTimer"]["Properties"]["DefinitionSubstitutions"]
    assert placeholders == set(subs)


def test_moto_parses_the_definition(asl_text: str) -> None:
    program, _ = AmazonStateLanguageParser.parse(asl_text)
    assert program is not None


def test_sample_resolver_input_drives_the_wait() -> None:
    sample = json.loads((ROOT / "events/resolver_input.json").read_text(encoding="utf-8"))
    assert {"shadow_id", "signal_id", "symbol", "timeout_at", "resolve_at"} <= set(sample)
    for key in ("timeout_at", "resolve_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", sample[key])
    assert sample["resolve_at"] > sample["timeout_at"]
    # the evaluator names the execution after shadow_id: Step Functions allows 1-80 of [A-Za-z0-9_-]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", sample["shadow_id"])


# ------------------------------------------------------------------ the failure path on moto


def _run_timer(status_before: str | None) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]]:
    """Run one execution whose resolver does not exist; return (execution, trade item, DLQ messages)."""
    template = load_template()
    sample = json.loads((ROOT / "events/resolver_input.json").read_text(encoding="utf-8"))
    # use_docker explicitly: without Docker the resolver cannot run, whatever another server set process-wide
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": True}}):
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(**dynamodb_table_kwargs(template, "ShadowTradesTable", "shadow_trades"))
        if status_before is not None:
            ddb.put_item(
                TableName="shadow_trades",
                Item={"shadow_id": {"S": sample["shadow_id"]}, "status": {"S": status_before}},
            )
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="timer-dlq")["QueueUrl"]
        definition = ASL_PATH.read_text(encoding="utf-8")
        for key, value in {
            "ResolveOutcomeFunctionArn": f"arn:aws:lambda:{REGION}:123456789012:function:absent-resolver",
            "ShadowTradesTableName": "shadow_trades",
            "TimerDeadLetterQueueUrl": queue_url,
        }.items():
            definition = definition.replace("${" + key + "}", value)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="shadow-trade-timer", definition=definition, roleArn="arn:aws:iam::123456789012:role/timer"
        )["stateMachineArn"]
        # timeout_at is in the past, so the Wait state passes at once
        execution_arn = sfn.start_execution(
            stateMachineArn=machine, name=sample["shadow_id"], input=json.dumps(sample)
        )["executionArn"]
        deadline = time.monotonic() + 60
        execution = sfn.describe_execution(executionArn=execution_arn)
        while execution["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
            execution = sfn.describe_execution(executionArn=execution_arn)
        item = ddb.get_item(TableName="shadow_trades", Key={"shadow_id": {"S": sample["shadow_id"]}}).get("Item")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return dict(execution), dict(item) if item is not None else None, [json.loads(m["Body"]) for m in messages]


@pytest.fixture(scope="module", autouse=True)
def _fake_credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            mp.setenv(name, value)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        yield


def test_a_failed_resolution_marks_the_open_trade_error_and_dead_letters_it() -> None:
    execution, item, messages = _run_timer("OPEN")
    assert execution["status"] == "FAILED"
    assert execution["error"] == "ShadowTradeResolutionFailed"
    assert item is not None and item["status"] == {"S": "ERROR"}
    assert item["error_type"]["S"].startswith("Lambda.")
    assert "absent-resolver" in item["error_cause"]["S"]
    (body,) = messages
    assert body["shadow_id"] == item["shadow_id"]["S"]
    assert body["error"]["Error"] == item["error_type"]["S"]


def test_a_trade_that_is_not_open_keeps_its_status_but_is_still_dead_lettered() -> None:
    execution, item, messages = _run_timer("CLOSED")
    assert execution["status"] == "FAILED"
    assert item is not None and item["status"] == {"S": "CLOSED"}
    assert "error_cause" not in item
    (body,) = messages
    assert body["mark_error"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
