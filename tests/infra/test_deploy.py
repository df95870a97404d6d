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
