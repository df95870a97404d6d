"""What a function's cold start imports: the expensive libraries it does not use stay out (issue 10).

Each handler module is imported in a fresh interpreter, as Lambda's INIT does, and the modules it loaded are
listed. boto3 (s3transfer, multiprocessing: ~50 ms) is never needed: clients come from botocore
(:mod:`huracan.adapters.clients`). The X-Ray SDK (~145 ms to import) is loaded only by the function that
traces its AWS calls (resolve_outcome, per shadow trade); the others trace at the Lambda level or pass
through (template.yaml's TracingJustifications).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("boto3", "s3transfer", "aws_xray_sdk", "pandas", "sklearn", "scipy", "lightgbm", "pyarrow")
LOADED = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2:]))))
"""
EXPECTED = {
    "daily_summary": [],
    "evaluate_signals": [],
    "ingest_market": [],
    "outcome_api": [],
    "resolve_outcome": ["aws_xray_sdk"],
    "rotate_hmac_secret": [],
    "sweep_open_trades": [],
}


def _loaded(code: str, *args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_LAMBDA_FUNCTION_NAME": "import-check",  # Powertools' Tracer patches only inside Lambda
        "MARKET_STREAM_NAME": "import-check-market",  # the one variable a handler validates at import
    }
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=os.environ.get("TMPDIR", "/tmp"),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    got: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return got


def test_every_function_is_checked() -> None:
    assert sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_cold_start_loads_only_the_expensive_libraries_it_uses(name: str) -> None:
    assert _loaded(LOADED, str(ROOT / "functions" / name / "app.py"), *WATCHED) == EXPECTED[name]


def test_one_registry_module_does_not_load_the_whole_registry() -> None:
    code = """
import json, sys
import huracan.registry.errors
first = sorted(m for m in ("huracan.registry.registry", "huracan.registry.gate", "cryptography") if m in sys.modules)
from huracan.registry import MetaLabelGate, ModelRegistry, RegistryError
import huracan.registry as r
ok = MetaLabelGate.__module__ == "huracan.registry.gate" and RegistryError is huracan.registry.errors.RegistryError
names = all(getattr(r, n) is not None for n in r.__all__) and set(r.__all__) <= set(dir(r))
try:
    r.NoSuchThing
    missing = "resolved"
except AttributeError as exc:
    missing = str(exc)
print(json.dumps([first, ok, names, missing]))
"""
    first, ok, names, missing = _loaded(code)  # type: ignore[misc]
    assert first == []
    assert ok and names
    assert missing == "module 'huracan.registry' has no attribute 'NoSuchThing'"
