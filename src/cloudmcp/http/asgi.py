"""The ASGI edge: the MCP endpoint and health checks, for uvicorn, Cloud Run, or a mount
inside a Starlette or FastAPI app."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from cloudmcp.eventloop import running_loop
from cloudmcp.protocol.errors import MCPError
from cloudmcp.protocol.transport import Headers, HttpRequest, Responder
from cloudmcp.server import INSTANCE_HEADER, Server, instance_name

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# A call that ends sooner than this never needs to notice its client leaving, so the task
# that listens for a disconnect starts only then: most calls never pay for it.
WATCH_AFTER = 0.02


class AsgiResponder(Responder):
    def __init__(self, receive: Receive, send: Send, extra: Headers | None = None) -> None:
        self._receive = receive
        self._send = send
        #: Headers every response carries (the instance's name).
        self._extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra or ()]
        self._watcher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._callbacks: list[Callable[[], object]] = []

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status = status
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        raw.append((b"content-length", str(len(body)).encode()))
        raw.extend(self._extra)
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body})

    async def start_stream(self, headers: Headers) -> None:
        self.status = 200
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        raw.extend(self._extra)
        await self._send({"type": "http.response.start", "status": 200, "headers": raw})
        self._watch_now()  # a stream must notice when its reader leaves

    async def write(self, chunk: bytes) -> None:
        if not self.closed:
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def end_stream(self) -> None:
        if not self.closed:
            await self._send({"type": "http.response.body", "body": b""})

    def on_disconnect(self, callback: Callable[[], object]) -> None:
        self._callbacks.append(callback)
        if self._watcher is None and self._timer is None:
            self._timer = running_loop().call_later(WATCH_AFTER, self._watch_now)

    def _watch_now(self) -> None:
        if self._watcher is None:
            self._watcher = running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.closed = True
        for callback in self._callbacks:
            callback()

    def stop_watching(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()


class HttpApp:
    """ASGI app: MCP at `path` (with or without a trailing slash), `/health`, `/ready`."""

    def __init__(self, mcp: MCPApp, path: str = "/mcp") -> None:
        self.mcp = mcp
        self.server = Server(mcp, path)
        self._extra: Headers = [(INSTANCE_HEADER, instance_name(mcp.settings.instance_id))]

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
        responder = AsgiResponder(receive, send, self._extra)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await self._body(headers, receive)
        if body is None:
            limit = self.mcp.settings.max_request_size
            error = MCPError(-32600, f"Request body larger than {limit} bytes", status=413)
            refused = HttpRequest(scope["method"], headers, b"", path)
            await self.server.reject(refused, responder, error)
            return
        peer = scope.get("client")
        request = HttpRequest(
            scope["method"],
            headers,
            body,
            path,
            principal=scope.get("principal"),
            client=peer[0] if peer else None,
            # Set by a hosting adapter (AWS Lambda's ASGI mode): its request context, and
            # when the platform will cut the request off.
            platform=scope.get("cloudmcp.platform"),
            deadline=scope.get("cloudmcp.deadline"),
        )
        try:
            await self.server.handle(request, responder)
        finally:
            responder.stop_watching()

    async def _body(self, headers: dict[str, str], receive: Receive) -> bytes | None:
        """The request body; None when it is over the size limit (read no further)."""
        limit = self.mcp.settings.max_request_size
        try:
            if int(headers.get("content-length", 0)) > limit:
                return None
        except ValueError:
            pass
        body = b""
        while True:
            message = await receive()
            chunk: bytes = message.get("body", b"")
            body += chunk
            if len(body) > limit:
                return None
            if not message.get("more_body"):
                return body

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
                # Everything built so far lives as long as the server: keep the garbage
                # collector from walking it again on every full collection.
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await lifespan.__aexit__(None, None, None)
                await send({"type": "lifespan.shutdown.complete"})
                return
