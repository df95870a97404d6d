"""The local copy of the stack's IAM policies: what moto can enforce, and what it cannot (stated, not hidden).

moto checks an identity policy's *actions* for every service, but works out the request's *resource* ARN only
for S3 (bucket and key), SQS (queue), IAM and STS. Everywhere else it checks the action against ``*``, so a
statement scoped to a table, stream, function, key or state machine ARN never matches and the call is refused
although AWS would allow it. It also evaluates a ``Condition`` only from the request's own parameters, so a
condition on a context key (``cloudwatch:namespace``, ``iam:PassedToService``) fails and an Allow with one
becomes an explicit Deny.

So the copy of the translated template the emulator receives differs from the one CloudFormation would get in
exactly these ways, and nowhere else:

- an Allow statement's actions on services moto cannot resolve keep their actions but get ``Resource: "*"``
  (split from the statement's S3/SQS/IAM/STS actions, which keep their ARNs and are enforced as on AWS);
- conditions are dropped from Allow statements (the action stays granted, without the condition);
- a CloudWatch action is granted under moto's name for the service too (``monitoring:PutMetricData`` beside
  ``cloudwatch:PutMetricData``): moto checks the endpoint prefix, AWS the service name;
- a Deny statement on an unresolvable service, or with a condition, is dropped (it could never match);
- AWS managed policies (SAM's AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess,
  AWSLambdaKinesisExecutionRole) are not attached: the emulator has no copy of them, and what they grant
  (logs, traces, the event source mapping's stream reads) is done locally by the platform, not the function.

The original scoping is what ``tests/infra/test_template.py`` reads from the translated template (every
resource-scoped statement is still scoped there). :data:`NOT_ENFORCED` is printed at start-up.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["NOT_ENFORCED", "RESOLVED_SERVICES", "iter_policy_documents", "localize_policies"]

#: Services whose request resource moto resolves (moto/core/authorization.py: S3; ``_determine_resource`` in
#: moto's sqs, iam and sts responses), and execute-api, whose route ARN the local API stand-in passes to moto's
#: check itself (huracan.local.api_iam).
RESOLVED_SERVICES = frozenset({"s3", "sqs", "iam", "sts", "execute-api"})

NOT_ENFORCED = (
    "resource scoping outside S3 and SQS (tables, stream, functions, keys, topics, state machines: actions are "
    "enforced, the ARNs are checked statically by tests/infra)",
    "policy conditions (cloudwatch:namespace, iam:PassedToService, ecs:cluster)",
    "resource policies: the KMS key policy (only the training task may kms:Sign), the bucket policy, API "
    "Gateway resource policies",
    "the event source mapping's reads of the stream and the AWS managed policies (logs, X-Ray): the poller and "
    "the replay driver run as the local platform",
)


def _services(actions: list[str]) -> set[str]:
    return {a.split(":", 1)[0].lower() for a in actions}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iter_policy_documents(cfn: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(owner logical id, policy document) for every identity policy of the translated template."""
    out: list[tuple[str, dict[str, Any]]] = []
    for lid, res in cfn.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::IAM::Role":
            for pol in props.get("Policies", []) or []:
                out.append((lid, pol["PolicyDocument"]))
        elif res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            out.append((lid, props["PolicyDocument"]))
    return out


def _aws_managed(arn: Any) -> bool:
    return isinstance(arn, str) and ":iam::aws:policy/" in arn


def _localize_statement(st: dict[str, Any]) -> list[dict[str, Any]]:
    if "NotAction" in st or "NotResource" in st:
        return [st]
    actions = [str(a) for a in _as_list(st.get("Action", []))]
    resolved = [a for a in actions if a.split(":", 1)[0].lower() in RESOLVED_SERVICES]
    unresolved = [a for a in actions if a not in resolved]
    if st.get("Effect") == "Deny":
        if "Condition" in st or unresolved:
            return []
        return [st]
    base = {k: v for k, v in st.items() if k != "Condition"}
    out = []
    if resolved:
        out.append({**base, "Action": resolved})
    if unresolved:
        # moto names CloudWatch's actions by its endpoint prefix ("monitoring:PutMetricData"), AWS by the
        # service ("cloudwatch:PutMetricData"): grant both, or the training task's metric is refused locally
        unresolved += [f"monitoring:{a.split(':', 1)[1]}" for a in unresolved if a.lower().startswith("cloudwatch:")]
        widened = {**base, "Action": unresolved, "Resource": "*"}
        if "Sid" in base:
            widened["Sid"] = f"{base['Sid']}Local"
        out.append(widened)
    return out


def localize_policies(cfn: dict[str, Any]) -> dict[str, Any]:
    """The emulator's copy of ``cfn`` (the argument is not changed)."""
    local = copy.deepcopy(cfn)
    for res in local.get("Resources", {}).values():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::IAM::Role" and "ManagedPolicyArns" in props:
            props["ManagedPolicyArns"] = [a for a in props["ManagedPolicyArns"] if not _aws_managed(a)]
    for _, doc in iter_policy_documents(local):
        statements = _as_list(doc.get("Statement", []))
        doc["Statement"] = [s for st in statements for s in _localize_statement(st)]
    return local
