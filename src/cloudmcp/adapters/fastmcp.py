"""FastMCP (the `fastmcp` project: 2.x and 3.x on `mcp` 1.x, 4.x on `mcp` 2.x), served
by cloudmcp.

On 3.x and 4.x its public API lists and runs everything: `list_tools`, `call_tool` (its
middleware, argument validation and result conversion), `list_resources`,
`list_resource_templates`, `read_resource`, `list_prompts`, `render_prompt`, with the
components' own `to_mcp_*` conversions. 2.x has no public way to call a component: its
own protocol handlers (`_list_tools_mcp`, `_call_tool_mcp`, `_read_resource_mcp`,
`_get_prompt_mcp`, ...) list and run them, middleware included. Its `Context` finds the
request where the framework puts it: the SDK's request context on `mcp` 1.x
(`mcp1_session`), FastMCP's own `bind_request_context` on 4.x (`mcp2_session`).

Private parts, all here: those 2.x handlers, the lifespan (`_lifespan_manager`, which
also starts its providers' lifespans) and what it yielded (`_lifespan_result`), the 4.x
completion handler (`_mcp_server.get_request_handler`),
and the custom routes a warning names (`_additional_http_routes`). FastMCP 4 refuses
imperative asks (`ctx.elicit`, `ctx.sample`) on 2026-07-28, where the SDK has no way
back to the client; cloudmcp has one (the ask becomes an `InputRequiredResult`), so on
4.x the request context reports the handshake revision to the framework. A tool that
returns an `InputRequiredResult` itself gets its answers and runs again with them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import import_module
from importlib.metadata import version
from typing import Any

from cloudmcp.adapters.app import AdaptedApp, not_carried
from cloudmcp.adapters.client import ClientLink
from cloudmcp.adapters.entries import (
    AdaptedPrompt,
    AdaptedResource,
    AdaptedTool,
    add_completions,
    add_listed,
    listing,
)
from cloudmcp.adapters.lifespan import FrameworkLifespan
from cloudmcp.adapters.sync import run_sync
from cloudmcp.adapters.wire import call_tool_result, dump, resource_contents
from cloudmcp.app.context import Context
from cloudmcp.errors import MCPError, ToolError
from cloudmcp.protocol.errors import invalid_params

exceptions: Any = import_module("fastmcp.exceptions")
PydanticValidationError: Any = import_module("pydantic").ValidationError
_sdk_exceptions = import_module("mcp.shared.exceptions")
#: The SDK's JSON-RPC error: `McpError` in mcp 1.x, `MCPError` in 2.x; both carry `.error`.
SdkMCPError: Any = getattr(_sdk_exceptions, "MCPError", None) or _sdk_exceptions.McpError

#: Rounds of a tool's own `InputRequiredResult`s before the call is refused.
MAX_ROUNDS = 8
#: The revision FastMCP 4 is told on a 2026-07-28 request (see the module's docstring).
HANDSHAKE_REVISION = "2025-11-25"


class FastMCPServer:
    """Runs the FastMCP app's components for cloudmcp's entries."""

    def __init__(self, mcp: Any, lifespan: FrameworkLifespan, major: int) -> None:
        self.mcp = mcp
        self.lifespan = lifespan
        self.major = major
        # 4.x binds its request itself: its own context variable, its own wrapper.
        self.bind: Any = (
            import_module("fastmcp.server.dependencies").bind_request_context
            if major >= 4
            else None
        )

    @contextlib.contextmanager
    def bound(self, link: ClientLink, state: Any, params: dict[str, Any]) -> Iterator[None]:
        """Make `link`'s request FastMCP's current request while the block runs."""
        if self.major < 4:
            from cloudmcp.adapters import mcp1_session

            with mcp1_session.request_context(link, state):
                yield
            return
        from cloudmcp.adapters import mcp2_session

        request = mcp2_session.request_context(
            link, state, params=params, protocol_version=HANDSHAKE_REVISION
        )
        with self.bind(request):
            yield

    async def run(self, call: Any, ctx: Context) -> Any:
        """`call()` with the request bound, until it returns something other than an
        `InputRequiredResult`, answering each one through cloudmcp's `Context.ask`."""
        await self.lifespan.start()
        # What the app's own lifespan yielded, for `ctx.request_context.lifespan_context`.
        state = getattr(self.mcp, "_lifespan_result", None)
        # One link for every round: its asks keep counting, so no two share a key.
        link = ClientLink(ctx)
        params: dict[str, Any] = {"_meta": ctx.meta}
        for _ in range(MAX_ROUNDS):
            with self.bound(link, state, params):
                try:
                    value = await call()
                except exceptions.NotFoundError as exc:
                    raise invalid_params(str(exc)) from None
                except SdkMCPError as exc:
                    raise MCPError(exc.error.code, exc.error.message, exc.error.data) from None
            if type(value).__name__ != "InputRequiredResult":
                return value
            asked = dump(value)
            answers = await ctx.ask(asked.get("inputRequests") or {})
            params = {
                "_meta": ctx.meta,
                "inputResponses": answers,
                "requestState": asked.get("requestState"),
            }
        raise ToolError("the request asked the client for input too many times")

    async def call_tool(self, name: str, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        async def call() -> Any:
            if self.major < 3:
                return await self.mcp._call_tool_mcp(name, arguments)
            return (await self.mcp.call_tool(name, arguments)).to_mcp_result()

        try:
            return call_tool_result(await self.run(call, ctx))
        except (exceptions.FastMCPError, PydanticValidationError) as exc:
            # FastMCP shows the model why a call failed: its ToolError, invalid arguments
            # (its ValidationError; pydantic's own on 2.x).
            raise ToolError(str(exc)) from None

    async def read_resource(self, uri: str, ctx: Context) -> list[dict[str, Any]]:
        if self.major < 3:

            async def read() -> Any:
                return await self.mcp._read_resource_mcp(uri)

            return resource_contents(uri, await self.run(read, ctx))

        async def call() -> Any:
            return (await self.mcp.read_resource(uri)).to_mcp_result(uri)

        contents: list[dict[str, Any]] = dump(await self.run(call, ctx))["contents"]
        return contents

    async def get_prompt(
        self, name: str, arguments: dict[str, str], ctx: Context
    ) -> dict[str, Any]:
        async def call() -> Any:
            if self.major < 3:
                return await self.mcp._get_prompt_mcp(name, arguments)
            return (await self.mcp.render_prompt(name, arguments)).to_mcp_prompt_result()

        return dump(await self.run(call, ctx))


def not_served(mcp: Any) -> list[str]:
    features = []
    if getattr(mcp, "auth", None) is not None:
        features.append("its auth provider (set AUTH= for cloudmcp's auth)")
    if getattr(mcp, "_additional_http_routes", None):
        features.append("custom HTTP routes (@custom_route)")
    return features


def adapt(mcp: Any) -> AdaptedApp:
    release = version("fastmcp")
    major = int(release.split(".")[0])
    framework = f"FastMCP {release}"
    not_carried(framework, not_served(mcp))
    lifespan = FrameworkLifespan(mcp._lifespan_manager)
    icons = [dump(icon) for icon in mcp.icons] if mcp.icons else None
    app = AdaptedApp(
        mcp.name,
        mcp.version or release,
        framework=framework,
        lifespan=lifespan,
        instructions=mcp.instructions,
        website_url=mcp.website_url,
        icons=icons,
    )
    server = FastMCPServer(mcp, lifespan, major)
    if major < 3:
        tools, resources, templates, prompts = run_sync(_listing_v2(mcp))
        add_listed(app, server, tools, [*resources, *templates], prompts)
        return app
    tools, resources, templates, prompts = run_sync(listing(mcp))
    for tool in tools:
        app.add_tool(AdaptedTool(server, dump(tool.to_mcp_tool(name=tool.name))))
    for resource in resources:
        definition = dump(resource.to_mcp_resource(uri=str(resource.uri)))
        app.add_resource(AdaptedResource(server, definition))
    for template in templates:
        definition = dump(template.to_mcp_template(uriTemplate=template.uri_template))
        app.add_resource(AdaptedResource(server, definition, template.matches))
    for prompt in prompts:
        app.add_prompt(AdaptedPrompt(server, dump(prompt.to_mcp_prompt(name=prompt.name))))
    if major >= 4:
        _add_completions(app, mcp, server, prompts, templates)
    return app


def _add_completions(
    app: AdaptedApp, mcp: Any, server: FastMCPServer, prompts: Any, templates: Any
) -> None:
    entry = mcp._mcp_server.get_request_handler("completion/complete")
    if entry is None:
        return
    from cloudmcp.adapters import mcp2_session

    types: Any = import_module("mcp.types")

    async def complete(params: dict[str, Any]) -> Any:
        # The registry's completions get no request; FastMCP binds one that cannot ask.
        request = mcp2_session.bare_request_context(await server.lifespan.start())
        return await entry.handler(request, types.CompleteRequestParams.model_validate(params))

    names = [prompt.name for prompt in prompts]
    add_completions(app, complete, names, [t.uri_template for t in templates])


async def _listing_v2(mcp: Any) -> tuple[Any, Any, Any, Any]:
    return (
        await mcp._list_tools_mcp(),
        await mcp._list_resources_mcp(),
        await mcp._list_resource_templates_mcp(),
        await mcp._list_prompts_mcp(),
    )


__all__ = ["adapt"]
