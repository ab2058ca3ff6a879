"""The registry entries of an adapted app: each one asks the framework's server.

A framework module supplies a `FrameworkServer`: its app's components as the wire shows
them, and the calls that run them with a `Context`. The entries here are what the
engine serves; they add nothing of their own but the checks the registry protocols ask
for (a prompt's required arguments, a template's match).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from cloudmcp.adapters.wire import dump
from cloudmcp.app.context import Context
from cloudmcp.app.registry import Registry
from cloudmcp.protocol.errors import invalid_params


class FrameworkServer(Protocol):
    async def call_tool(self, name: str, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """The `CallToolResult`; a failure the model should see is a `ToolError`."""
        ...

    async def read_resource(self, uri: str, ctx: Context) -> list[dict[str, Any]]:
        """The `contents` of `resources/read`."""
        ...

    async def get_prompt(
        self, name: str, arguments: dict[str, str], ctx: Context
    ) -> dict[str, Any]:
        """The `GetPromptResult`."""
        ...


class AdaptedTool:
    scopes: tuple[str, ...] = ()
    rate_limit: str | None = None
    timeout: float | None = None
    cache_ttl: float | None = None
    headers: Mapping[str, str] = {}

    def __init__(self, server: FrameworkServer, definition: dict[str, Any]) -> None:
        self.server = server
        self.name: str = definition["name"]
        self.definition = definition

    async def call(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return await self.server.call_tool(self.name, arguments, ctx)


class AdaptedResource:
    scopes: tuple[str, ...] = ()

    def __init__(
        self,
        server: FrameworkServer,
        definition: dict[str, Any],
        matcher: Callable[[str], dict[str, Any] | None] | None = None,
    ) -> None:
        self.server = server
        self.definition = definition
        self.is_template = "uriTemplate" in definition
        self.uri: str = definition["uriTemplate" if self.is_template else "uri"]
        self._matcher = matcher or (template_matcher(self.uri) if self.is_template else None)

    def match(self, uri: str) -> dict[str, Any] | None:
        if self._matcher is None:
            return {} if uri == self.uri else None
        return self._matcher(uri)

    async def read(self, uri: str, variables: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
        # The framework matches the URI again and validates its variables its own way.
        return await self.server.read_resource(uri, ctx)


class AdaptedPrompt:
    scopes: tuple[str, ...] = ()

    def __init__(self, server: FrameworkServer, definition: dict[str, Any]) -> None:
        self.server = server
        self.name: str = definition["name"]
        self.definition = definition
        self.required = [a["name"] for a in definition.get("arguments", ()) if a.get("required")]

    async def get(self, arguments: dict[str, str], ctx: Context) -> dict[str, Any]:
        missing = [name for name in self.required if name not in arguments]
        if missing:
            raise invalid_params(f"Missing required arguments: {', '.join(missing)}")
        return await self.server.get_prompt(self.name, arguments, ctx)


def completer(
    complete: Callable[[dict[str, Any]], Awaitable[Any]], ref: dict[str, Any]
) -> Callable[[str, str, dict[str, Any]], Awaitable[list[str]]]:
    """A registry completion for `ref` that asks the framework's completion handler:
    `complete(params)` with the `completion/complete` params, its `CompleteResult`."""

    async def values(argument: str, value: str, context: dict[str, Any]) -> list[str]:
        params: dict[str, Any] = {"ref": ref, "argument": {"name": argument, "value": value}}
        if context:
            params["context"] = context
        found: list[str] = dump(await complete(params))["completion"]["values"]
        return found

    return values


def add_listed(
    registry: Registry,
    server: FrameworkServer,
    tools: Iterable[Any],
    resources: Iterable[Any],
    prompts: Iterable[Any],
) -> None:
    """Register an entry for each tool, resource (or template) and prompt a framework
    listed, as the MCP models it returned them."""
    for tool in tools:
        registry.add_tool(AdaptedTool(server, dump(tool)))
    for resource in resources:
        registry.add_resource(AdaptedResource(server, dump(resource)))
    for prompt in prompts:
        registry.add_prompt(AdaptedPrompt(server, dump(prompt)))


def add_completions(
    registry: Registry,
    complete: Callable[[dict[str, Any]], Awaitable[Any]],
    prompts: Iterable[str],
    templates: Iterable[str],
) -> None:
    """Register the framework's one completion handler for each prompt (by name) and
    resource template (by URI template)."""
    for name in prompts:
        ref = {"type": "ref/prompt", "name": name}
        registry.add_completion("ref/prompt", name, completer(complete, ref))
    for uri in templates:
        ref = {"type": "ref/resource", "uri": uri}
        registry.add_completion("ref/resource", uri, completer(complete, ref))


async def listing(mcp: Any) -> tuple[Any, Any, Any, Any]:
    """Tools, resources, templates and prompts, through the framework's public list calls."""
    return (
        await mcp.list_tools(),
        await mcp.list_resources(),
        await mcp.list_resource_templates(),
        await mcp.list_prompts(),
    )


_VARIABLE = re.compile(r"{([^{}]+)}")


def template_matcher(template: str) -> Callable[[str], dict[str, Any] | None]:
    """A matcher for an RFC 6570 template's simple (`{var}`) and reserved (`{+var}`,
    `{var*}`) expressions; query expressions (`{?a,b}`) accept any query string."""
    regex: list[str] = []
    names: list[str] = []
    position = 0
    for found in _VARIABLE.finditer(template):
        regex.append(re.escape(template[position : found.start()]))
        expression = found.group(1)
        if expression[0] in "?&":
            regex.append(r"(?:\?.*)?")
        else:
            names.append(expression.lstrip("+#").rstrip("*"))
            wide = expression[0] in "+#" or expression.endswith("*")
            regex.append("(.+)" if wide else "([^/?]+)")
        position = found.end()
    regex.append(re.escape(template[position:]))
    pattern = re.compile("".join(regex))

    def match(uri: str) -> dict[str, Any] | None:
        found = pattern.fullmatch(uri)
        return None if found is None else dict(zip(names, found.groups(), strict=True))

    return match


__all__ = ["AdaptedPrompt", "AdaptedResource", "AdaptedTool", "FrameworkServer", "completer"]
