"""Readable file templates: real Terraform text with feature blocks and a few substitutions.

    # @if domain          kept only when the `domain` flag is on (`# @if !domain` for off)
    ...
    # @endif
    @{service_name}       replaced by a value

Terraform's own `${...}` syntax passes through untouched, so templates read like the files
they become.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cloudmcp.errors import TemplateError

_DIRECTIVE = re.compile(r"^\s*# @(?P<word>if|endif)\b\s*(?P<negate>!)?(?P<flag>\w+)?\s*$")
_VALUE = re.compile(r"@\{(?P<name>\w+)\}")


def render_template(
    text: str, flags: Mapping[str, bool], values: Mapping[str, str] | None = None
) -> str:
    values = values or {}
    kept: list[str] = []
    stack: list[bool] = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _DIRECTIVE.match(line)
        if match and match["word"] == "if":
            flag = match["flag"]
            if flag is None or flag not in flags:
                raise TemplateError(f"line {number}: unknown flag {flag!r}")
            stack.append(flags[flag] != bool(match["negate"]))
            continue
        if match and match["word"] == "endif":
            if not stack:
                raise TemplateError(f"line {number}: @endif without @if")
            stack.pop()
            continue
        if all(stack):
            kept.append(_substitute(line, values, number))
    if stack:
        raise TemplateError("@if without @endif")
    return "\n".join(kept).strip("\n") + "\n"


def _substitute(line: str, values: Mapping[str, str], number: int) -> str:
    def value(match: re.Match[str]) -> str:
        try:
            return values[match["name"]]
        except KeyError:
            raise TemplateError(f"line {number}: no value for @{{{match['name']}}}") from None

    return _VALUE.sub(value, line)
