"""Terraform literal values (strings, numbers, lists, maps) written from Python values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def literal(value: Any, indent: int = 0) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        # JSON escapes are HCL escapes; `${` and `%{` would start a template, so double them.
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        pad = " " * (indent + 2)
        width = max(len(_key(k)) for k in value)
        rows = [f"{pad}{_key(k):<{width}} = {literal(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + "\n".join(rows) + "\n" + " " * indent + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(item, indent) for item in value) + "]"
    raise TypeError(f"no Terraform literal for {type(value).__name__}")


def _key(key: str) -> str:
    plain = key.replace("_", "a").replace("-", "a").isalnum() and not key[0].isdigit()
    return key if plain else json.dumps(key)
