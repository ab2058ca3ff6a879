"""The request context `mcp` 2.x gives a handler, with a session that talks through cloudmcp.

SDK v2 `MCPServer` and FastMCP 4.x hand their `Context` a `ServerRequestContext` whose
`ServerSession` reaches the client through an `Outbound` channel (the SDK's protocol:
`send_raw_request`, `notify`). `LinkedOutbound` is that channel over a `ClientLink`;
the rest is the SDK's public constructors (`Connection.from_envelope`, `ServerSession`,
`ServerRequestContext`).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from cloudmcp.adapters.client import ClientLink

# Typed loosely: the frameworks are optional and typed with their own tools.
Connection: Any = import_module("mcp.server.connection").Connection
ServerSession: Any = import_module("mcp.server.session").ServerSession
ServerRequestContext: Any = import_module("mcp.server.context").ServerRequestContext


class LinkedOutbound:
    """The SDK's `Outbound` back-channel for one request, through a `ClientLink`."""

    can_send_request = True

    def __init__(self, link: ClientLink) -> None:
        self.link = link
        self.request_id = link.ctx.request_id

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: Any = None
    ) -> dict[str, Any]:
        return await self.link.request(method, dict(params or {}))

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: Any = None) -> None:
        await self.link.notify(method, dict(params or {}))

    async def progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        await self.link.ctx.report_progress(progress, total, message)


def request_context(
    link: ClientLink,
    lifespan_state: Any,
    *,
    params: Mapping[str, Any] | None = None,
    protocol_version: str | None = None,
) -> Any:
    """The SDK's `ServerRequestContext` for `link`'s request. `params`: the request's
    params as the framework should see them; `protocol_version`: the revision it is
    told (the client's, unless a framework needs another)."""
    ctx = link.ctx
    version = protocol_version or ctx.protocol_version
    outbound = LinkedOutbound(link)
    connection = Connection.from_envelope(
        version, ctx.client_info, ctx.client_capabilities, outbound=outbound
    )
    connection.session_id = ctx.session_id
    # The SDK's `_meta` names the progress token in Python's way; other keys as sent.
    meta = {key: value for key, value in ctx.meta.items() if key != "progressToken"}
    if ctx.progress_token is not None:
        meta["progress_token"] = ctx.progress_token
    session = ServerSession(outbound, connection, request_meta=meta)
    return ServerRequestContext(
        session=session,
        lifespan_context=lifespan_state,
        protocol_version=version,
        method=ctx.method,
        params=params,
        request_id=ctx.request_id,
        meta=meta,
    )


def bare_request_context(lifespan_state: Any) -> Any:
    """A `ServerRequestContext` with no client behind it, for calls made outside a request
    (completions: the registry passes them no `Context`)."""
    connection = Connection.from_envelope("2025-11-25", None, None)
    return ServerRequestContext(
        session=ServerSession(connection.outbound, connection),
        lifespan_context=lifespan_state,
        protocol_version=connection.protocol_version,
        method="completion/complete",
    )


__all__ = ["LinkedOutbound", "bare_request_context", "request_context"]
