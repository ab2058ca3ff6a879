"""The composition step: from a registry and settings to a served app, once, in order.

    store → operations' store watch → authentication → engine → routes → observers → server

`compose` builds each part from the ones before it and hands back a `Service` whose
parts never change; the edges (ASGI, AWS Lambda) serve its `server`. Nothing here is
looked up later or patched in place: to serve differently, compose again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from cloudmcp.app.registry import Registry
from cloudmcp.auth.hosts import HostPolicy, default_hosts
from cloudmcp.errors import ConfigurationError
from cloudmcp.protocol.engine import Engine
from cloudmcp.protocol.transport import HttpRequest, Responder
from cloudmcp.server import Authenticator, Observer, Route, Server, Tracer
from cloudmcp.settings import Settings
from cloudmcp.state import open_store
from cloudmcp.state.store import Store

if TYPE_CHECKING:
    from cloudmcp.ops import Ops, OpsConfig
    from cloudmcp.protocol.tasks.worker import Dispatch


class Service:
    """One served app: the parts `compose` built. `close()` releases them."""

    def __init__(
        self,
        registry: Registry,
        settings: Settings,
        engine: Engine,
        server: Server,
        ops: Ops | None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.engine = engine
        self.server = server
        #: What operations turned on (metrics, logs, tracing), when served with them.
        self.ops = ops
        self.closed = False

    @property
    def store(self) -> Store:
        return self.engine.store

    def start(self) -> None:
        """Start background work (task workers) on the serving loop."""
        self.engine.start()

    def check(self) -> None:
        """Fail at start-up, not at the first request, on what settings got wrong."""
        self.engine.keyring  # noqa: B018 - a bad STATE_KEYS raises here
        if self.settings.task_dispatch not in ("", "local", "lambda"):
            raise ConfigurationError(
                f"TASK_DISPATCH={self.settings.task_dispatch!r}: must be local or lambda"
            )

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.engine.close()


class Composable(Protocol):
    """What an edge serves: an app it can compose (an `MCPApp`)."""

    @property
    def settings(self) -> Settings: ...

    def compose(
        self,
        *,
        bind_host: str | None = None,
        operations: OpsConfig | None = None,
        settings: Settings | None = None,
        standalone_streams: bool = True,
        task_dispatch: Dispatch | None = None,
    ) -> Service: ...

    def lifespan(self, _app: Any = None) -> AbstractAsyncContextManager[None]: ...


def compose(
    registry: Registry,
    settings: Settings,
    *,
    store: Store | None = None,
    auth: Authenticator | None = None,
    bind_host: str | None = None,
    operations: OpsConfig | None = None,
    tracer: Tracer | None = None,
    standalone_streams: bool = True,
    task_dispatch: Dispatch | None = None,
) -> Service:
    """Build everything that serves `registry` under `settings`.

    `auth` overrides what `AUTH=...` says; `operations` turns on metrics, access logs and
    tracing as configured (None: none); `bind_host` is where a local server listens (the
    localhost Host/Origin defaults); `standalone_streams=False` serves no standalone GET
    stream (AWS Lambda); `task_dispatch` starts task work elsewhere than in this
    process (an asynchronous AWS Lambda invocation).
    """
    if bind_host is not None:  # where a server listens decides which Host names are safe
        hosts_for_bind = default_hosts(settings, bind_host, os.environ)
        settings = msgspec.structs.replace(settings, allowed_hosts=hosts_for_bind)
    ops: Ops | None = None
    if operations is not None:
        from cloudmcp.ops import Ops

        ops = Ops.start(operations, registry)
    store = store if store is not None else open_store(settings)
    if ops is not None:
        store = ops.watch(store)
    authenticator = auth if auth is not None else _authenticator(settings)
    tracer = tracer if tracer is not None else (ops.tracer if ops is not None else None)
    engine = Engine(
        registry,
        store,
        settings,
        authorize=getattr(authenticator, "authorize", None),
        tracer=tracer,
        private=authenticator is not None,
        task_dispatch=task_dispatch,
    )
    hosts = HostPolicy(settings, local_only=settings.local_only(bind_host))
    health = _health(registry, engine)
    routes: dict[str, Route] = {"/health": health, "/health/deep": health, "/ready": health}
    auth_routes = getattr(authenticator, "routes", None)
    if auth_routes is not None:
        routes.update(auth_routes(registry))
    observers: Sequence[Observer] = ()
    if ops is not None:
        routes.update(ops.routes)
        observer = ops.observer(registry, engine, hosts)
        observers = (observer,) if observer is not None else ()
    server = Server(
        engine,
        hosts,
        routes=routes,
        authenticator=authenticator,
        observers=observers,
        tracer=tracer,
        standalone_streams=standalone_streams,
    )
    return Service(registry, settings, engine, server, ops)


def _health(registry: Registry, engine: Engine) -> Route:
    """The health routes, their module loaded by the first probe (not by a cold start)."""
    served: Route | None = None

    async def route(request: HttpRequest, responder: Responder) -> None:
        nonlocal served
        if served is None:
            from cloudmcp.ops.health import Health

            served = Health(registry, engine).route
        await served(request, responder)

    return route


def _authenticator(settings: Settings) -> Authenticator | None:
    if settings.auth.strip().lower() in ("", "none"):
        return None
    from cloudmcp.auth.configure import from_settings  # AUTH=none never imports it

    return from_settings(settings)


__all__ = ["Composable", "Service", "compose"]
