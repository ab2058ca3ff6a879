"""The `Server`: one HTTP application, the same on every platform.

It routes a request to the MCP endpoint or to a route beside it (health checks,
metrics, OAuth metadata), refuses what the transport rules forbid before anything
costly (size, then Host and Origin, then authentication), and tells observers
(metrics, logs) how each request went. The ASGI and AWS Lambda edges only translate
their platform's request into an `HttpRequest`.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from cloudmcp.auth.hosts import HostPolicy
from cloudmcp.errors import MCPError
from cloudmcp.protocol.engine import Engine
from cloudmcp.protocol.errors import method_not_allowed, not_found, too_large
from cloudmcp.protocol.transport import HttpRequest, Responder

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

    def outgoing(self, method: str, params: dict[str, Any]) -> AbstractContextManager[None]:
        """A span for a request to the client; its trace context goes in `params["_meta"]`."""
        ...


def normalize(path: str) -> str:
    """`/mcp/`, `mcp` and `/mcp` are one route."""
    stripped = path.strip("/")
    return "/" + stripped if stripped else "/"


class Server:
    def __init__(
        self,
        engine: Engine,
        hosts: HostPolicy,
        *,
        routes: Mapping[str, Route] | None = None,
        authenticator: Authenticator | None = None,
        observers: Sequence[Observer] = (),
        tracer: Tracer | None = None,
        standalone_streams: bool = True,
    ) -> None:
        self.engine = engine
        self.hosts = hosts
        self.routes: dict[str, Route] = dict(routes or {})
        self.authenticator = authenticator
        self.observers = tuple(observers)
        self.tracer = tracer
        #: Whether a legacy GET opens a standalone SSE stream (not on AWS Lambda, where a
        #: response cannot stay open: there a GET only resumes with `Last-Event-ID`).
        self.standalone_streams = standalone_streams

    async def handle(self, request: HttpRequest, responder: Responder, path: str = "/mcp") -> None:
        """Answer one HTTP request, serving MCP at `path` (normalized: the edge's mount
        point is its own business). Never raises."""
        started = time.perf_counter()
        tracer = self.tracer
        if tracer is None:
            await self._route(request, responder, path)
        else:
            with tracer.request(request, responder) as traced:
                await self._route(request, traced, path)
        self._observe(request, responder, started)

    async def reject(self, request: HttpRequest, responder: Responder, error: MCPError) -> None:
        """Refuse a request an edge would not read whole (a body over the size limit),
        telling observers like any other request."""
        started = time.perf_counter()
        await self.engine.refuse(request, responder, error)
        self._observe(request, responder, started)

    def _observe(self, request: HttpRequest, responder: Responder, started: float) -> None:
        for observer in self.observers:
            observer.observe(request, responder, time.perf_counter() - started)

    async def _route(self, request: HttpRequest, responder: Responder, mcp_path: str) -> None:
        path = normalize(request.path)
        try:
            if path == mcp_path:
                await self._mcp(request, responder)
            else:
                route = self.routes.get(path)
                if route is None:
                    raise not_found(request.path)
                await route(request, responder)
        except MCPError as exc:
            await self.engine.refuse(request, responder, exc)

    async def _mcp(self, request: HttpRequest, responder: Responder) -> None:
        limit = self.engine.settings.max_request_size
        if len(request.body) > limit:
            raise too_large(limit)
        self.hosts.check(request)  # cheap, and before authentication may call out
        if (
            not self.standalone_streams
            and request.method == "GET"
            and "last-event-id" not in request.headers
        ):
            raise method_not_allowed(
                "this server runs on AWS Lambda and offers no standalone SSE stream; GET "
                "only resumes a stream with Last-Event-ID"
            )
        authenticator = self.authenticator
        if authenticator is not None and request.principal is None:
            request.principal = await authenticator.authenticate(request)
        await self.engine.handle(request, responder)


__all__ = ["INSTANCE_HEADER", "Authenticator", "Observer", "Route", "Server", "Tracer"]
