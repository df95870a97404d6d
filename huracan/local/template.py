"""Reading ``template.yaml``: the single source of truth for the cloud and for the local stack.

CloudFormation short-form tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...) are turned into their long form, so
the result is the same dictionary CloudFormation (and ``samtranslator``) would see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["TEMPLATE_PATH", "dynamodb_table_kwargs", "load_template", "resources_of_type"]

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic functions."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a SAM/CloudFormation YAML template into plain dictionaries (long-form intrinsics)."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_CfnLoader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return data


def resources_of_type(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource for every resource of one type."""
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == rtype}


_CREATE_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
)


def dynamodb_table_kwargs(template: dict[str, Any], logical_id: str, table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for one table, taken from the template so tests cannot drift from it."""
    props = template["Resources"][logical_id]["Properties"]
    kwargs = {k: props[k] for k in _CREATE_TABLE_KEYS if k in props}
    kwargs["TableName"] = table_name
    return kwargs
