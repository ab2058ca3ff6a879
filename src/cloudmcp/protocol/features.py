"""The server features both eras share: tools, resources, prompts, completions.

Each method takes the request's params and its `Context` and returns the result
object without era decorations; `modern` and `legacy` add what their revision needs.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cloudmcp.app.schema import ArgumentError
from cloudmcp.app.tools import ToolError, error_result
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.context import Context, InputRequired
from cloudmcp.protocol.errors import INTERNAL_ERROR, MCPError, invalid_params

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp
    from cloudmcp.state.cache import ToolCache

log = logging.getLogger("cloudmcp")

Method = Callable[[dict[str, Any], Context], Awaitable[dict[str, Any]]]

#: Methods whose results a 2026-07-28 client may cache (`ttlMs`, `cacheScope`).
CACHEABLE = frozenset(
    {
        "server/discover",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
    }
)
#: Methods that may answer with an `InputRequiredResult`.
MAY_REQUIRE_INPUT = frozenset({"tools/call", "prompts/get", "resources/read"})


def _name(params: dict[str, Any], key: str = "name") -> str:
    value = params.get(key)
    if not isinstance(value, str):
        raise invalid_params(f'"{key}" must be a string')
    return value


def _allowed(scopes: tuple[str, ...], ctx: Context) -> bool:
    if not scopes:
        return True
    granted = getattr(ctx.principal, "scopes", None)
    return granted is not None and set(scopes) <= set(granted)


async def _guarded(what: str, call: Awaitable[Any]) -> Any:
    """Await a resource or prompt function; a failure of its own becomes an internal error
    answered with the request's id, its text kept for our logs."""
    try:
        return await call
    except (MCPError, InputRequired):
        raise
    except Exception:
        log.exception("%s failed", what)
        raise MCPError(INTERNAL_ERROR, f"{what} failed with an internal error") from None


