"""How ``sam build`` builds each function: a Makefile in a CodeUri only counts with ``BuildMethod: makefile``.

Without it SAM ignores the Makefile and pip-installs ``requirements.txt`` with every dependency (for the
outcome API: Chalice's CLI, 44 MB over issue 10's budget), so the two must go together, and the Makefile
must have the target SAM calls (``build-<LogicalId>``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from huracan.local.template import TEMPLATE_PATH, load_template, resources_of_type

ROOT = TEMPLATE_PATH.parent


@pytest.fixture(scope="module")
def functions() -> dict[str, dict[str, Any]]:
    return resources_of_type(load_template(), "AWS::Serverless::Function")


def test_a_function_with_a_makefile_is_built_by_it(functions: dict[str, dict[str, Any]]) -> None:
    built_by_make = []
    for lid, res in sorted(functions.items()):
        code_uri = res["Properties"]["CodeUri"]
        if not isinstance(code_uri, str):  # an image or S3 location: nothing for sam build to make
            continue
        makefile = ROOT / code_uri / "Makefile"
        method = res.get("Metadata", {}).get("BuildMethod")
        assert makefile.is_file() == (method == "makefile"), f"{lid}: Makefile present {makefile.is_file()}, {method=}"
        if makefile.is_file():
            assert re.search(rf"^build-{lid}:", makefile.read_text(encoding="utf-8"), re.MULTILINE), lid
            built_by_make.append(lid)
    assert "OutcomeApiFunction" in built_by_make
