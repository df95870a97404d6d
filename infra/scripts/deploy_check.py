"""``make deploy-check``: a deploy rehearsal without an AWS account.

1. ``sam validate --lint`` (SAM CLI from its own virtualenv, ``.venv-tools/sam``, as checkov has its own);
2. ``sam build`` exactly as ``samconfig.toml`` says (no container);
3. the translated template created on the embedded stack (moto), as CloudFormation would receive it; each
   function's resolved environment is kept for step 5;
4. each built function with its layers: at most 250 MB unzipped (Lambda's limit), sizes printed;
5. each handler imported under python3.12 from the built artifacts alone (``-I``: no site-packages, no
   checkout; only the function's directory, its layers' ``python/`` and what the Lambda runtime itself
   provides: boto3 and botocore at the lock's versions), with the environment step 3 resolved for it.

Ends with one JSON line (``{"deploy_check": {...}}``): seconds per step and each package's size. Exit 1 on
the first failure, naming it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LIMIT_MB = 250.0
#: What the python3.12 Lambda runtime itself provides besides the standard library (boto3 and its
#: dependencies), at the lock's versions, kept apart in .venv-tools so the import check sees only these.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six")
RUNTIME_DIR = REPO / ".venv-tools" / "lambda-runtime-py312"


def _runtime_packages() -> Path:
    pins = {}
    for line in (REPO / "requirements.lock").read_text("utf-8").splitlines():
        name, _, version = line.partition("==")
        if name in RUNTIME_PROVIDED:
            pins[name] = version
    stamp = RUNTIME_DIR / ".pins"
    wanted = json.dumps(pins, sort_keys=True)
    if not stamp.exists() or stamp.read_text("utf-8") != wanted:
        shutil.rmtree(RUNTIME_DIR, ignore_errors=True)
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(RUNTIME_DIR)]
        subprocess.run(cmd + [f"{k}=={v}" for k, v in pins.items()], check=True)
        stamp.write_text(wanted, "utf-8")
    return RUNTIME_DIR


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def _python312() -> str:
    """A python3.12 that runs (a pyenv shim on PATH may exist without a 3.12 selected)."""
    candidates = [os.environ.get("HURACAN_PY312", "")]
    candidates += [str(p / "bin" / "python3.12") for p in sorted((Path.home() / ".pyenv" / "versions").glob("3.12*"))]
    candidates.append(shutil.which("python3.12") or "")
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if done.returncode == 0 and done.stdout.strip() == "(3, 12)":
            return candidate
    raise SystemExit("deploy-check: no python3.12 that runs (set HURACAN_PY312)")


def _run(step: str, cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    print(f"== {step}: {' '.join(cmd)}", flush=True)
    done = subprocess.run(cmd, cwd=REPO, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"deploy-check: {step} failed (exit {done.returncode})")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy_check")
    parser.add_argument("--sam", default=str(REPO / ".venv-tools" / "sam" / "bin" / "sam"))
    parser.add_argument("--build-dir", default=str(REPO / ".aws-sam" / "build"))
    parser.add_argument("--skip-build", action="store_true", help="check an existing build (validate still runs)")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"seconds": {}, "unzipped_mb": {}}
    # SAM's telemetry and update check phone home; a region is all validate needs (no credentials)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "SAM_CLI_TELEMETRY": "0",
        "SAM_CLI_UPDATE_CHECK": "0",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_REGION": "eu-west-2",
    }
    figures["seconds"]["validate"] = _run("sam validate --lint", [args.sam, "validate", "--lint"], env)
    if not args.skip_build:
        figures["seconds"]["build"] = _run("sam build", [args.sam, "build", "--build-dir", args.build_dir], env)
    runtime = _runtime_packages()

    t0 = time.perf_counter()
    from huracan.local.aws import embedded_aws
    from huracan.local.stack import LocalStack

    with contextlib.redirect_stdout(io.StringIO()), embedded_aws() as aws:
        stack = LocalStack(aws).deploy()
        assert stack.lambdas is not None
        environments = {f.logical_id: dict(f.environment) for f in stack.lambdas.functions}
    print(f"== translated template created on the embedded stack ({len(stack.physical)} resources)", flush=True)
    figures["seconds"]["embedded_stack"] = time.perf_counter() - t0

    from huracan.local.template import load_template, resources_of_type

    tpl = load_template()
    built = Path(args.build_dir)
    py312 = _python312()
    t0 = time.perf_counter()
    failures: list[str] = []
    for lid, res in sorted(resources_of_type(tpl, "AWS::Serverless::Function").items()):
        layers = [layer["Ref"] for layer in res["Properties"].get("Layers", []) if isinstance(layer, dict)]
        fn_dir = built / lid
        layer_dirs = [built / layer for layer in layers]
        size = _dir_mb(fn_dir) + sum(_dir_mb(d) for d in layer_dirs)
        figures["unzipped_mb"][lid] = round(size, 1)
        print(f"   {lid}: {size:.1f} MB unzipped with {', '.join(layers) or 'no layer'}", flush=True)
        if size > LIMIT_MB:
            failures.append(f"{lid} is {size:.1f} MB unzipped (limit {LIMIT_MB:.0f})")
        module, attr = str(res["Properties"]["Handler"]).rsplit(".", 1)
        # Lambda's order: the function, then its layers (/opt/python), then what the runtime provides
        path = [str(fn_dir)] + [str(d / "python") for d in layer_dirs] + [str(runtime)]
        code = (
            "import sys, importlib; sys.path[:0] = " + repr(path) + "; "
            f"m = importlib.import_module({module!r}); assert callable(getattr(m, {attr!r}))"
        )
        fn_env = {
            **environments.get(lid, {}),  # the variables CloudFormation resolves for it (embedded stack)
            "PATH": os.environ.get("PATH", ""),
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_REGION": "eu-west-2",
            "AWS_LAMBDA_FUNCTION_NAME": lid,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "HOME": str(built),
        }
        done = subprocess.run([py312, "-I", "-B", "-c", code], cwd=built, env=fn_env, capture_output=True, text=True)
        if done.returncode != 0:
            failures.append(f"{lid}: handler {res['Properties']['Handler']} does not import: {done.stderr[-800:]}")
        else:
            print(f"   {lid}: {res['Properties']['Handler']} imports under {py312}", flush=True)
    for name in ("ServingLayer", "ReportingLayer"):
        if (built / name).exists():
            figures["unzipped_mb"][name] = round(_dir_mb(built / name), 1)
    figures["seconds"]["sizes_and_imports"] = time.perf_counter() - t0
    if failures:
        raise SystemExit("deploy-check: " + "; ".join(failures))

    figures["seconds"] = {k: round(v, 1) for k, v in figures["seconds"].items()}
    print(json.dumps({"deploy_check": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
