"""The ASGI edge: the MCP endpoint and health checks, for uvicorn, Cloud Run, or a mount
inside a Starlette or FastAPI app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.errors import MCPError
from cloudmcp.protocol.transport import JSON, Headers, HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AsgiResponder(Responder):
    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._watcher: asyncio.Task[None] | None = None
        self._callbacks: list[Callable[[], None]] = []

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        raw.append((b"content-length", str(len(body)).encode()))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body})

    async def start_stream(self, headers: Headers) -> None:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await self._send({"type": "http.response.start", "status": 200, "headers": raw})
        self.on_disconnect(lambda: None)  # a stream must notice when its reader leaves

    async def write(self, chunk: bytes) -> None:
        if not self.closed:
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def end_stream(self) -> None:
        if not self.closed:
            await self._send({"type": "http.response.body", "body": b""})

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.closed = True
        for callback in self._callbacks:
            callback()

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


class HttpApp:
    """ASGI app: MCP at `path` (with or without a trailing slash), `/health`, `/ready`."""

    def __init__(self, mcp: MCPApp, path: str = "/mcp") -> None:
        self.mcp = mcp
        self.path = "/" + path.strip("/") if path.strip("/") else "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        path = path.rstrip("/") or "/"
        if path == self.path:
            await self._mcp(scope, receive, send)
        elif path in ("/health", "/ready"):
            from cloudmcp.ops.health import health_response

            status, body = await health_response(self.mcp, ready=path == "/ready")
            await AsgiResponder(receive, send).respond(status, [("content-type", JSON)], body)
        else:
            error = MCPError(-32600, f"Not found: {scope['path']}", status=404)
            body = jsonrpc.encode(jsonrpc.error(None, error))
            await AsgiResponder(receive, send).respond(404, [("content-type", JSON)], body)

    async def _mcp(self, scope: Scope, receive: Receive, send: Send) -> None:
        engine = self.mcp.engine
        responder = AsgiResponder(receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = engine.settings.max_request_size
        body = b""
        try:
            declared = int(headers.get("content-length", 0))
        except ValueError:
            declared = 0
        if declared > limit:
            await engine.reply_error(responder, None, _too_large(limit))
            return
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await engine.reply_error(responder, None, _too_large(limit))
                return
            if not message.get("more_body"):
                break
        request = HttpRequest(scope["method"], headers, body, principal=scope.get("principal"))
        try:
            await engine.handle(request, responder)
        finally:
            responder.stop_watching()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        lifespan = self.mcp.lifespan()
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await lifespan.__aenter__()
                except Exception as exc:  # report, do not crash the server's loop
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await lifespan.__aexit__(None, None, None)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _too_large(limit: int) -> MCPError:
    return MCPError(-32600, f"Request body larger than {limit} bytes", status=413)
