"""checkov on template.yaml: no failed check, and every suppression argued for in the template itself.

checkov pins an older boto3 than the project, so it lives in its own tool venv (``.venv-tools/checkov``),
created here on first use from the pinned version and reused afterwards. It runs with ``--skip-download``:
no Prisma Cloud account, no network besides the package registry used once to install it.

Also here, the security promises of issue 9 item 3 that checkov does not state the way DESIGN does:
secrets come only from Secrets Manager (no literal secret anywhere in an environment), and every data
store is encrypted at rest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from huracan.local.template import TEMPLATE_PATH, load_template

REPO = Path(__file__).resolve().parents[2]
CHECKOV_VERSION = "3.3.30"
TOOL_VENV = REPO / ".venv-tools" / "checkov"
CHECKOV = TOOL_VENV / "bin" / "checkov"


def _installed_version() -> str | None:
    pip = TOOL_VENV / "bin" / "pip"
    if not CHECKOV.exists() or not pip.exists():
        return None
    out = subprocess.run([str(pip), "show", "checkov"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"^Version: (\S+)", out, re.MULTILINE)
    return m.group(1) if m else None


@pytest.fixture(scope="module")
def checkov() -> Path:
    """The checkov executable of the tool venv, installed at the pinned version if it is not there."""
    if _installed_version() != CHECKOV_VERSION:
        python = os.environ.get("HURACAN_TOOLS_PYTHON", "python3.11")
        if not (TOOL_VENV / "bin" / "python").exists():
            subprocess.run([python, "-m", "venv", str(TOOL_VENV)], check=True)
        subprocess.run(
            [str(TOOL_VENV / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"],
            check=True,
            timeout=900,
        )
    assert _installed_version() == CHECKOV_VERSION
    return CHECKOV


@pytest.fixture(scope="module")
def report(checkov: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BC_", "PRISMA_"))}
    proc = subprocess.run(
        [
            str(checkov),
            "-f",
            str(TEMPLATE_PATH),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"checkov did not answer JSON (rc {proc.returncode}): {proc.stderr[-2000:]}")
    (result,) = doc if isinstance(doc, list) else [doc]
    assert result["check_type"] == "cloudformation"
    return dict(result)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def test_checkov_finds_nothing_unjustified(report: dict[str, Any]) -> None:
    summary = report["summary"]
    failed = [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"]]
    assert failed == [], "checkov findings (fix them, or justify a skip in the resource's Metadata):\n" + "\n".join(
        failed
    )
    assert summary["parsing_errors"] == 0
    # checkov really looked: every resource, dozens of checks passed
    assert summary["resource_count"] >= 45 and summary["passed"] >= 60


def test_every_checkov_skip_is_justified_in_the_template(template: dict[str, Any], report: dict[str, Any]) -> None:
    declared: dict[tuple[str, str], str] = {}
    for lid, res in template["Resources"].items():
        for skip in ((res.get("Metadata") or {}).get("checkov") or {}).get("skip") or []:
            declared[(lid, str(skip["id"]))] = str(skip.get("comment") or "")
    assert declared, "no suppressions at all: the skip format changed or the walk is wrong"
    short = sorted(f"{lid}/{cid}" for (lid, cid), why in declared.items() if len(why.split()) < 12)
    assert short == [], f"suppressions need a real justification (>= 12 words): {short}"
    skipped = {
        (str(s["resource"]).split(".", 1)[1], str(s["check_id"])): s.get("check_result", {}).get("suppress_comment")
        for s in report["results"]["skipped_checks"]
    }
    # every declared skip suppresses a finding checkov really makes (no stale suppressions) and vice versa
    assert set(skipped) == set(declared)
    assert all(skipped[k] == declared[k] for k in declared)


_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|HMAC|API_?KEY)", re.IGNORECASE)


def _literal_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        if set(node) & {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::ImportValue"}:
            return []
        return [s for v in node.values() for s in _literal_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _literal_strings(v)]
    return []


def test_secrets_come_only_from_secrets_manager(template: dict[str, Any]) -> None:
    """No environment variable holds a secret: a variable whose name says secret/key/token must be a
    reference to a Secrets Manager secret (its ARN), never a literal; no parameter carries one either."""
    envs: list[tuple[str, dict[str, Any]]] = [
        ("Globals", template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    ]
    for lid, res in template["Resources"].items():
        props = res.get("Properties", {})
        envs.append((lid, (props.get("Environment") or {}).get("Variables") or {}))
        for container in props.get("ContainerDefinitions", []) or []:
            envs.append((lid, {e["Name"]: e["Value"] for e in container.get("Environment", [])}))
            assert "Secrets" not in container or all("ValueFrom" in s for s in container["Secrets"])
    secretish = 0
    for owner, variables in envs:
        for name, value in variables.items():
            if not _SECRET_NAME.search(name):
                continue
            secretish += 1
            assert _literal_strings(value) == [], f"{owner}.{name} is a literal: secrets come from Secrets Manager"
            ref = value.get("Ref") if isinstance(value, dict) else None
            assert ref in template["Resources"], f"{owner}.{name} must reference a secret resource"
            assert template["Resources"][ref]["Type"] == "AWS::SecretsManager::Secret"
    assert secretish >= 1  # the HMAC secret's ARN is handed to the functions this way
    secret = template["Resources"]["HamiltonHmacSecret"]["Properties"]
    assert "SecretString" not in secret and "GenerateSecretString" in secret  # generated, never in the template
    for name, param in (template.get("Parameters") or {}).items():
        if _SECRET_NAME.search(name):
            assert param.get("NoEcho") is True, f"parameter {name} would show a secret"


def test_every_data_store_is_encrypted_at_rest(template: dict[str, Any]) -> None:
    """Tables, stream, queues, topics and bucket: encrypted, or (AlarmTopic only) a justified exception."""
    checks: dict[str, Callable[[dict[str, Any]], bool]] = {
        "AWS::DynamoDB::Table": lambda p: p.get("SSESpecification", {}).get("SSEEnabled") is True,
        "AWS::Kinesis::Stream": lambda p: p.get("StreamEncryption", {}).get("EncryptionType") == "KMS",
        "AWS::SQS::Queue": lambda p: p.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in p,
        "AWS::SNS::Topic": lambda p: "KmsMasterKeyId" in p,
        "AWS::S3::Bucket": lambda p: bool(p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")),
    }
    seen: dict[str, int] = {}
    unencrypted = []
    for lid, res in template["Resources"].items():
        check = checks.get(res["Type"])
        if check is None:
            continue
        seen[res["Type"]] = seen.get(res["Type"], 0) + 1
        if not check(res.get("Properties", {})):
            unencrypted.append(lid)
    assert seen == {
        "AWS::DynamoDB::Table": 5,
        "AWS::Kinesis::Stream": 1,
        "AWS::SQS::Queue": 2,
        "AWS::SNS::Topic": 2,
        "AWS::S3::Bucket": 1,
    }
    assert unencrypted == ["AlarmTopic"]
    skips = template["Resources"]["AlarmTopic"]["Metadata"]["checkov"]["skip"]
    assert [s["id"] for s in skips] == ["CKV_AWS_26"]


def test_tool_venv_is_separate_from_the_project_venv(checkov: Path) -> None:
    """checkov's boto3 must not leak into the project's interpreter (and vice versa)."""
    assert not Path(sys.executable).resolve().is_relative_to(TOOL_VENV.resolve())
    assert checkov.resolve().is_relative_to(TOOL_VENV.resolve())
