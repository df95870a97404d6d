"""Resource scoping the emulator cannot check, proved from the SAM-translated template instead.

moto resolves the request's resource only for S3, SQS, IAM and STS, so the local stack's copy of every other
statement is widened to ``*`` (huracan.local.policies). What each role may reach on those services is
therefore pinned here, on the translated template CloudFormation would receive; the local copy is checked to
differ from it only in the ways the module says.
"""

from __future__ import annotations

from typing import Any

import pytest

from huracan.local.policies import RESOLVED_SERVICES, iter_policy_documents, localize_policies
from huracan.local.stack import _refs
from huracan.local.template import load_template
from tests.infra.test_template import PARAMETERS, _as_list, _ManagedPolicyLoaderStub, _policy_documents, package_offline

#: role (or attached policy) -> service -> the stack resources its Allow statements name ("*" = justified in
#: the template's Huracan::WildcardResourceJustifications, checked by test_template).
EXPECTED: dict[str, dict[str, set[str]]] = {
    "DailySummaryFunctionRole": {
        "dynamodb": {"DecisionsTable", "PricesTable", "ShadowTradesTable", "TradesTable"},
        "sns": {"NotificationsTopic"},
    },
    "EvaluateSignalsFunctionRole": {
        "dynamodb": {"DecisionsTable", "IdempotencyTable", "PricesTable", "ShadowTradesTable"},
        "kms": {"ModelSigningKey"},
        "states": {"ShadowTradeTimer"},
    },
    "HamiltonPolicy": {"kms": {"ModelSigningKey"}},
    "IngestMarketFunctionRole": {"kinesis": {"MarketStream"}},
    "NightlyTrainingEventsRole": {"ecs": {"TrainingTaskDefinition"}},
    "OutcomeApiFunctionRole": {
        "dynamodb": {"IdempotencyTable", "TradesTable"},
        "kms": {"ModelSigningKey"},
        "secretsmanager": {"HamiltonHmacSecret"},
    },
    "ResolveOutcomeFunctionRole": {
        "dynamodb": {"DecisionsTable", "IdempotencyTable", "PricesTable", "ShadowTradesTable"},
    },
    # GetRandomPassword names no resource on AWS: "*" is the only Resource it accepts
    "RotateHmacSecretFunctionRole": {"secretsmanager": {"*", "HamiltonHmacSecret"}},
    "ShadowTradeTimerRole": {
        "dynamodb": {"ShadowTradesTable"},
        "lambda": {"ResolveOutcomeFunction"},
        "logs": {"*"},
    },
    "SweepOpenTradesFunctionRole": {
        "dynamodb": {"PricesTable", "ShadowTradesTable"},
        "states": {"ShadowTradeTimer"},
    },
    "TrainingExecutionRole": {"ecr": {"*", "repository"}, "logs": {"TrainingLogGroup"}},
    "TrainingTaskPolicy": {
        "cloudwatch": {"*"},
        "dynamodb": {"DecisionsTable", "PricesTable", "ShadowTradesTable", "TradesTable"},
        "kms": {"ModelSigningKey"},
        "sns": {"NotificationsTopic"},
    },
}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "eu-west-2")
        out: dict[str, Any] = transform(package_offline(load_template()), dict(PARAMETERS), _ManagedPolicyLoaderStub())
    return out


def _named(resource: Any, resources: set[str]) -> set[str]:
    if resource == "*":
        return {"*"}
    names = _refs(resource) & resources
    if not names and ":repository/" in str(resource):
        return {"repository"}
    return names


