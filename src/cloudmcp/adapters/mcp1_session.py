"""The request context `mcp` 1.x gives a handler, with a session that talks through cloudmcp.

SDK v1 `FastMCP` and FastMCP 2.x/3.x read the current request from the SDK's
`request_ctx` context variable and call its session to reach the client
(`send_log_message`, `elicit_form`, `create_message`, `list_roots`, ...). Those methods
end in the session's two public sends, `send_request` and `send_notification`, which
`LinkedSession` routes into a `ClientLink`.

Private parts of `mcp` 1.x, kept here (tested against mcp 1.30): the session is made
without `ServerSession.__init__`, which wants a live connection's streams, and it sets
`_client_params`, which the session's own capability checks read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import import_module
from typing import Any

from cloudmcp.adapters.client import ClientLink
from cloudmcp.adapters.wire import dump

# Typed loosely: the project's own environment has another `mcp` (2.x) installed.
types: Any = import_module("mcp.types")
request_ctx: Any = import_module("mcp.server.lowlevel.server").request_ctx
ServerSession: Any = import_module("mcp.server.session").ServerSession
RequestContext: Any = import_module("mcp.shared.context").RequestContext
ValidationError: Any = import_module("pydantic").ValidationError


class LinkedSession(ServerSession):  # type: ignore[misc]
    """A `ServerSession` for one request whose messages go through a `ClientLink`."""

    def __init__(self, link: ClientLink) -> None:  # no super().__init__(): no connection
        self.link = link
        ctx = link.ctx
        try:
            self._client_params = types.InitializeRequestParams(
                protocolVersion=ctx.protocol_version,
                capabilities=types.ClientCapabilities.model_validate(ctx.client_capabilities),
                clientInfo=types.Implementation.model_validate(
                    ctx.client_info or {"name": "unknown", "version": "unknown"}
                ),
            )
        except ValidationError:
            self._client_params = None

    async def send_request(self, request: Any, result_type: Any, *args: Any, **kwargs: Any) -> Any:
        data = dump(request)
        return result_type.model_validate(
            await self.link.request(data["method"], data.get("params"))
        )

    async def send_notification(self, notification: Any, related_request_id: Any = None) -> None:
        data = dump(notification)
        await self.link.notify(data["method"], data.get("params"))


@contextlib.contextmanager
def request_context(link: ClientLink, lifespan_state: Any, request: Any = None) -> Iterator[Any]:
    """Make `link`'s request the SDK's current request while the block runs."""
    ctx = link.ctx
    token = ctx.progress_token
    meta = types.RequestParams.Meta(progressToken=token) if token is not None else None
    current = RequestContext(
        request_id=ctx.request_id,
        meta=meta,
        session=LinkedSession(link),
        lifespan_context=lifespan_state if lifespan_state is not None else {},
        request=request,
    )
    reset = request_ctx.set(current)
    try:
        yield current
    finally:
        request_ctx.reset(reset)


__all__ = ["LinkedSession", "request_context"]
