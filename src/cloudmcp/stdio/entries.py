"""Registry entries for what a child serves: each forwards its call to a child.

The definitions are the child's own, as its list results gave them; the child checks
its own arguments.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudmcp.app.context import Context

#: How an entry reaches a child: `forward(method, params, ctx) -> result`.
Forward = Callable[[str, dict[str, Any], "Context"], Awaitable[dict[str, Any]]]

_EXPRESSION = re.compile(r"\{([+#./;?&]?)([^}]*)\}")


def compile_uri_template(template: str) -> re.Pattern[str]:
    """A matcher for an RFC 6570 template: `{var}` one path segment, `{+var}` and
    `{#var}` anything, `{?a,b}` and `{&a}` an optional query."""
    regex, end = [], 0
    for found in _EXPRESSION.finditer(template):
        regex.append(re.escape(template[end : found.start()]))
        operator, names = found.group(1), found.group(2).split(",")
        name = re.sub(r"\W", "_", names[0].rstrip("*").split(":")[0])
        if operator in ("?", "&"):
            regex.append(r"(?:[?&].*)?")
        elif operator in ("+", "#"):
            regex.append(f"(?P<{name}>.+)" if len(names) == 1 else ".+")
        else:
            regex.append(f"(?P<{name}>[^/?#]+)" if len(names) == 1 else "[^/?#]+")
        end = found.end()
    regex.append(re.escape(template[end:]))
    return re.compile("".join(regex))


class ChildTool:
    """A tool of the child's."""

    scopes: tuple[str, ...] = ()
    rate_limit: str | None = None
    timeout: float | None = None
    cache_ttl: float | None = None
    headers: Mapping[str, str] = {}

    def __init__(self, definition: dict[str, Any], forward: Forward) -> None:
        self.name: str = definition["name"]
        self.definition = definition
        self._forward = forward

    async def call(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        params = {"name": self.name, "arguments": arguments}
        return await self._forward("tools/call", params, ctx)


class ChildResource:
    """A resource or resource template of the child's."""

    scopes: tuple[str, ...] = ()

    def __init__(self, definition: dict[str, Any], forward: Forward) -> None:
        template = definition.get("uriTemplate")
        self.is_template = isinstance(template, str)
        self.uri: str = template if isinstance(template, str) else definition["uri"]
        self.definition = definition
        self._pattern = compile_uri_template(self.uri) if self.is_template else None
        self._forward = forward

    def match(self, uri: str) -> dict[str, Any] | None:
        if self._pattern is None:
            return {} if uri == self.uri else None
        found = self._pattern.fullmatch(uri)
        return found.groupdict() if found else None

    async def read(self, uri: str, variables: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
        result = await self._forward("resources/read", {"uri": uri}, ctx)
        contents: list[dict[str, Any]] = result.get("contents") or []
        return contents


class ChildPrompt:
    """A prompt of the child's."""

    scopes: tuple[str, ...] = ()

    def __init__(self, definition: dict[str, Any], forward: Forward) -> None:
        self.name: str = definition["name"]
        self.definition = definition
        self._forward = forward

    async def get(self, arguments: dict[str, str], ctx: Context) -> dict[str, Any]:
        return await self._forward("prompts/get", {"name": self.name, "arguments": arguments}, ctx)
