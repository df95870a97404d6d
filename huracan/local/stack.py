"""The stack, created from ``template.yaml``: SAM-translated offline, then CloudFormation on moto.

``template.yaml`` is the single source of truth for the cloud and for this local stack. What CloudFormation
on moto can create, it creates (tables, stream, queues, bucket, topic, key, functions with their resolved
environment, event source mapping, rules). What moto cannot serve is listed by name with what stands in:

- Kinesis → Lambda event source mapping: :class:`~huracan.local.poller.KinesisPoller`, same settings;
- Step Functions state machines: re-created through the Step Functions API (moto's CloudFormation puts them
  where its interpreter cannot see them) from the same definition and substitutions;
- EventBridge schedules: :class:`~huracan.local.clock.Scheduler` on the virtual clock;
- Lambda functions: the real handlers in-process (:mod:`huracan.local.lambdas`);
- resources moto's CloudFormation does not know (e.g. Secrets Manager secrets) are created through their
  service APIs before the stack and their references substituted; policies, alarms and the like have no
  local behaviour and are listed as not emulated.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import boto3
import boto3.session
from samtranslator.parser.parser import Parser
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.translator import Translator

from huracan.local.aws import EmbeddedAws
from huracan.local.identity import Identity
from huracan.local.lambdas import REPO, FunctionSpec, LocalLambdas
from huracan.local.policies import localize_policies
from huracan.local.poller import EsmSettings
from huracan.local.template import TEMPLATE_PATH, load_template

__all__ = ["LocalStack", "ScheduleSpec", "StandIn", "translate"]

log = logging.getLogger(__name__)

ACCOUNT = "123456789012"
ARTIFACTS_BUCKET = "huracan-local-artifacts"

# Resource types CloudFormation on moto creates (see moto's CloudFormationModel subclasses) that we keep.
_PRE_STACK = {"AWS::SecretsManager::Secret"}
_NOT_EMULATED = {
    "AWS::S3::BucketPolicy": "no local effect (moto does not enforce bucket policies)",
    "AWS::SQS::QueuePolicy": "no local effect (moto does not enforce queue policies)",
    "AWS::SNS::TopicPolicy": "no local effect",
    "AWS::CloudWatch::Alarm": "not evaluated locally; the health report computes the same conditions",
    "AWS::Lambda::EventInvokeConfig": "not needed: local invocations are synchronous",
    "AWS::ApiGateway::Stage": "API Gateway is not served by moto; `chalice local` serves the API app",
    "AWS::ApiGateway::Deployment": "API Gateway is not served by moto; `chalice local` serves the API app",
    "AWS::ApiGateway::RestApi": "API Gateway is not served by moto; `chalice local` serves the API app",
    "AWS::Lambda::Permission": "no local effect",
    "AWS::SecretsManager::RotationSchedule": "not scheduled locally: tests run the rotation function's steps",
    "AWS::ApiGateway::Account": "API Gateway's account-wide logging role: no local effect",
    "AWS::CloudFormation::WaitConditionHandle": "orders the API after its logging role on AWS: no local effect",
    "AWS::Events::Rule": "EventBridge schedules fire on the virtual clock (huracan.local.clock.Scheduler)",
}


class _OfflinePolicies(ManagedPolicyLoader):  # type: ignore[misc]
    """samtranslator looks managed policies up in IAM; offline we name the ARNs ourselves."""

    def __init__(self) -> None:
        self._policy_map: dict[str, str] | None = None

    def load(self) -> dict[str, str]:
        names = ("AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaKinesisExecutionRole")
        return {n: f"arn:aws:iam::aws:policy/service-role/{n}" for n in names}


def translate(template: dict[str, Any], region: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """SAM → CloudFormation offline (no AWS calls), as ``sam build``/``deploy`` would send it."""
    values = {"AWS::Region": region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", **(parameters or {})}
    # samtranslator's ``transform`` builds a boto3 session only to read the region; give it ours.
    translator = Translator(_OfflinePolicies().load(), Parser(), boto_session=boto3.session.Session(region_name=region))
    out: dict[str, Any] = translator.translate(copy.deepcopy(template), values)
    return out


@dataclass(frozen=True)
class StandIn:
    logical_id: str
    resource_type: str
    stands_in: str


@dataclass(frozen=True)
class ScheduleSpec:
    """An EventBridge rule with a schedule and the logical id of the resource it targets."""

    rule_id: str
    expression: str
    target_id: str
    enabled: bool


@dataclass
class LocalStack:
    aws: EmbeddedAws
    template_path: Path = TEMPLATE_PATH
    parameters: dict[str, str] = field(default_factory=dict)
    stack_name: str = "huracan-local"
    physical: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    standins: list[StandIn] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    esm: dict[str, tuple[str, EsmSettings]] = field(default_factory=dict)
    lambdas: LocalLambdas | None = None
    cfn: dict[str, Any] = field(default_factory=dict)
    parameter_values: dict[str, str] = field(default_factory=dict)
    #: principal logical id (function, state machine, task definition) -> its role's logical id
    principal_roles: dict[str, str] = field(default_factory=dict)

    # -- building -------------------------------------------------------------------------------------
    def _localize(self, tpl: dict[str, Any]) -> dict[str, Any]:
        """What ``sam package`` does: local code paths → S3 artifacts; definition files inlined."""
        tpl = copy.deepcopy(tpl)
        base = self.template_path.parent
        for lid, res in tpl["Resources"].items():
            props = res.get("Properties", {})
            if res["Type"] == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
                props["CodeUri"] = f"s3://{ARTIFACTS_BUCKET}/{lid}.zip"
            if res["Type"] == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
                props["ContentUri"] = f"s3://{ARTIFACTS_BUCKET}/{lid}.zip"
            if res["Type"] == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
                props["Definition"] = json.loads((base / props.pop("DefinitionUri")).read_text("utf-8"))
        globals_fn = tpl.get("Globals", {}).get("Function", {})
        if isinstance(globals_fn.get("CodeUri"), str):
            globals_fn["CodeUri"] = f"s3://{ARTIFACTS_BUCKET}/global.zip"
        return tpl

    def _code_dirs(self, tpl: dict[str, Any]) -> dict[str, Path]:
        out = {}
        for lid, res in tpl["Resources"].items():
            if res["Type"] == "AWS::Serverless::Function":
                uri = res.get("Properties", {}).get("CodeUri") or tpl.get("Globals", {}).get("Function", {}).get(
                    "CodeUri"
                )
                out[lid] = (self.template_path.parent / str(uri)).resolve()
        return out

    def _upload_artifacts(self, cfn: dict[str, Any]) -> None:
        s3 = boto3.client("s3")
        # moto servers in one process share their backends: a second stack reuses the bucket
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(
                Bucket=ARTIFACTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": cast(Any, self.aws.region)}
            )
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("README", "local stand-in artifact; handlers run in-process from the checkout")
        keys = {f"{lid}.zip" for lid in cfn["Resources"]} | {"global.zip"}
        for key in keys:
            s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=buf.getvalue())

    def _pre_stack(self, cfn: dict[str, Any]) -> None:
        """Create what moto's CloudFormation cannot, and drop what has no local behaviour."""
        substitutions: dict[str, str] = {}
        arn_substitutions: dict[str, str] = {}
        for lid in list(cfn["Resources"]):
            res = cfn["Resources"][lid]
            rtype = res["Type"]
            if rtype == "AWS::SecretsManager::Secret":
                sm = boto3.client("secretsmanager")
                name = f"{self.stack_name}-{lid}"
                arn = sm.create_secret(Name=name, SecretString=json.dumps({"hmac_key": f"local-{lid}-key"}))["ARN"]
                substitutions[lid] = arn
                self.physical[lid] = arn
                self.standins.append(StandIn(lid, rtype, "created through the Secrets Manager API"))
                del cfn["Resources"][lid]
            elif (
                rtype == "AWS::KMS::Key"
                and res.get("Properties", {}).get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT"
            ):
                # moto's CloudFormation creates every key symmetric; an asymmetric signing key comes from the API
                props = res["Properties"]
                kms = boto3.client("kms")
                meta = kms.create_key(
                    KeySpec=props["KeySpec"], KeyUsage=props.get("KeyUsage", "SIGN_VERIFY"), Description=lid
                )["KeyMetadata"]
                substitutions[lid] = meta["KeyId"]
                arn_substitutions[lid] = meta["Arn"]
                self.physical[lid] = meta["KeyId"]
                self.standins.append(StandIn(lid, rtype, f"{props['KeySpec']} key created through the KMS API"))
                del cfn["Resources"][lid]
            elif rtype == "AWS::Lambda::EventSourceMapping":
                # Left to moto, every PutRecord would try to run the function in Docker (and fail slowly);
                # the poller plays the mapping instead, with the same settings (see _event_sources).
                del cfn["Resources"][lid]
            elif rtype == "AWS::ApiGateway::RestApi":
                # The local API stand-in serves it; policies naming the API (execute-api ARNs) get this id.
                substitutions[lid] = self.local_api_id(lid)
                self.physical[lid] = substitutions[lid]
                self.standins.append(StandIn(lid, rtype, _NOT_EMULATED[rtype]))
                del cfn["Resources"][lid]
            elif rtype in _NOT_EMULATED and rtype != "AWS::Events::Rule":
                self.standins.append(StandIn(lid, rtype, _NOT_EMULATED[rtype]))
                del cfn["Resources"][lid]

        def subst(node: Any) -> Any:
            if isinstance(node, dict):
                if set(node) == {"Ref"} and node["Ref"] in substitutions:
                    return substitutions[node["Ref"]]
                if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
                    text = node["Fn::Sub"]
                    for lid_, value in substitutions.items():
                        text = text.replace("${" + lid_ + "}", value)
                    return {"Fn::Sub": text}
                if set(node) == {"Fn::GetAtt"}:
                    ga = node["Fn::GetAtt"]
                    lid_, attr = ga if isinstance(ga, list) else str(ga).split(".", 1)
                    if lid_ in arn_substitutions and attr == "Arn":
                        return arn_substitutions[lid_]
                return {k: subst(v) for k, v in node.items()}
            if isinstance(node, list):
                return [subst(v) for v in node]
            return node

        cfn["Resources"] = subst(cfn["Resources"])
        if "Outputs" in cfn:
            dropped = {s.logical_id for s in self.standins if s.logical_id not in substitutions}
            cfn["Outputs"] = {k: subst(v) for k, v in cfn["Outputs"].items() if not (_refs(v) & dropped)}

    def _free_stack_name(self) -> None:
        """moto servers in one process share their state: a second stack of the same name gets a suffix."""
        cf = boto3.client("cloudformation")
        base, n = self.stack_name, 1
        while True:
            try:
                stacks = cf.describe_stacks(StackName=self.stack_name)["Stacks"]
            except cf.exceptions.ClientError:
                return
            if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
                return
            n += 1
            self.stack_name = f"{base}-{n}"

    def deploy(self) -> LocalStack:
        """Translate, create the stack on moto, start the stand-ins; returns self."""
        self._free_stack_name()
        tpl = load_template(self.template_path)
        code_dirs = self._code_dirs(tpl)
        params = {
            k: v.get("Default")
            for k, v in (tpl.get("Parameters") or {}).items()
            if isinstance(v, dict) and "Default" in v
        }
        params.update(self._network_parameters(tpl, params))
        if "TrainingImageUri" in (tpl.get("Parameters") or {}) and "TrainingImageUri" not in self.parameters:
            # Required on AWS (no placeholder image); locally the nightly task runs in-process from the checkout.
            params["TrainingImageUri"] = f"{ACCOUNT}.dkr.ecr.{self.aws.region}.amazonaws.com/huracan-train:local"
            self.standins.append(
                StandIn("TrainingImageUri", "Parameter", "no image: the nightly task runs in-process (container_task)")
            )
        params.update(self.parameters)
        self.parameter_values = {k: str(v) for k, v in params.items()}
        cfn = translate(self._localize(tpl), self.aws.region, params)
        self.cfn = copy.deepcopy(cfn)
        # The emulator gets the policies it can enforce (huracan.local.policies); self.cfn keeps the originals.
        cfn = localize_policies(cfn)
        self._upload_artifacts(cfn)
        self._pre_stack(cfn)
        cf = boto3.client("cloudformation")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cf.create_stack(
                StackName=self.stack_name,
                TemplateBody=json.dumps(cfn),
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameter_values.items()],
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            )
        stack = cf.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"local stack ended in {stack['StackStatus']}: {stack.get('StackStatusReason')}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        for r in cf.list_stack_resources(StackName=self.stack_name)["StackResourceSummaries"]:
            self.physical[r["LogicalResourceId"]] = r["PhysicalResourceId"]
        self._role_policies(cfn)
        self._state_machines(cfn)
        self._functions(cfn, code_dirs)
        self._event_sources(self.cfn)
        self._schedules(cfn)
        self.principal_roles = _principal_roles(self.cfn)
        return self

    # -- identities -----------------------------------------------------------------------------------
    def _role_policies(self, cfn: dict[str, Any]) -> None:
        """Put each role's inline policies again through the IAM API, as JSON text.

        moto's CloudFormation keeps an ``AWS::IAM::Role``'s ``Policies`` as dictionaries, and its IAM
        enforcement then fails reading them (KeyError in ``IAMPolicy``); the API stores them as AWS does.
        """
        iam = boto3.client("iam")
        for lid, res in cfn["Resources"].items():
            if res["Type"] != "AWS::IAM::Role":
                continue
            for pol in res.get("Properties", {}).get("Policies", []) or []:
                iam.put_role_policy(
                    RoleName=self.physical[lid],
                    PolicyName=str(self.resolve(pol["PolicyName"])),
                    # SAM's policy templates carry no Version; moto's API (as IAM's) wants the current one
                    PolicyDocument=json.dumps({"Version": "2012-10-17", **self.resolve(pol["PolicyDocument"])}),
                )

    def task_definition_of(self, target_id: str) -> str:
        """The task definition an ECS-targeted schedule runs (its rule's ``EcsParameters``)."""
        for res in self.cfn["Resources"].values():
            if res["Type"] != "AWS::Events::Rule":
                continue
            for target in res.get("Properties", {}).get("Targets", []):
                ecs = target.get("EcsParameters")
                if ecs and target_id in _refs(target.get("Arn", {})):
                    (lid,) = _refs(ecs["TaskDefinitionArn"])
                    return lid
        raise KeyError(f"no scheduled ECS task targets {target_id}")

    def container_environment(self, task_definition: str) -> dict[str, str]:
        """The container's environment as the task definition declares it, resolved against this stack."""
        res = self.cfn["Resources"][task_definition]
        env = res["Properties"]["ContainerDefinitions"][0].get("Environment", [])

        def value(node: Any) -> str:
            if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in self.parameter_values:
                return str(self.parameter_values[node["Ref"]])  # a template parameter, not a resource
            return str(self.resolve(node))

        return {str(e["Name"]): value(e["Value"]) for e in env}

    def local_api_id(self, logical_id: str = "HuracanApi") -> str:
        """The id the local API stand-in answers as (API Gateway's would be a random 10 characters)."""
        return f"local-{logical_id.lower()}"

    def api_arn(self, logical_id: str = "HuracanApi") -> str:
        """``arn:aws:execute-api:<region>:<account>:<api>/<stage>``: the prefix of the routes' ARNs."""
        stage = self.parameter_values.get("Stage", "dev")
        return f"arn:aws:execute-api:{self.aws.region}:{ACCOUNT}:{self.local_api_id(logical_id)}/{stage}"

    def caller_identity(self, name: str, policy_logical_id: str | None) -> Identity:
        """A principal outside the stack (Hamilton): a role with one of the stack's managed policies attached
        (or none), assumed. Created before IAM is enforced."""
        from botocore.credentials import Credentials

        iam = boto3.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = f"{self.stack_name}-{name}"
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if policy_logical_id is not None:
            iam.attach_role_policy(RoleName=role, PolicyArn=self.physical[policy_logical_id])
        creds = boto3.client("sts").assume_role(RoleArn=arn, RoleSessionName=name, DurationSeconds=43200)["Credentials"]
        return Identity(name, arn, Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]))

    def role_arn(self, role_logical_id: str) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{self.physical[role_logical_id]}"

    def assume_roles(self) -> dict[str, Identity]:
        """``sts:AssumeRole`` of each principal's own role (before IAM is enforced): principal -> identity."""
        from botocore.credentials import Credentials

        sts = boto3.client("sts")
        out: dict[str, Identity] = {}
        for principal, role in sorted(self.principal_roles.items()):
            arn = self.role_arn(role)
            creds = sts.assume_role(RoleArn=arn, RoleSessionName=principal[:64], DurationSeconds=43200)["Credentials"]
            out[principal] = Identity(
                principal, arn, Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
            )
        return out

    def platform_identity(self, user: str = "huracan-local-platform") -> Identity:
        """The local platform's own principal (replay driver, poller, reports): an IAM user allowed everything,
        as the account's administrator would be. Created before IAM is enforced."""
        from botocore.credentials import Credentials

        iam = boto3.client("iam")
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_user(UserName=user)
        iam.put_user_policy(
            UserName=user,
            PolicyName="administrator",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        # one live key: a stack started again on the same emulator (tests do) would hit IAM's two-keys quota
        for old in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return Identity(user, None, Credentials(key["AccessKeyId"], key["SecretAccessKey"]))

    def _network_parameters(self, tpl: dict[str, Any], have: dict[str, Any]) -> dict[str, str]:
        """Parameters naming a VPC or subnets get a VPC and subnet created on the emulator."""
        wanted = {
            k: v["Type"]
            for k, v in (tpl.get("Parameters") or {}).items()
            if k not in have and k not in self.parameters and "EC2" in str(v.get("Type", ""))
        }
        if not wanted:
            return {}
        ec2 = boto3.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
        self.standins.append(StandIn("VPC", "AWS::EC2::VPC", f"{vpc} / {subnet} created on the emulator"))
        return {k: (vpc if t == "AWS::EC2::VPC::Id" else subnet) for k, t in wanted.items()}

    # -- stand-ins ------------------------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        """Resolve the intrinsics our template uses (Ref, GetAtt, Sub, Join) against the created stack."""
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            ref = node["Ref"]
            if ref == "AWS::Region":
                return self.aws.region
            if ref == "AWS::AccountId":
                return ACCOUNT
            if ref == "AWS::Partition":
                return "aws"
            if ref == "AWS::StackName":
                return self.stack_name
            return self.physical.get(ref, ref)
        if set(node) == {"Fn::GetAtt"}:
            lid, attr = node["Fn::GetAtt"] if isinstance(node["Fn::GetAtt"], list) else node["Fn::GetAtt"].split(".", 1)
            return self._attribute(lid, attr)
        if set(node) == {"Fn::If"}:
            cond, yes, no = node["Fn::If"]
            return self.resolve(yes if self.condition(cond) else no)
        if set(node) == {"Fn::Join"}:
            sep, parts = node["Fn::Join"]
            return str(sep).join(str(self.resolve(p)) for p in self.resolve(parts))
        if set(node) == {"Fn::Sub"}:
            text, extra = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"]
            values = {k: str(self.resolve(v)) for k, v in extra.items()}
            return _substitute(text, lambda name: values.get(name) or str(self._sub_name(name)))
        return {k: self.resolve(v) for k, v in node.items()}

    def condition(self, name: str) -> bool:
        """Evaluate a template condition (Equals/Not/And/Or over parameters) as CloudFormation would."""
        return self._cond(self.cfn.get("Conditions", {})[name])

    def _cond(self, node: Any) -> bool:
        if isinstance(node, dict) and "Condition" in node:
            return self.condition(node["Condition"])
        ((fn, args),) = node.items()
        if fn == "Fn::Equals":
            a, b = (self._param_value(x) for x in args)
            return a == b
        if fn == "Fn::Not":
            return not self._cond(args[0])
        if fn == "Fn::And":
            return all(self._cond(a) for a in args)
        if fn == "Fn::Or":
            return any(self._cond(a) for a in args)
        raise ValueError(f"condition function {fn} is not supported locally")

    def _param_value(self, node: Any) -> str:
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in self.parameter_values:
            return self.parameter_values[node["Ref"]]
        return str(self.resolve(node))

    def _sub_name(self, name: str) -> Any:
        if "." in name:
            lid, attr = name.split(".", 1)
            return self._attribute(lid, attr)
        return self.resolve({"Ref": name})

    def _attribute(self, lid: str, attr: str) -> str:
        rtype = self.cfn["Resources"].get(lid, {}).get("Type", "")
        phys = self.physical.get(lid, lid)
        region = self.aws.region
        if attr == "Arn":
            arns = {
                "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{phys}",
                "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{ACCOUNT}:{phys.rsplit('/', 1)[-1]}",
                "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{phys}",
                "AWS::Kinesis::Stream": f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{phys}",
                "AWS::S3::Bucket": f"arn:aws:s3:::{phys}",
                "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{phys}",
                "AWS::KMS::Key": f"arn:aws:kms:{region}:{ACCOUNT}:key/{phys}",
            }
            if rtype in arns:
                return arns[rtype]
            return phys
        if attr == "QueueName":
            return phys.rsplit("/", 1)[-1]
        if attr == "QueueUrl":
            return phys
        if attr == "Name":
            return phys.rsplit(":", 1)[-1]
        return phys

    def _state_machines(self, cfn: dict[str, Any]) -> None:
        sfn = boto3.client("stepfunctions")
        for lid, res in cfn["Resources"].items():
            if res["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            props = res["Properties"]
            definition = self.resolve(props.get("DefinitionString") or json.dumps(props.get("Definition")))
            subs = {k: str(self.resolve(v)) for k, v in (props.get("DefinitionSubstitutions") or {}).items()}
            definition = _substitute(definition, lambda name, subs=subs: subs.get(name, "${" + name + "}"))
            name = self.physical[lid].rsplit(":", 1)[-1]
            arn = sfn.create_state_machine(
                name=name,
                definition=definition,
                roleArn=str(self.resolve(props["RoleArn"])),
                type=props.get("StateMachineType", "STANDARD"),
            )["stateMachineArn"]
            self.physical[lid] = arn
            self.standins.append(
                StandIn(lid, res["Type"], "re-created through the Step Functions API; runs on moto's interpreter")
            )

    def _functions(self, cfn: dict[str, Any], code_dirs: dict[str, Path]) -> None:
        lam = boto3.client("lambda")
        specs = []
        for lid, res in cfn["Resources"].items():
            if res["Type"] != "AWS::Lambda::Function":
                continue
            conf = lam.get_function_configuration(FunctionName=self.physical[lid])
            env = dict((conf.get("Environment") or {}).get("Variables") or {})
            env = {k: str(v) for k, v in env.items()}
            specs.append(
                FunctionSpec(
                    logical_id=lid,
                    physical_name=conf["FunctionName"],
                    arn=conf["FunctionArn"],
                    code_dir=code_dirs.get(lid, REPO / "functions" / lid),
                    handler=res["Properties"]["Handler"],
                    environment=env,
                )
            )
        self.lambdas = LocalLambdas(specs)
        self.standins.append(StandIn("*Function", "AWS::Lambda::Function", "real handlers run in-process"))

    def _event_sources(self, cfn: dict[str, Any]) -> None:
        sqs = boto3.client("sqs")

        def queue_url(arn: str) -> str:
            return str(sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])

        for lid, res in cfn["Resources"].items():
            if res["Type"] != "AWS::Lambda::EventSourceMapping":
                continue
            props = self.resolve(res["Properties"])
            stream_arn = str(props["EventSourceArn"])
            if ":kinesis:" not in stream_arn:
                continue
            settings = EsmSettings.from_cfn(props, queue_url)
            self.esm[lid] = (str(props["FunctionName"]), settings)
            self.standins.append(StandIn(lid, res["Type"], "KinesisPoller with the same settings"))

    def _schedules(self, cfn: dict[str, Any]) -> None:
        for lid, res in cfn["Resources"].items():
            if res["Type"] != "AWS::Events::Rule":
                continue
            props = res.get("Properties", {})
            expr = props.get("ScheduleExpression")
            if not expr:
                continue
            for target in props.get("Targets", []):
                arn = target.get("Arn", {})
                target_id = _refs(arn) or {str(arn)}
                state = self.resolve(props.get("State", "ENABLED"))
                self.schedules.append(
                    ScheduleSpec(lid, str(self.resolve(expr)), sorted(target_id)[0], state == "ENABLED")
                )
            self.standins.append(StandIn(lid, res["Type"], _NOT_EMULATED["AWS::Events::Rule"]))

    def stream_name(self, logical_id: str = "MarketStream") -> str:
        return self.physical[logical_id]

    def describe(self) -> list[str]:
        """One line per stand-in: what moto cannot serve and what serves it locally."""
        return [f"{s.logical_id} ({s.resource_type}): {s.stands_in}" for s in self.standins]


def _principal_roles(cfn: dict[str, Any]) -> dict[str, str]:
    """Which role each function, state machine and task definition runs as (from the translated template)."""
    keys = {
        "AWS::Lambda::Function": "Role",
        "AWS::StepFunctions::StateMachine": "RoleArn",
        "AWS::ECS::TaskDefinition": "TaskRoleArn",
    }
    out: dict[str, str] = {}
    for lid, res in cfn["Resources"].items():
        key = keys.get(res.get("Type", ""))
        ref = res.get("Properties", {}).get(key) if key else None
        if isinstance(ref, dict) and "Fn::GetAtt" in ref:
            ga = ref["Fn::GetAtt"]
            out[lid] = ga[0] if isinstance(ga, list) else str(ga).split(".", 1)[0]
    return out


def _refs(node: Any) -> set[str]:
    """Logical ids a node refers to (Ref, GetAtt, and ``${Name}`` / ``${Name.Attr}`` inside Fn::Sub)."""
    out: set[str] = set()
    if isinstance(node, dict):
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            out |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", str(text)) if not m.startswith("AWS::")}
        if "Ref" in node and isinstance(node["Ref"], str):
            out.add(node["Ref"])
        if "Fn::GetAtt" in node:
            ga = node["Fn::GetAtt"]
            out.add(ga[0] if isinstance(ga, list) else str(ga).split(".", 1)[0])
        for v in node.values():
            out |= _refs(v)
    elif isinstance(node, list):
        for v in node:
            out |= _refs(v)
    return out


def _substitute(text: str, lookup: Any) -> str:
    out = []
    i = 0
    while i < len(text):
        j = text.find("${", i)
        if j < 0:
            out.append(text[i:])
            break
        k = text.find("}", j)
        out.append(text[i:j])
        name = text[j + 2 : k]
        out.append(name[1:] if name.startswith("!") else str(lookup(name)))
        i = k + 1
    return "".join(out)
