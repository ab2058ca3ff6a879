"""A small block-style YAML writer for the JSON-shaped documents the renderers build.

Strings are written as JSON strings (always valid YAML, never mistaken for a number, a boolean
or a CloudFormation short-form tag); multi-line strings become literal blocks so scripts stay
readable. No dependency: the output is read by Cloud Build, SAM and people, not parsed here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

# YAML 1.1 readers turn these bare words into booleans or null.
_RESERVED_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"})
_PLAIN_KEY = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:/.")


def dump(document: Mapping[str, Any], header: str = "") -> str:
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    _mapping(document, 0, lines)
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    plain = (
        key and set(key) <= _PLAIN_KEY and key[0].isalpha() and key.lower() not in _RESERVED_WORDS
    )
    return key if plain and not key.endswith(":") else json.dumps(key)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _is_block_string(value: Any) -> bool:
    # Literal blocks only where they round-trip exactly; anything odd stays a JSON string.
    if not isinstance(value, str) or "\n" not in value.rstrip("\n"):
        return False
    return not (value.endswith("\n\n") or value[:1] in " \t" or "\r" in value or "\t" in value)


def _literal(value: str, indent: int) -> list[str]:
    pad = " " * indent
    chomp = "" if value.endswith("\n") else "-"
    return ["|" + chomp] + [pad + line if line else "" for line in value.rstrip("\n").split("\n")]


def _mapping(document: Mapping[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in document.items():
        head = f"{pad}{_key(key)}:"
        _value(head, value, indent, lines)


def _value(head: str, value: Any, indent: int, lines: list[str]) -> None:
    if isinstance(value, Mapping):
        if value:
            lines.append(head)
            _mapping(value, indent + 2, lines)
        else:
            lines.append(f"{head} {{}}")
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if value:
            lines.append(head)
            _sequence(value, indent + 2, lines)
        else:
            lines.append(f"{head} []")
    elif _is_block_string(value):
        block = _literal(value, indent + 2)
        lines.append(f"{head} {block[0]}")
        lines.extend(block[1:])
    else:
        lines.append(f"{head} {_scalar(value)}")


def _sequence(items: Sequence[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, Mapping) and item:
            first = True
            for key, value in item.items():
                prefix = f"{pad}- " if first else f"{pad}  "
                _value(f"{prefix}{_key(key)}:", value, indent + 2, lines)
                first = False
        elif isinstance(item, Sequence) and not isinstance(item, str) and item:
            lines.append(f"{pad}-")
            _sequence(item, indent + 2, lines)
        elif _is_block_string(item):
            block = _literal(item, indent + 2)
            lines.append(f"{pad}- {block[0]}")
            lines.extend(block[1:])
        else:
            _value(f"{pad}-", item, indent, lines)
