"""``huracan/core`` is the pure domain: the Lambda serving path must not drag in AWS SDKs or pandas."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "huracan" / "core"
FORBIDDEN = {"boto3", "botocore", "pynamodb", "aws_lambda_powertools", "pandas", "sklearn", "lightgbm"}


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):  # walks nested scopes too: a lazy import inside a function still counts
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            roots.add(node.args[0].value.split(".")[0])
    return roots


CORE_FILES = sorted(CORE.glob("**/*.py"))


def test_core_has_modules() -> None:
    names = {p.name for p in CORE_FILES}
    assert {"bars.py", "features.py", "gates.py", "costs.py", "regime.py"} <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    bad = _imported_roots(ast.parse(path.read_text("utf-8"), filename=str(path))) & FORBIDDEN
    assert not bad, f"{path.relative_to(CORE.parent.parent)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "source",
    [
        "import boto3",
        "import botocore.exceptions",
        "from pynamodb.models import Model",
        "from aws_lambda_powertools import Logger",
        "def f():\n    import pandas as pd\n",
        "import importlib\nimportlib.import_module('sklearn.linear_model')",
        "from lightgbm import Booster",
    ],
)
def test_the_check_catches_each_forbidden_form(source: str) -> None:
    assert _imported_roots(ast.parse(source)) & FORBIDDEN
