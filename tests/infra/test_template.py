"""template.yaml against the contracts other parts rely on, before anything is deployed.

Checked on two forms: the SAM source (what people edit, what ``huracan.local`` reads) and the CloudFormation
that ``samtranslator`` produces offline (what IAM actually gets: SAM policy templates expand there).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform

from huracan.local.template import TEMPLATE_PATH, load_template, resources_of_type

ROOT = TEMPLATE_PATH.parent

# The table contract: logical id -> (hash key, range key, {gsi: (hash, range)}, ttl attribute, env var); the
# shadow trades' by_status_due index is the sweeper's (one query for the OPEN trades past their window).
TABLES: dict[str, tuple[str, str | None, dict[str, tuple[str, str]], str | None, str]] = {
    "ShadowTradesTable": (
        "shadow_id",
        None,
        {"by_day": ("day", "ts"), "by_status_due": ("status", "timeout_at")},
        None,
        "SHADOW_TRADES_TABLE",
    ),
    "TradesTable": ("trade_id", None, {"by_day": ("day", "ts_open")}, None, "TRADES_TABLE"),
    "DecisionsTable": ("signal_id", None, {"by_day": ("day", "ts")}, "expires_at", "DECISIONS_TABLE"),
    "PricesTable": ("symbol", "ts", {}, "expires_at", "PRICES_TABLE"),
    "IdempotencyTable": ("id", None, {}, "expiration", "IDEMPOTENCY_TABLE"),
}

# Env var -> the logical id its value must reference (Ref), shared by every function through Globals.
GLOBAL_ENV: dict[str, str] = {
    **{env: lid for lid, (*_, env) in TABLES.items()},
    "MARKET_STREAM_NAME": "MarketStream",
    "DEAD_LETTER_QUEUE_URL": "StreamDeadLetterQueue",
    "TIMER_DLQ_URL": "TimerDeadLetterQueue",
    "MODEL_BUCKET": "ModelBucket",
    "NOTIFICATIONS_TOPIC_ARN": "NotificationsTopic",
    "MODEL_SIGNING_KEY_ID": "ModelSigningKey",
    "HAMILTON_HMAC_SECRET_ARN": "HamiltonHmacSecret",
    "HURACAN_PROFILE": "HuracanProfile",
    "HURACAN_CONFIG": "HuracanConfig",
}

FUNCTIONS: dict[str, tuple[str, str]] = {
    "EvaluateSignalsFunction": ("functions/evaluate_signals/", "app.lambda_handler"),
    "ResolveOutcomeFunction": ("functions/resolve_outcome/", "app.lambda_handler"),
    "DailySummaryFunction": ("functions/daily_summary/", "app.lambda_handler"),
    "OutcomeApiFunction": ("functions/outcome_api/", "app.app"),
    "IngestMarketFunction": ("functions/ingest_market/", "app.lambda_handler"),
    "SweepOpenTradesFunction": ("functions/sweep_open_trades/", "app.lambda_handler"),
    "RotateHmacSecretFunction": ("functions/rotate_hmac_secret/", "app.lambda_handler"),
}

# Managed policies SAM attaches on its own (basic execution, X-Ray, Kinesis poller). The loader stub answers
# for exactly these, so translation never calls IAM, and anything else shows up as a test failure.
MANAGED_POLICIES: dict[str, str] = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSLambdaKinesisExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole",
    "AmazonAPIGatewayPushToCloudWatchLogs": "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}

PARAMETERS = {
    "VpcId": "vpc-0123456789abcdef0",
    "Subnets": ["subnet-0123456789abcdef0"],
    "TrainingImageUri": "123456789012.dkr.ecr.eu-west-2.amazonaws.com/huracan-train:0123abc",
}


class _ManagedPolicyLoaderStub:
    """Stands in for samtranslator's IAM-backed ManagedPolicyLoader: no AWS call during translation."""

    def load(self) -> dict[str, str]:
        return dict(MANAGED_POLICIES)


