"""``schemas/signal.schema.json``: the JSON Schema of a signal, generated from the one model that checks it.

Why generated rather than hand-written: the stream parser, the file loader, the signal archive and the
publisher all validate with :class:`huracan.core.records.Signal`; the published schema is that model's, so
the document and the code cannot drift (``tests/unit/test_signals_schema.py`` compares them, and
``python -m huracan.signals.schema --write`` regenerates the file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from huracan.core.records import Signal

__all__ = ["SCHEMA_PATH", "schema_text", "signal_json_schema"]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "signal.schema.json"


def signal_json_schema() -> dict[str, Any]:
    """The model's JSON Schema (validation mode), with the draft named and the derived id's rule stated."""
    doc = Signal.model_json_schema(mode="validation")
    props = doc["properties"]
    props["signal_id"].pop("default", None)
    props["signal_id"]["description"] = (
        "unique id; when absent: <strategy>.<symbol>.<ts as YYYYMMDDTHHMMSS[.ffffff]Z>.<side> "
        "(non-alphanumerics other than . _ - become _)"
    )
    props["type"]["description"] = "'signal' on the stream; may be left out of a file row"
    props["price"]["description"] = "entry price; when absent, the first price after ts (the next bar's open)"
    props["strategy"]["description"] = "the strategy's name (default 'user')"
    props["features"]["description"] = "numeric values of the extra features the config declares (extra_features)"
    for option in props["features"]["anyOf"]:
        if option.get("type") == "object":
            option["additionalProperties"] = False  # a key that is not a feature name is refused
    props["confidence"]["description"] = "the strategy's confidence, 0..1"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **doc}


def schema_text() -> str:
    return json.dumps(signal_json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huracan.signals.schema", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {SCHEMA_PATH}")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the model")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.write:
        SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        return 0
    if args.check:
        same = SCHEMA_PATH.is_file() and SCHEMA_PATH.read_text(encoding="utf-8") == text
        if not same:
            print(f"{SCHEMA_PATH} is out of date: python -m huracan.signals.schema --write", file=sys.stderr)
        return 0 if same else 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
