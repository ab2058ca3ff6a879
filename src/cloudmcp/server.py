"""The `Server`: one HTTP application, the same on every platform.

It routes a request to the MCP endpoint, the health checks, or what the operations
and security layers add (metrics, OAuth metadata), authenticates calls to the MCP
endpoint, and tells observers (metrics, logs) how each request went. The ASGI and
AWS Lambda edges only translate their platform's request into an `HttpRequest`.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from cloudmcp.protocol.errors import MCPError
from cloudmcp.protocol.transport import HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

Route = Callable[[HttpRequest, Responder], Awaitable[None]]

#: Names the process that answered: shows which instance behind a load balancer served what.
INSTANCE_HEADER = "x-cloudmcp-instance"


def instance_name(configured: str = "") -> str:
    """This process's name: `INSTANCE_ID`, else host name and process id."""
    return configured or f"{socket.gethostname()}-{os.getpid()}"


class Authenticator(Protocol):
    """Establishes who calls the MCP endpoint."""

    async def authenticate(self, request: HttpRequest) -> Any:
        """The principal; raises `MCPError` (401 or 403, with `WWW-Authenticate`)."""
        ...


class Observer(Protocol):
    """Sees every request once it is answered (metrics, access logs)."""

    def observe(self, request: HttpRequest, responder: Responder, seconds: float) -> None: ...


class Tracer(Protocol):
    """Puts each request, and each feature call within it, in a trace span."""

    def request(
        self, request: HttpRequest, responder: Responder
    ) -> AbstractContextManager[Responder]:
        """A span for the request; the responder to answer through (it adds trace headers)."""
        ...

    def feature(self, method: str, params: dict[str, Any]) -> AbstractContextManager[None]: ...


def normalize(path: str) -> str:
    """`/mcp/`, `mcp` and `/mcp` are one route."""
    stripped = path.strip("/")
    return "/" + stripped if stripped else "/"


class Server:
    def __init__(self, app: MCPApp, path: str = "/mcp") -> None:
        self.app = app
        self.path = normalize(path)
        app.install_auth()  # before the routes are read: it may add some (OAuth metadata)
        self.routes: dict[str, Route] = {
            "/health": self._health,
            "/health/deep": self._health,
            "/ready": self._health,
            **app.routes,
        }

    async def handle(self, request: HttpRequest, responder: Responder) -> None:
        """Answer one HTTP request. Never raises."""
        started = time.perf_counter()
        tracer = self.app.tracer
        if tracer is None:
            await self._route(request, responder)
        else:
            with tracer.request(request, responder) as traced:
                await self._route(request, traced)
        self._observe(request, responder, started)

    async def reject(self, request: HttpRequest, responder: Responder, error: MCPError) -> None:
        """Refuse a request an edge would not read whole (a body over the size limit),
        telling observers like any other request."""
        started = time.perf_counter()
        await self.app.engine.reply_error(request, responder, None, error)
        self._observe(request, responder, started)

    def _observe(self, request: HttpRequest, responder: Responder, started: float) -> None:
        for observer in self.app.observers:
            observer.observe(request, responder, time.perf_counter() - started)

    async def _route(self, request: HttpRequest, responder: Responder) -> None:
        path = normalize(request.path)
        try:
            if path == self.path:
                await self._mcp(request, responder)
            else:
                route = self.routes.get(path)
                if route is None:
                    raise MCPError(-32600, f"Not found: {request.path}", status=404)
                await route(request, responder)
        except MCPError as exc:
            await self.app.engine.reply_error(request, responder, None, exc)

    async def _mcp(self, request: HttpRequest, responder: Responder) -> None:
        engine = self.app.engine
        limit = engine.settings.max_request_size
        if len(request.body) > limit:
            raise MCPError(-32600, f"Request body larger than {limit} bytes", status=413)
        authenticator = self.app.authenticator
        if authenticator is not None and request.principal is None:
            request.principal = await authenticator.authenticate(request)
        await engine.handle(request, responder)

    async def _health(self, request: HttpRequest, responder: Responder) -> None:
        """`/health`, `/health/deep` and `/ready`: before auth and the Host/Origin checks."""
        from cloudmcp.ops.health import serve_health

        await serve_health(self.app, request, responder)