def package_offline(template: dict[str, Any]) -> dict[str, Any]:
    """What ``sam package`` would do, without S3: code URIs become S3 locations, the ASL is inlined."""
    packaged = copy.deepcopy(template)
    for lid, res in packaged["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://huracan-artifacts/{lid}.zip"
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://huracan-artifacts/{lid}.zip"
        elif res["Type"] == "AWS::Serverless::StateMachine":
            props["Definition"] = json.loads((ROOT / props.pop("DefinitionUri")).read_text(encoding="utf-8"))
    return packaged


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "eu-west-2")  # samtranslator needs a region for ARNs, nothing else
        out: dict[str, Any] = transform(package_offline(template), dict(PARAMETERS), _ManagedPolicyLoaderStub())
    return out


def _props(template: dict[str, Any], lid: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][lid]["Properties"]
    return props


# ------------------------------------------------------------------ lint + translation


def test_cfn_lint_reports_nothing_including_informational_checks() -> None:
    # Given the template as written (cfn-lint applies the SAM transform itself)
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    # When every error, warning and informational rule runs for three regions
    matches = lint(text, config=ManualArgs(include_checks=["I"], regions=["eu-west-2", "eu-west-1", "us-east-1"]))
    # Then there is nothing to report
    assert [str(m) for m in matches] == []


def test_cfn_lint_ignores_in_metadata_are_each_justified(template: dict[str, Any]) -> None:
    ignored = template["Metadata"]["cfn-lint"]["config"].get("ignore_checks", [])
    justified = template["Metadata"].get("Huracan::CfnLintIgnoreJustifications", {})
    assert set(ignored) <= set(justified), f"unjustified cfn-lint ignores: {set(ignored) - set(justified)}"


def test_sam_translation_yields_the_resources_the_design_names(translated: dict[str, Any]) -> None:
    types = {lid: res["Type"] for lid, res in translated["Resources"].items()}
    for lid in FUNCTIONS:
        assert types[lid] == "AWS::Lambda::Function"
    assert types["ShadowTradeTimer"] == "AWS::StepFunctions::StateMachine"
    assert types["MarketStream"] == "AWS::Kinesis::Stream"
    assert types["ModelSigningKey"] == "AWS::KMS::Key"
    assert types["HamiltonHmacSecret"] == "AWS::SecretsManager::Secret"
    assert sum(t == "AWS::Lambda::EventSourceMapping" for t in types.values()) == 1
    assert not any(t.startswith("AWS::Serverless::") for t in types.values())


# ------------------------------------------------------------------ tables


