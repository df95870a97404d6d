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
                assert any(set(actions) <= set(_as_list(o["Action"])) for o in kept), owner
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
    assert local_granted <= granted
