"""A first deploy from a fresh account, read from the SAM-translated template (issue 16).

Hamilton can get in with the least it needs, the API has one stage with access logs, and the first deploy
neither needs Docker nor starts the schedules before the image and the exchange are checked.
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from huracan.local.template import TEMPLATE_PATH, load_template
from tests.infra.test_template import PARAMETERS, _as_list, _ManagedPolicyLoaderStub, package_offline

ROOT = TEMPLATE_PATH.parent


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "eu-west-2")
        out: dict[str, Any] = transform(package_offline(template), dict(PARAMETERS), _ManagedPolicyLoaderStub())
    return out


def _of_type(cfn: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == rtype}


def test_no_api_integration_runs_with_the_callers_credentials(translated: dict[str, Any]) -> None:
    body = translated["Resources"]["HuracanApi"]["Properties"]["Body"]
    operations = [op for path in body["paths"].values() for op in path.values()]
    assert len(operations) == 2
    for op in operations:
        assert "credentials" not in op["x-amazon-apigateway-integration"]  # SAM's CALLER_CREDENTIALS would set it
        assert op["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
    # API Gateway invokes the function with its own permission instead
    permissions = _of_type(translated, "AWS::Lambda::Permission")
    api_permissions = [p for p in permissions.values() if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert len(api_permissions) == 2


def test_one_stage_the_configured_one_with_access_logs(translated: dict[str, Any]) -> None:
    stages = _of_type(translated, "AWS::ApiGateway::Stage")
    assert len(stages) == 1, sorted(stages)  # no stray stage named "Stage"
    (stage,) = stages.values()
    assert stage["Properties"]["StageName"] == {"Ref": "Stage"}
    logs = stage["Properties"]["AccessLogSetting"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.status" in logs["Format"] and "$context.identity.userArn" in logs["Format"]
    # the account's logging role exists before the stage (RestApi -> handle -> account setting)
    assert translated["Resources"]["HuracanApi"]["DependsOn"] == "ApiLoggingReady"


def test_hamilton_policy_is_the_two_routes_models_and_verify_only(translated: dict[str, Any]) -> None:
    assert translated["Outputs"]["HamiltonPolicyArn"]["Value"] == {"Ref": "HamiltonPolicy"}
    statements = translated["Resources"]["HamiltonPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    grants = {tuple(sorted(_as_list(s["Action"]))): s["Resource"] for s in statements}
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements)
    routes = grants[("execute-api:Invoke",)]
    assert sorted(r["Fn::Sub"].rsplit("}", 1)[-1] for r in routes) == [
        "/GET/api/models/latest",
        "/POST/api/trade_outcome",
    ]
    assert grants[("s3:GetObject",)] == {"Fn::Sub": "${ModelBucket.Arn}/models/*"}
    assert grants[("kms:GetPublicKey", "kms:Verify")] == {"Fn::GetAtt": ["ModelSigningKey", "Arn"]}
    assert len(grants) == 3


def test_a_cross_account_hamilton_is_named_in_bucket_key_and_api_policies(template: dict[str, Any]) -> None:
    res = template["Resources"]
    bucket = res["ModelBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    key = res["ModelSigningKey"]["Properties"]["KeyPolicy"]["Statement"]
    api = res["HuracanApi"]["Properties"]["Auth"]["ResourcePolicy"]["CustomStatements"]
    for statements, actions in ((bucket, "s3:GetObject"), (key, ["kms:GetPublicKey", "kms:Verify"]), (api, None)):
        (cond,) = [s["Fn::If"] for s in statements if isinstance(s, dict) and "Fn::If" in s]
        assert cond[0] == "HasHamiltonPrincipal"
        assert cond[1]["Principal"] == {"AWS": {"Ref": "HamiltonPrincipalArn"}}
        if actions is not None:
            assert cond[1]["Action"] == actions
    assert template["Parameters"]["HamiltonPrincipalArn"]["Default"] == ""


def test_first_deploy_needs_no_docker_and_starts_no_schedule(template: dict[str, Any]) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text("utf-8"))
    assert config["default"]["build"]["parameters"]["use_container"] is False
    assert config["prod"]["build"]["parameters"]["use_container"] is False
    assert "SchedulesEnabled" not in config["default"]["deploy"]["parameters"]["parameter_overrides"]
    assert template["Parameters"]["SchedulesEnabled"]["Default"] == "false"
    assert "restricted location" in template["Parameters"]["ExchangeApiUrl"]["Description"]
    assert template["Resources"]["HuracanApi"]["Properties"]["OpenApiVersion"] == "3.0.1"


def _alarms(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in _of_type(translated, "AWS::CloudWatch::Alarm").items()}


def test_failed_schedule_invocations_alarm_for_every_rule(translated: dict[str, Any]) -> None:
    rules = {
        lid for lid, r in _of_type(translated, "AWS::Events::Rule").items() if "ScheduleExpression" in r["Properties"]
    }
    watched = {
        a["Dimensions"][0]["Value"]["Ref"]
        for a in _alarms(translated).values()
        if (a["Namespace"], a["MetricName"]) == ("AWS/Events", "FailedInvocations")
    }
    assert rules and watched == rules


def test_timer_failed_timed_out_and_aborted_and_api_5xx_alarm(translated: dict[str, Any]) -> None:
    alarms = _alarms(translated).values()
    timer = {a["MetricName"] for a in alarms if a["Namespace"] == "AWS/States"}
    assert timer == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    (api,) = [a for a in alarms if a["Namespace"] == "AWS/ApiGateway"]
    assert api["MetricName"] == "5XXError"
    dims = {d["Name"]: d["Value"] for d in api["Dimensions"]}
    api_name = translated["Resources"]["HuracanApi"]["Properties"]["Name"]
    assert dims == {"ApiName": api_name, "Stage": {"Ref": "Stage"}}
    for a in alarms:
        assert a["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_a_failed_training_task_reaches_the_alarm_topic(translated: dict[str, Any]) -> None:
    rule = translated["Resources"]["TrainingTaskStoppedRule"]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    assert pattern["detail"]["lastStatus"] == ["STOPPED"]
    assert pattern["detail"]["containers"]["exitCode"] == [{"anything-but": 0}]
    assert rule["Targets"][0]["Arn"] == {"Ref": "AlarmTopic"}
    policy = translated["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Principal"] == {"Service": "events.amazonaws.com"}
    assert policy["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": ["TrainingTaskStoppedRule", "Arn"]}


def test_email_parameters_subscribe_both_topics(translated: dict[str, Any]) -> None:
    subs = {
        r["Properties"]["TopicArn"]["Ref"]: r["Condition"]
        for r in _of_type(translated, "AWS::SNS::Subscription").values()
    }
    assert subs == {"AlarmTopic": "HasAlarmEmail", "NotificationsTopic": "HasNotificationEmail"}


def test_training_image_is_required_and_pulled_from_its_repository_only(template: dict[str, Any]) -> None:
    import re

    param = template["Parameters"]["TrainingImageUri"]
    assert "Default" not in param  # no working-looking placeholder
    pattern = re.compile(param["AllowedPattern"])
    assert pattern.match("123456789012.dkr.ecr.eu-west-2.amazonaws.com/huracan-train:0123abc")
    assert not pattern.match("public.ecr.aws/docker/library/python:3.11-slim")
    bootstrap = load_template(ROOT / "infra" / "bootstrap" / "ecr.yaml")
    repo = bootstrap["Resources"]["TrainingImageRepository"]["Properties"]
    assert repo["ImageTagMutability"] == "IMMUTABLE" and repo["ImageScanningConfiguration"]["ScanOnPush"]
    assert "image:" in (ROOT / "Makefile").read_text("utf-8")


def test_network_choice_is_one_parameter(translated: dict[str, Any], template: dict[str, Any]) -> None:
    assert template["Parameters"]["TrainingNetwork"]["AllowedValues"] == ["public-subnet", "vpc-endpoints"]
    rule = translated["Resources"]["NightlyTrainingRule"]["Properties"]
    network = rule["Targets"][0]["EcsParameters"]["NetworkConfiguration"]["AwsVpcConfiguration"]
    assert network["AssignPublicIp"] == {"Fn::If": ["UseVpcEndpoints", "DISABLED", "ENABLED"]}
    endpoints = {
        r["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1]: (
            r["Properties"]["VpcEndpointType"],
            r["Condition"],
        )
        for r in _of_type(translated, "AWS::EC2::VPCEndpoint").values()
    }
    assert endpoints == {
        "s3": ("Gateway", "UseVpcEndpoints"),
        "dynamodb": ("Gateway", "UseVpcEndpoints"),
        "api": ("Interface", "UseVpcEndpoints"),
        "dkr": ("Interface", "UseVpcEndpoints"),
        "logs": ("Interface", "UseVpcEndpoints"),
        "kms": ("Interface", "UseVpcEndpoints"),
        "sns": ("Interface", "UseVpcEndpoints"),
        "monitoring": ("Interface", "UseVpcEndpoints"),
    }