@pytest.mark.parametrize("lid", sorted(TABLES))
def test_table_matches_the_contract(template: dict[str, Any], lid: str) -> None:
    hash_key, range_key, gsis, ttl, _ = TABLES[lid]
    props = _props(template, lid)
    assert template["Resources"][lid]["Type"] == "AWS::DynamoDB::Table"
    expected_keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        expected_keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    assert props["KeySchema"] == expected_keys
    found_gsis = {
        g["IndexName"]: tuple(k["AttributeName"] for k in g["KeySchema"])
        for g in props.get("GlobalSecondaryIndexes", [])
    }
    assert found_gsis == gsis
    # every key attribute is declared as a string, and nothing else is declared (CloudFormation rejects extras)
    key_attrs = {hash_key, *([range_key] if range_key else []), *(a for pair in gsis.values() for a in pair)}
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == dict.fromkeys(
        key_attrs, "S"
    )
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    if ttl is None:
        assert "TimeToLiveSpecification" not in props
    else:
        assert props["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}


def test_every_function_gets_every_shared_name_from_globals(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    for name, lid in GLOBAL_ENV.items():
        assert env[name] == {"Ref": lid}, name
    assert env["POWERTOOLS_SERVICE_NAME"] == "huracan"
    # only the evaluator starts timers; the resolver (the timer's own task) must not depend on the timer
    assert "TIMER_STATE_MACHINE_ARN" not in env
    evaluate_env = _props(template, "EvaluateSignalsFunction")["Environment"]["Variables"]
    assert evaluate_env["TIMER_STATE_MACHINE_ARN"] == {"Ref": "ShadowTradeTimer"}


def test_globals_run_python312_traced_with_the_serving_layer(template: dict[str, Any]) -> None:
    glob = template["Globals"]["Function"]
    assert glob["Runtime"] == "python3.12"
    assert glob["Tracing"] == "Active"
    assert "Layers" not in glob  # SAM would add a global layer to every function's own list
    layers = {
        lid: res["Properties"]["Layers"]
        for lid, res in template["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }
    # the daily report gets matplotlib (ReportingLayer); everything else serves with the lean ServingLayer
    assert layers.pop("DailySummaryFunction") == [{"Ref": "ReportingLayer"}]
    assert layers and all(v == [{"Ref": "ServingLayer"}] for v in layers.values())
    for name in ("ServingLayer", "ReportingLayer"):
        layer = template["Resources"][name]
        assert layer["Metadata"]["BuildMethod"] == "makefile"
        assert glob["Architectures"] == layer["Properties"]["CompatibleArchitectures"]


def test_reporting_layer_is_the_serving_layer_without_onnxruntime_plus_matplotlib() -> None:
    def pins(path: str) -> set[str]:
        text = (ROOT / path).read_text().splitlines()
        return {ln.strip() for ln in text if ln.strip() and not ln.startswith("#")}

    serving, reporting = pins("layers/serving/requirements.txt"), pins("layers/reporting/requirements.txt")
    assert serving - {p for p in serving if p.startswith("onnxruntime")} <= reporting
    assert not any(p.startswith("onnxruntime") for p in reporting)
    assert any(p.startswith("matplotlib==") for p in reporting)


def test_serving_layer_build_ships_huracan_without_pandas_or_sklearn() -> None:
    makefile = (ROOT / "layers/serving/Makefile").read_text(encoding="utf-8")
    assert re.search(r"^build-ServingLayer:", makefile, re.MULTILINE)
    assert "huracan" in makefile
    reqs = {
        re.split(r"[=<>!~\[ ;]", line, maxsplit=1)[0].lower()
        for line in (ROOT / "layers/serving/requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"numpy", "pydantic", "pynamodb", "aws-lambda-powertools", "onnxruntime", "cryptography"} <= reqs
    # the model is served as ONNX (huracan.serving): LightGBM and its scipy would break the 150 MB budget
    assert not reqs & {"pandas", "scikit-learn", "sklearn", "matplotlib", "lightgbm", "scipy"}


# ------------------------------------------------------------------ functions, stream, schedules


@pytest.mark.parametrize("lid", sorted(FUNCTIONS))
def test_function_code_handler_and_log_group(template: dict[str, Any], lid: str) -> None:
    code_uri, handler = FUNCTIONS[lid]
    props = _props(template, lid)
    assert (props["CodeUri"], props["Handler"]) == (code_uri, handler)
    group = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert _props(template, group)["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_every_log_group_has_a_retention(template: dict[str, Any]) -> None:
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert len(groups) >= len(FUNCTIONS) + 2  # + state machine + training task
    assert all("RetentionInDays" in g["Properties"] for g in groups.values())


def test_event_source_mapping_settings(translated: dict[str, Any]) -> None:
    (esm,) = (
        r["Properties"] for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
    )
    assert esm["FunctionName"] == {"Ref": "EvaluateSignalsFunction"}
    assert esm["EventSourceArn"] == {"Fn::GetAtt": ["MarketStream", "Arn"]}
    assert esm["BatchSize"] == 100
    assert esm["StartingPosition"] == "TRIM_HORIZON"
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["BisectBatchOnFunctionError"] is True
    assert 0 < esm["MaximumRetryAttempts"] <= 10  # finite: -1 would retry a poison batch for 24 h
    assert 60 <= esm["MaximumRecordAgeInSeconds"] <= 86400
    assert esm["ParallelizationFactor"] == 1  # a symbol's records stay in order
    assert esm["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}


def _rules(translated: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for lid, res in translated["Resources"].items():
        if res["Type"] == "AWS::Events::Rule":
            yield lid, res["Properties"]


def test_schedules_have_the_designed_crons_and_one_switch(translated: dict[str, Any]) -> None:
    by_target: dict[str, dict[str, Any]] = {}
    for _, props in _rules(translated):
        (target,) = props["Targets"]
        by_target[json.dumps(target["Arn"])] = props
    daily = by_target[json.dumps({"Fn::GetAtt": ["DailySummaryFunction", "Arn"]})]
    ingest = by_target[json.dumps({"Fn::GetAtt": ["IngestMarketFunction", "Arn"]})]
    nightly = by_target[json.dumps({"Fn::GetAtt": ["TrainingCluster", "Arn"]})]
    assert daily["ScheduleExpression"] == "cron(0 23 * * ? *)"
    assert ingest["ScheduleExpression"] == "rate(1 minute)"
    assert nightly["ScheduleExpression"] == "cron(0 0 * * ? *)"
    # SchedulesEnabled really reaches every rule (SAM would turn an intrinsic in `Enabled` into ENABLED)
    for props in (daily, ingest, nightly):
        assert props["State"] == {"Fn::If": ["SchedulesOn", "ENABLED", "DISABLED"]}


def test_nightly_training_runs_the_fargate_task(template: dict[str, Any]) -> None:
    (target,) = _props(template, "NightlyTrainingRule")["Targets"]
    ecs = target["EcsParameters"]
    assert ecs["TaskDefinitionArn"] == {"Ref": "TrainingTaskDefinition"}
    assert ecs["LaunchType"] == "FARGATE"
    assert ecs["NetworkConfiguration"]["AwsVpcConfiguration"]["Subnets"] == {"Ref": "Subnets"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["NightlyTrainingEventsRole", "Arn"]}
    task = _props(template, "TrainingTaskDefinition")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    assert (task["Cpu"], task["Memory"]) == ("1024", "4096")
    (container,) = task["ContainerDefinitions"]
    assert container["Image"] == {"Ref": "TrainingImageUri"}
    assert container["Command"] == ["python", "-m", "huracan.learning.nightly"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    for name in ("SHADOW_TRADES_TABLE", "TRADES_TABLE", "DECISIONS_TABLE", "PRICES_TABLE", "MODEL_BUCKET"):
        assert env[name] == {"Ref": GLOBAL_ENV[name]}
    assert env["MODEL_SIGNING_KEY_ID"] == {"Ref": "ModelSigningKey"}
    # the user's settings file and whether the strategies run reach the training too: a stack fed by the
    # user's own signals must not train on built-in ones (issue 15)
    assert env["HURACAN_CONFIG"] == {"Ref": "HuracanConfig"}
    assert env["STRATEGIES_ENABLED"] == {"Ref": "StrategiesEnabled"}
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "TrainingLogGroup"}


def test_outcome_api_is_iam_authenticated(template: dict[str, Any]) -> None:
    events = _props(template, "OutcomeApiFunction")["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]): e["Properties"] for e in events.values()}
    assert set(routes) == {("POST", "/api/trade_outcome"), ("GET", "/api/models/latest")}
    assert all(p["Auth"]["Authorizer"] == "AWS_IAM" for p in routes.values())
    assert _props(template, "HuracanApi")["Auth"]["DefaultAuthorizer"] == "AWS_IAM"


# ------------------------------------------------------------------ state machine, storage, security


def test_state_machine_definition_and_logging(template: dict[str, Any]) -> None:
    props = _props(template, "ShadowTradeTimer")
    assert props["Type"] == "STANDARD"
    assert (ROOT / props["DefinitionUri"]).is_file()
    assert set(props["DefinitionSubstitutions"]) == {
        "ResolveOutcomeFunctionArn",
        "ShadowTradesTableName",
        "TimerDeadLetterQueueUrl",
    }
    (dest,) = props["Logging"]["Destinations"]
    group = dest["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert "RetentionInDays" in _props(template, group)


def test_model_bucket_is_private_versioned_encrypted_and_tls_only(template: dict[str, Any]) -> None:
    props = _props(template, "ModelBucket")
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert any("NoncurrentVersionExpiration" in r for r in props["LifecycleConfiguration"]["Rules"])
    policy = _props(template, "ModelBucketPolicy")
    assert policy["Bucket"] == {"Ref": "ModelBucket"}
    (deny,) = [
        s for s in policy["PolicyDocument"]["Statement"] if s.get("Effect") == "Deny"
    ]  # Fn::If: the optional cross-account grant
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_queues_topic_stream_key_and_secret_are_encrypted(template: dict[str, Any]) -> None:
    for lid in ("StreamDeadLetterQueue", "TimerDeadLetterQueue"):
        assert _props(template, lid)["SqsManagedSseEnabled"] is True
    assert _props(template, "NotificationsTopic")["KmsMasterKeyId"] == "alias/aws/sns"
    assert _props(template, "MarketStream")["StreamEncryption"]["EncryptionType"] == "KMS"
    key = _props(template, "ModelSigningKey")
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")  # OpenSSF Model Signing: EC keys
    assert "GenerateSecretString" in _props(template, "HamiltonHmacSecret")


def _policy_documents(translated: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(owner logical id, policy name, document) for every identity policy in the translated template."""
    for lid, res in translated["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            for pol in props.get("Policies", []):
                yield lid, pol["PolicyName"], pol["PolicyDocument"]
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield lid, props.get("PolicyName", lid), props["PolicyDocument"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_wildcard_resource_in_translated_iam_unless_justified(
    template: dict[str, Any], translated: dict[str, Any]
) -> None:
    justified = set(template["Metadata"]["Huracan::WildcardResourceJustifications"])
    found: list[str] = []
    statements = 0
    for owner, _, doc in _policy_documents(translated):
        for stmt in _as_list(doc["Statement"]):
            statements += 1
            assert "*" not in _as_list(stmt["Action"]), f"{owner}: Action '*'"
            if stmt["Effect"] == "Allow" and "*" in _as_list(stmt.get("Resource", [])):
                found.append(f"{owner}/{stmt.get('Sid')}")
    assert statements > 30  # the walk really saw the expanded SAM policy templates
    assert set(found) <= justified, f"unjustified Resource '*': {sorted(set(found) - justified)}"


def test_managed_policies_are_only_the_justified_aws_ones(template: dict[str, Any], translated: dict[str, Any]) -> None:
    justified = set(template["Metadata"]["Huracan::WildcardResourceJustifications"])
    arns = {
        arn
        for res in translated["Resources"].values()
        if res["Type"] == "AWS::IAM::Role"
        for arn in res["Properties"].get("ManagedPolicyArns", [])
    }
    assert arns, "SAM always attaches the basic execution role"
    assert {a.rsplit("/", 1)[-1] for a in arns} <= justified & set(MANAGED_POLICIES)


def test_only_the_training_role_may_sign_models(template: dict[str, Any]) -> None:
    statements = _props(template, "ModelSigningKey")["KeyPolicy"]["Statement"]
    (deny,) = [s for s in statements if s.get("Effect") == "Deny"]  # Fn::If: the optional cross-account grant
    assert deny["Action"] == "kms:Sign"
    assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == {"Fn::GetAtt": ["TrainingTaskRole", "Arn"]}


# ------------------------------------------------------------------ alarms, outputs


def test_nightly_heartbeat_fires_after_36_hours_without_a_finished_run(template: dict[str, Any]) -> None:
    alarm = _props(template, "NightlyRunHeartbeatAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Huracan", "ModelsExported")
    # a datapoint (0 or 1) every finished night: counting them, a night without a model is not an alarm
    assert alarm["Statistic"] == "SampleCount" and alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 36 * 3600
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert template["Resources"]["NightlyRunHeartbeatAlarm"]["Condition"] == "SchedulesOn"
    assert "NoModelPublishedAlarm" not in template["Resources"]


def test_alarms_cover_iterator_age_dlq_depth_and_every_function(template: dict[str, Any]) -> None:
    alarms = [a["Properties"] for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()]
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms}
    assert ("AWS/Lambda", "IteratorAge") in metrics
    dlq_dims = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms
        if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert {"StreamDeadLetterQueue", "TimerDeadLetterQueue"} <= dlq_dims
    error_fns = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a["MetricName"] == "Errors"}
    assert error_fns == set(FUNCTIONS)
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)


def test_outputs_name_everything_tests_and_hamilton_look_up(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    refs = {json.dumps(o["Value"]) for o in outputs.values()}
    for lid in [
        *TABLES,
        "MarketStream",
        "StreamDeadLetterQueue",
        "TimerDeadLetterQueue",
        "ShadowTradeTimer",
        "ModelBucket",
        "NotificationsTopic",
        "ModelSigningKey",
        "HamiltonHmacSecret",
    ]:
        assert json.dumps({"Ref": lid}) in refs, lid
    assert "HuracanApi" in outputs["ApiUrl"]["Value"]["Fn::Sub"]


def test_sample_events_exist_for_each_trigger() -> None:
    events = {p.name for p in (ROOT / "events").glob("*.json")}
    assert {
        "kinesis_batch.json",
        "schedule_daily_summary.json",
        "api_trade_outcome_post.json",
        "resolver_input.json",
    } <= events
