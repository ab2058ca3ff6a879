"""The official SDK's `MCPServer` (`mcp` 2.x, `mcp.server.mcpserver`), served by cloudmcp.

Its public API lists and runs everything: `list_tools`, `call_tool`, `list_resources`,
`list_resource_templates`, `read_resource`, `list_prompts`, `get_prompt`, each given a
`Context` over the request context `mcp2_session` builds. A tool that
returns an `InputRequiredResult` itself (the SDK's own 2026-07-28 flow) gets its answers
through `Context.ask` and runs again with them. Private parts, all here: the completion
handler (`_lowlevel_server.get_request_handler`), and the custom routes a warning names.
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
from cloudmcp.adapters.mcp2_session import request_context
from cloudmcp.adapters.sync import run_sync
from cloudmcp.adapters.wire import dump, resource_contents
from cloudmcp.app.context import Context
from cloudmcp.errors import MCPError, ToolError

types: Any = import_module("mcp.types")
SdkContext: Any = import_module("mcp.server.mcpserver").Context
SdkToolError: Any = import_module("mcp.server.mcpserver.exceptions").ToolError
SdkMCPError: Any = import_module("mcp.shared.exceptions").MCPError

#: Rounds of a tool's own `InputRequiredResult`s before the call is refused.
MAX_ROUNDS = 8


class SdkServer:
    """Runs the SDK app's components for cloudmcp's entries."""

    def __init__(self, mcp: Any, lifespan: FrameworkLifespan) -> None:
        self.mcp = mcp
        self.lifespan = lifespan

    async def context(self, link: ClientLink, input_params: Any = None) -> Any:
        """The SDK's `Context` for a cloudmcp request."""
        state = await self.lifespan.start()
        request = request_context(link, state)
        return SdkContext(request_context=request, mcp_server=self.mcp, input_params=input_params)

    async def run(self, call: Any, ctx: Context) -> Any:
        """`call(sdk_context)` until it returns something other than an
        `InputRequiredResult`, answering each one through cloudmcp's `Context.ask`."""
        # One link for every round: its asks keep counting, so no two share a key.
        link, input_params = ClientLink(ctx), None
        for _ in range(MAX_ROUNDS):
            try:
                value = await call(await self.context(link, input_params))
            except SdkMCPError as exc:
                raise MCPError(exc.code, exc.message, exc.data) from None
            if not isinstance(value, types.InputRequiredResult):
                return value
            asked = dump(value)
            answers = await ctx.ask(asked.get("inputRequests") or {})
            input_params = types.InputResponseRequestParams(
                input_responses=answers, request_state=asked.get("requestState")
            )
        raise ToolError("the request asked the client for input too many times")

    async def call_tool(self, name: str, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        async def call(sdk: Any) -> Any:
            return await self.mcp.call_tool(name, arguments, sdk)

        try:
            return dump(await self.run(call, ctx))
        except SdkToolError as exc:
            raise ToolError(str(exc)) from None

    async def read_resource(self, uri: str, ctx: Context) -> list[dict[str, Any]]:
        async def call(sdk: Any) -> Any:
            return await self.mcp.read_resource(uri, sdk)

        return resource_contents(uri, await self.run(call, ctx))

    async def get_prompt(
        self, name: str, arguments: dict[str, str], ctx: Context
    ) -> dict[str, Any]:
        async def call(sdk: Any) -> Any:
            return await self.mcp.get_prompt(name, arguments, sdk)

        return dump(await self.run(call, ctx))


def not_served(mcp: Any) -> list[str]:
    features = []
    if mcp.settings.auth is not None:
        features.append("its auth settings and token verifier (set AUTH= for cloudmcp's auth)")
    if getattr(mcp, "_custom_starlette_routes", None):
        features.append("custom HTTP routes (@custom_route)")
    return features


def adapt(mcp: Any) -> AdaptedApp:
    framework = f"mcp {version('mcp')} MCPServer"
    not_carried(framework, not_served(mcp))
    user_lifespan = mcp.settings.lifespan
    lifespan = FrameworkLifespan(None if user_lifespan is None else (lambda: user_lifespan(mcp)))
    icons = [dump(icon) for icon in mcp.icons] if mcp.icons else None
    app = AdaptedApp(
        mcp.name,
        mcp.version or version("mcp"),
        framework=framework,
        lifespan=lifespan,
        title=mcp.title,
        instructions=mcp.instructions,
        website_url=mcp.website_url,
        icons=icons,
    )
    server = SdkServer(mcp, lifespan)
    tools, resources, templates, prompts = run_sync(listing(mcp))
    add_listed(app, server, tools, [*resources, *templates], prompts)
    entry = mcp._lowlevel_server.get_request_handler("completion/complete")
    if entry is not None:

        async def complete(params: dict[str, Any]) -> Any:
            # The registry's completions get no request; the SDK's handler ignores it.
            return await entry.handler(None, types.CompleteRequestParams.model_validate(params))

        names = [prompt.name for prompt in prompts]
        add_completions(app, complete, names, [t.uri_template for t in templates])
    return app


__all__ = ["adapt"]