class Features:
    """Serves an `MCPApp`'s tools, resources and prompts."""

    def __init__(self, app: MCPApp, cache: ToolCache | None = None) -> None:
        self.app = app
        #: Where tools with a `cache_ttl` keep their results.
        self.cache = cache
        self.methods: dict[str, Method] = {
            "tools/list": self.list_tools,
            "tools/call": self.call_tool,
            "resources/list": self.list_resources,
            "resources/templates/list": self.list_resource_templates,
            "resources/read": self.read_resource,
            "prompts/list": self.list_prompts,
            "prompts/get": self.get_prompt,
            "completion/complete": self.complete,
        }

    def capabilities(self) -> dict[str, Any]:
        app = self.app
        capabilities: dict[str, Any] = {}
        if app.tools:
            capabilities["tools"] = {"listChanged": True}
        if app.resources or app.templates:
            capabilities["resources"] = {"subscribe": True, "listChanged": True}
        if app.prompts:
            capabilities["prompts"] = {"listChanged": True}
        if app.completions:
            capabilities["completions"] = {}
        return capabilities

    # tools

    async def list_tools(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        tools = [t.definition for t in self.app.tools.values() if _allowed(t.scopes, ctx)]
        return {"tools": tools}

    async def call_tool(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        name = _name(params)
        tool = self.app.tools.get(name)
        if tool is None or not _allowed(tool.scopes, ctx):
            raise invalid_params(f"Unknown tool: {name}", {"name": name})
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise invalid_params('"arguments" must be an object')
        try:
            kwargs = tool.signature.parse(arguments)
        except ArgumentError as exc:
            # 2025-11-25: invalid arguments are a tool error the model can correct.
            return error_result(f"Invalid arguments for tool {name}: {exc}")
        if tool.signature.context_param:
            kwargs[tool.signature.context_param] = ctx
        cache_key = None
        if tool.cache_ttl and self.cache is not None:
            principal = ctx.principal
            caller = None if principal is None else str(getattr(principal, "id", principal))
            cache_key = self.cache.key(name, jsonrpc.encode_canonical([arguments, caller]))
            cached = await self.cache.get(cache_key)
            if cached is not None:
                hit: dict[str, Any] = jsonrpc.decode(cached)
                return hit
        try:
            value = await tool.run(kwargs)
        except (ToolError, ArgumentError) as exc:
            return error_result(str(exc))
        except (MCPError, InputRequired):
            raise
        except Exception:
            # The model sees that the tool failed, never how: internals stay in our logs.
            log.exception("tool %s failed", name)
            return error_result(f"Tool {name} failed with an internal error")
        result = tool.result(value)
        if self._oversized(result):
            log.warning("tool %s returned more than MAX_RESULT_SIZE bytes", name)
            return error_result(f"Tool {name} returned a result larger than this server sends")
        # An answer that depended on the client's input is that conversation's alone.
        if cache_key is not None and not result.get("isError") and not ctx.asked_client:
            assert self.cache is not None and tool.cache_ttl  # nosec B101 - for mypy: see cache_key
            await self.cache.put(cache_key, jsonrpc.encode(result), tool.cache_ttl)
        return result

    def _oversized(self, result: dict[str, Any]) -> bool:
        """Whether a result is over MAX_RESULT_SIZE (one more encode, but only of what a
        client would be sent anyway, and no crash or 6 MB Lambda payload error later)."""
        limit = self.app.settings.max_result_size
        return bool(limit) and len(jsonrpc.encode(result)) > limit

    # resources

    async def list_resources(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        resources = self.app.resources.values()
        return {"resources": [r.definition for r in resources if _allowed(r.scopes, ctx)]}

    async def list_resource_templates(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        templates = self.app.templates
        return {"resourceTemplates": [t.definition for t in templates if _allowed(t.scopes, ctx)]}

    async def read_resource(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        uri = _name(params, "uri")
        resource = self.app.resources.get(uri)
        kwargs: dict[str, Any] | None = {} if resource is not None else None
        if resource is None:
            for template in self.app.templates:
                kwargs = template.match(uri)
                if kwargs is not None:
                    resource = template
                    break
        if resource is None or kwargs is None or not _allowed(resource.scopes, ctx):
            # -32602 since 2026-07-28; earlier revisions said -32002, and clients accept both.
            raise invalid_params(f"Resource not found: {uri}", {"uri": uri})
        if resource.context_param:
            kwargs[resource.context_param] = ctx
        return {"contents": await _guarded(f"Resource {uri}", resource.read(uri, kwargs))}

    # prompts

    async def list_prompts(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        prompts = self.app.prompts.values()
        return {"prompts": [p.definition for p in prompts if _allowed(p.scopes, ctx)]}

    async def get_prompt(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        name = _name(params)
        prompt = self.app.prompts.get(name)
        if prompt is None or not _allowed(prompt.scopes, ctx):
            raise invalid_params(f"Unknown prompt: {name}", {"name": name})
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict) or not all(
            isinstance(v, str) for v in arguments.values()
        ):
            raise invalid_params('"arguments" must be an object of strings')
        missing = prompt.missing(arguments)
        if missing:
            raise invalid_params(f"Missing required arguments: {', '.join(missing)}")
        known = {a["name"] for a in prompt.arguments}
        kwargs: dict[str, Any] = {k: v for k, v in arguments.items() if k in known}
        if prompt.context_param:
            kwargs[prompt.context_param] = ctx
        messages = await _guarded(f"Prompt {name}", prompt.render(kwargs))
        result: dict[str, Any] = {"messages": messages}
        if prompt.description:
            result["description"] = prompt.description
        return result

    # completions

    async def complete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        ref, argument = params.get("ref"), params.get("argument")
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise invalid_params('"ref" and "argument" must be objects')
        target = ref.get("name") if ref.get("type") == "ref/prompt" else ref.get("uri")
        handler = self.app.completions.get((ref.get("type"), target))  # type: ignore[arg-type]
        values: Any = []
        if handler is not None:
            context = params.get("context")
            values = handler(argument.get("name"), str(argument.get("value", "")), context or {})
            if inspect.isawaitable(values):
                values = await values
        values = [str(v) for v in values]
        # The spec caps one answer at 100 values and says how many there are in all.
        return {
            "completion": {
                "values": values[:100],
                "total": len(values),
                "hasMore": len(values) > 100,
            }
        }
