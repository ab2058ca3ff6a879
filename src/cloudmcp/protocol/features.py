"""The server features both eras share: tools, resources, prompts, completions.

`Features.run` serves a parsed `Call` within its time limit and returns the result
object without era decorations; the eras add what their revision needs.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from cloudmcp.app.context import Context
from cloudmcp.app.registry import Registry
from cloudmcp.app.tools import error_result
from cloudmcp.errors import ArgumentError, MCPError, ToolError
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.call import Call
from cloudmcp.protocol.errors import internal_error, invalid_params, method_not_found, timed_out
from cloudmcp.protocol.transport import principal_id
from cloudmcp.state.cache import ToolCache

log = logging.getLogger("cloudmcp")

Handler = Callable[[Call, Context], Awaitable[dict[str, Any]]]


class FeatureTracer(Protocol):
    """Puts each feature call in a trace span (`cloudmcp.ops.tracing`)."""

    def feature(self, method: str, params: dict[str, Any]) -> AbstractContextManager[None]: ...

    def outgoing(self, method: str, params: dict[str, Any]) -> AbstractContextManager[None]:
        """A span for a request to the client (elicitation, sampling); puts its trace
        context in `params["_meta"]`."""
        ...


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
    except MCPError:
        raise
    except Exception:
        log.exception("%s failed", what)
        raise internal_error(f"{what} failed with an internal error") from None


class Features:
    """Serves a `Registry`'s tools, resources, prompts and completions."""

    def __init__(
        self,
        registry: Registry,
        *,
        cache: ToolCache | None = None,
        tool_timeout: float = 0.0,
        max_result_size: int = 0,
        tracer: FeatureTracer | None = None,
    ) -> None:
        self.registry = registry
        #: Where tools with a `cache_ttl` keep their results.
        self.cache = cache
        self.tool_timeout = tool_timeout
        self.max_result_size = max_result_size
        self.tracer = tracer
        self.handlers: dict[str, Handler] = {
            "tools/list": self.list_tools,
            "tools/call": self.call_tool,
            "resources/list": self.list_resources,
            "resources/templates/list": self.list_resource_templates,
            "resources/read": self.read_resource,
            "prompts/list": self.list_prompts,
            "prompts/get": self.get_prompt,
            "completion/complete": self.complete,
        }

    async def run(self, call: Call, ctx: Context) -> dict[str, Any]:
        """Serve `call` within its time limit, in a span when tracing."""
        handler = self.handlers.get(call.method)
        if handler is None:
            raise method_not_found(call.method)
        if self.tracer is None:
            return await self._limited(handler, call, ctx)
        with self.tracer.feature(call.method, call.params):
            return await self._limited(handler, call, ctx)

    async def _limited(self, handler: Handler, call: Call, ctx: Context) -> dict[str, Any]:
        limit = self.tool_timeout or None
        tool = call.tool
        if tool is not None and tool.timeout:
            limit = tool.timeout
        if ctx.deadline is not None:
            remaining = ctx.deadline - time.monotonic()
            limit = remaining if limit is None else min(limit, remaining)
        if limit is None:
            return await handler(call, ctx)
        try:
            async with asyncio.timeout(limit):
                return await handler(call, ctx)
        except TimeoutError:
            raise timed_out(limit) from None

    def encode(
        self,
        call: Call,
        result: dict[str, Any],
        decorate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> bytes:
        """The JSON-RPC response for `result`, encoded once; a tool result over
        `MAX_RESULT_SIZE` becomes a tool error (no 6 MB Lambda payload error later),
        `decorate`d as the era decorates results."""
        data = jsonrpc.encode(jsonrpc.result(call.id, result))
        limit = self.max_result_size
        if not limit or len(data) <= limit or call.method != "tools/call":
            return data
        log.warning("tool %s returned more than MAX_RESULT_SIZE bytes", call.target)
        error = error_result(f"Tool {call.target} returned a result larger than this server sends")
        return jsonrpc.encode(jsonrpc.result(call.id, decorate(error) if decorate else error))

    # tools

    async def list_tools(self, call: Call, ctx: Context) -> dict[str, Any]:
        tools = self.registry.tools.values()
        return {"tools": [t.definition for t in tools if _allowed(t.scopes, ctx)]}

    async def call_tool(self, call: Call, ctx: Context) -> dict[str, Any]:
        tool = call.tool
        name = call.target
        if name is None:
            raise invalid_params('"name" must be a string')
        if tool is None or not _allowed(tool.scopes, ctx):
            raise invalid_params(f"Unknown tool: {name}", {"name": name})
        arguments = call.params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise invalid_params('"arguments" must be an object')
        cache_key = None
        if tool.cache_ttl and self.cache is not None:
            caller = principal_id(ctx.principal)
            cache_key = self.cache.key(name, jsonrpc.encode_canonical([arguments, caller]))
            cached = await self.cache.get(cache_key)
            if cached is not None:
                hit: dict[str, Any] = jsonrpc.decode(cached)
                return hit
        try:
            result = await tool.call(arguments, ctx)
        except (ToolError, ArgumentError) as exc:
            return error_result(str(exc))
        except MCPError:
            raise
        except Exception:
            # The model sees that the tool failed, never how: internals stay in our logs.
            log.exception("tool %s failed", name)
            return error_result(f"Tool {name} failed with an internal error")
        # An answer that depended on the client's input is that conversation's alone.
        if cache_key is not None and not result.get("isError") and not ctx.asked_client:
            assert self.cache is not None and tool.cache_ttl  # nosec B101 - for mypy: see cache_key
            await self.cache.put(cache_key, jsonrpc.encode(result), tool.cache_ttl)
        return result

    # resources

    async def list_resources(self, call: Call, ctx: Context) -> dict[str, Any]:
        resources = self.registry.resources.values()
        return {"resources": [r.definition for r in resources if _allowed(r.scopes, ctx)]}

    async def list_resource_templates(self, call: Call, ctx: Context) -> dict[str, Any]:
        templates = self.registry.templates
        return {"resourceTemplates": [t.definition for t in templates if _allowed(t.scopes, ctx)]}

    async def read_resource(self, call: Call, ctx: Context) -> dict[str, Any]:
        uri = call.target
        if uri is None:
            raise invalid_params('"uri" must be a string')
        resource = call.resource
        if resource is None or not _allowed(resource.scopes, ctx):
            # -32602 since 2026-07-28; earlier revisions said -32002, and clients accept both.
            raise invalid_params(f"Resource not found: {uri}", {"uri": uri})
        variables = call.variables or {}
        contents = await _guarded(f"Resource {uri}", resource.read(uri, variables, ctx))
        return {"contents": contents}

    # prompts

    async def list_prompts(self, call: Call, ctx: Context) -> dict[str, Any]:
        prompts = self.registry.prompts.values()
        return {"prompts": [p.definition for p in prompts if _allowed(p.scopes, ctx)]}

    async def get_prompt(self, call: Call, ctx: Context) -> dict[str, Any]:
        name = call.target
        if name is None:
            raise invalid_params('"name" must be a string')
        prompt = call.prompt
        if prompt is None or not _allowed(prompt.scopes, ctx):
            raise invalid_params(f"Unknown prompt: {name}", {"name": name})
        arguments = call.params.get("arguments") or {}
        if not isinstance(arguments, dict) or not all(
            isinstance(v, str) for v in arguments.values()
        ):
            raise invalid_params('"arguments" must be an object of strings')
        result: dict[str, Any] = await _guarded(f"Prompt {name}", prompt.get(arguments, ctx))
        return result

    # completions

    async def complete(self, call: Call, ctx: Context) -> dict[str, Any]:
        ref, argument = call.params.get("ref"), call.params.get("argument")
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise invalid_params('"ref" and "argument" must be objects')
        target = ref.get("name") if ref.get("type") == "ref/prompt" else ref.get("uri")
        handler = self.registry.completions.get((ref.get("type"), target))  # type: ignore[arg-type]
        values: Any = []
        if handler is not None:
            context = call.params.get("context")
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


__all__ = ["FeatureTracer", "Features"]