def _scoping(cfn: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    resources = set(cfn["Resources"])
    out: dict[str, dict[str, set[str]]] = {}
    for owner, _, doc in _policy_documents(cfn):
        for st in _as_list(doc["Statement"]):
            if st["Effect"] != "Allow":
                continue
            named = set().union(*(_named(r, resources) for r in _as_list(st.get("Resource", "*"))))
            assert named, f"{owner}/{st.get('Sid')}: names no stack resource: {st.get('Resource')}"
            for action in _as_list(st["Action"]):
                service = action.split(":", 1)[0]
                if service not in RESOLVED_SERVICES:
                    out.setdefault(owner, {}).setdefault(service, set()).update(named)
    return out


def test_roles_reach_only_their_resources_on_services_moto_cannot_scope(translated: dict[str, Any]) -> None:
    assert _scoping(translated) == EXPECTED


def _aws_name(action: str) -> str:
    """moto's name for a CloudWatch action (``monitoring:``) back to AWS's (``cloudwatch:``): the one alias."""
    return "cloudwatch:" + action.split(":", 1)[1] if action.startswith("monitoring:") else action


def test_local_copy_only_widens_unresolvable_resources_and_drops_conditions(translated: dict[str, Any]) -> None:
    local = localize_policies(translated)
    original = {id(d): d for _, d in iter_policy_documents(translated)}
    assert original  # the walk saw the policies
    for (owner, doc), (_, orig) in zip(iter_policy_documents(local), iter_policy_documents(translated), strict=True):
        kept = [s for s in _as_list(orig["Statement"]) if s["Effect"] == "Allow"]
        for st in _as_list(doc["Statement"]):
            assert "Condition" not in st, owner
            actions = [_aws_name(a) for a in _as_list(st["Action"])]
            services = {a.split(":", 1)[0] for a in actions}
            if services <= RESOLVED_SERVICES:
                # S3/SQS/IAM/STS keep their ARNs: enforced by the emulator exactly as written
                assert any(
                    st["Resource"] == o.get("Resource") and set(actions) <= set(_as_list(o["Action"])) for o in kept
                )
            else:
                assert st["Resource"] == "*" and not services & RESOLVED_SERVICES
                named = {a.replace("monitoring:", "cloudwatch:") for a in actions}
                assert any(named <= set(_as_list(o["Action"])) for o in kept), owner
    # nothing granted locally that the template does not grant (actions)
    granted = {
        a
        for _, d in iter_policy_documents(translated)
        for s in _as_list(d["Statement"])
        if s["Effect"] == "Allow"
        for a in _as_list(s["Action"])
    }
    local_granted = {
        _aws_name(a)
        for _, d in iter_policy_documents(local)
        for s in _as_list(d["Statement"])
        for a in _as_list(s["Action"])
    }
    # the signing-name spelling moto checks is the same grant (cloudwatch:X as monitoring:X)
    spelled = {a.replace("cloudwatch:", "monitoring:") for a in granted}
    assert local_granted <= granted | spelled


# ------------------------------------------------------------------ issue 17: each role touches only its prefix
_S3_WRITES = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:RestoreObject")
_BUCKET_ADMIN = ("s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl")


def _s3_grants(cfn: dict[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for owner, _, doc in _policy_documents(cfn):
        for st in _as_list(doc["Statement"]):
            if st["Effect"] != "Allow":
                continue
            for action in _as_list(st["Action"]):
                if action.startswith("s3:") or action == "*":
                    for res in _as_list(st.get("Resource", "*")):
                        out.setdefault(owner, []).append((action, res))
    return out


def test_only_the_training_task_writes_models_and_nobody_changes_the_bucket(translated: dict[str, Any]) -> None:
    grants = _s3_grants(translated)
    for owner, pairs in grants.items():
        for action, res in pairs:
            assert action not in _BUCKET_ADMIN and action not in ("s3:*", "*"), (owner, action)
            if action in _S3_WRITES:
                prefix = str(res.get("Fn::Sub", res) if isinstance(res, dict) else res)
                assert "/" in prefix and not prefix.endswith("}/*"), f"{owner}: {action} on the whole bucket"
                if "/models/" in prefix:
                    assert owner == "TrainingTaskPolicy", f"{owner} may write models/"
    # ingest has no S3 access at all; the daily summary writes reports/ (and the settled decision days it reads)
    assert "IngestMarketFunctionRole" not in grants
    summary_writes = {str(r) for a, r in grants["DailySummaryFunctionRole"] if a in _S3_WRITES}
    assert summary_writes == {
        str({"Fn::Sub": "${ModelBucket.Arn}/reports/*"}),
        str({"Fn::Sub": "${ModelBucket.Arn}/datasets/decisions/*"}),
    }
