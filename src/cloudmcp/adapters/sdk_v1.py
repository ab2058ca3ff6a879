"""The official SDK's `FastMCP` (`mcp` 1.x, `mcp.server.fastmcp`), served by cloudmcp.

Its public API lists and runs everything: `list_tools`, `call_tool` (the SDK validates
the arguments and converts the result), `list_resources`, `list_resource_templates`,
`read_resource`, `list_prompts`, `get_prompt`; its `Context` works through the session
`mcp1_session` puts in the SDK's request context. Private parts, all here: the
completion handler (`_mcp_server.request_handlers`), only when the app registered one,
and the custom routes a warning names (`_custom_starlette_routes`).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import version
from typing import Any

from cloudmcp.adapters.app import AdaptedApp, not_carried
from cloudmcp.adapters.client import ClientLink
from cloudmcp.adapters.entries import (
    add_completions,
    add_listed,
    listing,
)
from cloudmcp.adapters.lifespan import FrameworkLifespan
from cloudmcp.adapters.mcp1_session import request_context, types
from cloudmcp.adapters.sync import run_sync
from cloudmcp.adapters.wire import call_tool_result, dump, resource_contents
from cloudmcp.app.context import Context
from cloudmcp.errors import ToolError

SdkToolError: Any = import_module("mcp.server.fastmcp.exceptions").ToolError


class SdkServer:
    """Runs the SDK app's components for cloudmcp's entries."""

    def __init__(self, mcp: Any, lifespan: FrameworkLifespan) -> None:
        self.mcp = mcp
        self.lifespan = lifespan

    async def call_tool(self, name: str, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        state = await self.lifespan.start()
        with request_context(ClientLink(ctx), state):
            try:
                value = await self.mcp.call_tool(name, arguments)
            except SdkToolError as exc:
                # The SDK shows the model why a tool failed ("Error executing tool ...").
                raise ToolError(str(exc)) from None
        return call_tool_result(value)

    async def read_resource(self, uri: str, ctx: Context) -> list[dict[str, Any]]:
        state = await self.lifespan.start()
        with request_context(ClientLink(ctx), state):
            return resource_contents(uri, await self.mcp.read_resource(uri))

    async def get_prompt(
        self, name: str, arguments: dict[str, str], ctx: Context
    ) -> dict[str, Any]:
        state = await self.lifespan.start()
        with request_context(ClientLink(ctx), state):
            return dump(await self.mcp.get_prompt(name, arguments))


def not_served(mcp: Any) -> list[str]:
    features = []
    if mcp.settings.auth is not None:
        features.append("its auth settings and token verifier (set AUTH= for cloudmcp's auth)")
    if getattr(mcp, "_custom_starlette_routes", None):
        features.append("custom HTTP routes (@custom_route)")
    return features


def adapt(mcp: Any) -> AdaptedApp:
    sdk = version("mcp")
    framework = f"mcp {sdk} FastMCP"
    not_carried(framework, not_served(mcp))
    user_lifespan = mcp.settings.lifespan
    lifespan = FrameworkLifespan(None if user_lifespan is None else (lambda: user_lifespan(mcp)))
    icons = [dump(icon) for icon in mcp.icons] if mcp.icons else None
    app = AdaptedApp(
        mcp.name,
        sdk,
        framework=framework,
        lifespan=lifespan,
        instructions=mcp.instructions,
        website_url=mcp.website_url,
        icons=icons,
    )
    server = SdkServer(mcp, lifespan)
    tools, resources, templates, prompts = run_sync(listing(mcp))
    add_listed(app, server, tools, [*resources, *templates], prompts)
    handler = mcp._mcp_server.request_handlers.get(types.CompleteRequest)
    if handler is not None:

        async def complete(params: dict[str, Any]) -> Any:
            return await handler(types.CompleteRequest(method="completion/complete", params=params))

        names = [prompt.name for prompt in prompts]
        add_completions(app, complete, names, [t.uriTemplate for t in templates])
    return app


__all__ = ["adapt"]
