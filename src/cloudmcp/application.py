"""`MCPApp`: what a team writes its tools, resources and prompts against, and serves.

It is a `Registry` (the decorators) with the serving entry points on top: `http_app()`,
`lifespan`, and `cloudmcp.aws_lambda.lambda_handler(app)` are thin calls into the
composition step (`cloudmcp.compose`), made once per app and kept until its lifespan
ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

from cloudmcp.app.registry import Registry
from cloudmcp.compose import Service, compose
from cloudmcp.settings import Settings

if TYPE_CHECKING:
    from cloudmcp.http.asgi import HttpApp
    from cloudmcp.ops import OpsConfig
    from cloudmcp.protocol.tasks.worker import Dispatch
    from cloudmcp.server import Authenticator, Tracer
    from cloudmcp.state.store import Store


class MCPApp(Registry):
    """An MCP server: register tools, resources and prompts; serve it anywhere.

    ```python
    app = MCPApp("inventory")

    @app.tool()
    async def lookup(sku: str, warehouse: str = "main") -> StockLevel: ...
    ```

    `settings` default to the environment's; `store` to what `REDIS_URL` names (else
    memory); `auth` to what `AUTH` names; `tracer` to what operations configure.
    """

    def __init__(
        self,
        name: str,
        version: str = "0.1.0",
        *,
        title: str | None = None,
        instructions: str | None = None,
        website_url: str | None = None,
        icons: list[dict[str, Any]] | None = None,
        settings: Settings | None = None,
        store: Store | None = None,
        auth: Authenticator | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        super().__init__(
            name,
            version,
            title=title,
            instructions=instructions,
            website_url=website_url,
            icons=icons,
        )
        self._settings = settings
        self._store = store
        self._auth = auth
        self._tracer = tracer
        self._service: Service | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    # serving

    def compose(
        self,
        *,
        bind_host: str | None = None,
        operations: OpsConfig | None = None,
        settings: Settings | None = None,
        standalone_streams: bool = True,
        task_dispatch: Dispatch | None = None,
    ) -> Service:
        """The app as served: built by the first call (with its options), kept until the
        lifespan ends; later calls get the same one."""
        service = self._service
        if service is None or service.closed:
            service = self._service = compose(
                self,
                settings or self.settings,
                store=self._store,
                auth=self._auth,
                bind_host=bind_host,
                operations=operations,
                tracer=self._tracer,
                standalone_streams=standalone_streams,
                task_dispatch=task_dispatch,
            )
        return service

    def http_app(
        self,
        path: str = "/mcp",
        *,
        bind_host: str | None = None,
        operations: OpsConfig | None = None,
    ) -> HttpApp:
        """An ASGI app serving the MCP endpoint at `path`, with health checks.

        `bind_host`: where the server listens (bound to localhost, Host and Origin are
        checked against local names); `operations`: metrics, access logs and tracing
        (`OpsConfig.from_env()` for what the environment asks)."""
        from cloudmcp.http.asgi import HttpApp

        return HttpApp(self, path, bind_host=bind_host, operations=operations)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        """Start and stop the app's state; pass to `FastAPI(lifespan=...)` when mounting."""
        from cloudmcp.ops.shutdown import sigterm_starts_closing

        service = self.compose()
        service.check()
        service.start()
        # SIGTERM ends long-lived streams at once, not after the server's whole grace period.
        with sigterm_starts_closing(service.engine.begin_closing):
            try:
                yield
            finally:
                await service.close()

    # change notifications

    async def notify_list_changed(self, kind: Literal["tools", "prompts", "resources"]) -> None:
        """Tell every listening client, on any instance, that a list changed."""
        await self.compose().engine.broadcast(f"notifications/{kind}/list_changed")

    async def notify_resource_updated(self, uri: str) -> None:
        """Tell clients subscribed to `uri`, on any instance, that it changed."""
        await self.compose().engine.resource_updated(uri)


__all__ = ["MCPApp"]
