"""The ASGI edge: the MCP endpoint and health checks, for uvicorn, Cloud Run, or a mount
inside a Starlette or FastAPI app."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from cloudmcp.compose import Composable, Service
from cloudmcp.eventloop import running_loop
from cloudmcp.http.cors import CorsPolicy
from cloudmcp.protocol.errors import too_large
from cloudmcp.protocol.transport import Headers, HttpRequest, Responder
from cloudmcp.server import INSTANCE_HEADER, instance_name, normalize

if TYPE_CHECKING:
    from cloudmcp.ops import OpsConfig

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
    """ASGI app: MCP at `path` (with or without a trailing slash), `/health`, `/ready`.

    It serves what `app.compose(...)` builds, composed when made, and again after a
    lifespan ended it."""

    def __init__(
        self,
        app: Composable,
        path: str = "/mcp",
        *,
        bind_host: str | None = None,
        operations: OpsConfig | None = None,
    ) -> None:
        self.app = app
        self.path = normalize(path)
        self.bind_host = bind_host
        self.operations = operations
        self._service: Service | None = None
        self._cors_policy: CorsPolicy | None = None
        self.service  # noqa: B018 - composed now, before the server installs signal handlers
        self._extra: Headers = [(INSTANCE_HEADER, instance_name(app.settings.instance_id))]

    @property
    def service(self) -> Service:
        service = self._service
        if service is None or service.closed:
            service = self._service = self.app.compose(
                bind_host=self.bind_host, operations=self.operations
            )
        return service

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
        service = self._service
        if service is None or service.closed:
            service = self.service
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        extra = self._extra
        cors = self._cors(service)
        if cors.enabled:
            preflight = cors.preflight_headers(scope["method"], headers)
            if preflight is not None:
                await AsgiResponder(receive, send, extra).respond(204, preflight, b"")
                return
            extra = [*extra, *cors.response_headers(headers)]
        responder = AsgiResponder(receive, send, extra)
        limit = service.settings.max_request_size
        body = await self._body(headers, receive, limit)
        if body is None:
            refused = HttpRequest(scope["method"], headers, b"", path)
            await service.server.reject(refused, responder, too_large(limit))
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
            await service.server.handle(request, responder, self.path)
        finally:
            responder.stop_watching()

    def _cors(self, service: Service) -> CorsPolicy:
        # The same setting, and so the same answers, as the Lambda edge.
        origins = service.settings.cors_allow_origins
        if self._cors_policy is None or self._cors_policy.origins != origins:
            self._cors_policy = CorsPolicy(origins)
        return self._cors_policy

    async def _body(self, headers: dict[str, str], receive: Receive, limit: int) -> bytes | None:
        """The request body; None when it is over the size limit (read no further)."""
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
        lifespan = self.app.lifespan()
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
