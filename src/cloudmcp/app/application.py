"""`MCPApp`: what a team writes its tools, resources and prompts against."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from cloudmcp.app.prompts import Prompt, prompt_arguments
from cloudmcp.app.resources import Resource, compile_template
from cloudmcp.app.schema import is_context
from cloudmcp.app.tools import Tool, make_tool
from cloudmcp.settings import Settings

if TYPE_CHECKING:
    from cloudmcp.http.asgi import HttpApp
    from cloudmcp.protocol.engine import Engine
    from cloudmcp.server import Authenticator, Observer, Route, Tracer
    from cloudmcp.state.store import Store

F = TypeVar("F", bound=Callable[..., Any])


def _context_param(fn: Callable[..., Any]) -> str | None:
    """The parameter that asks for the `Context`, if any."""
    hints = inspect.get_annotations(fn, eval_str=True)
    return next((name for name, hint in hints.items() if is_context(hint)), None)


class MCPApp:
    """An MCP server: register tools, resources and prompts; serve it anywhere.

    ```python
    app = MCPApp("inventory")

    @app.tool()
    async def lookup(sku: str, warehouse: str = "main") -> StockLevel: ...
    ```
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
    ) -> None:
        self.name = name
        self.version = version
        self.title = title
        self.instructions = instructions
        self.website_url = website_url
        self.icons = icons
        self.tools: dict[str, Tool] = {}
        self.resources: dict[str, Resource] = {}
        self.templates: list[Resource] = []
        self.prompts: dict[str, Prompt] = {}
        self.completions: dict[tuple[str, str], Callable[..., Any]] = {}
        self._settings = settings
        self._store = store
        self._engine: Engine | None = None
        #: Where `cloudmcp serve` bound, for the localhost Host/Origin defaults.
        self.bind_host: str | None = None
        #: Who may call the MCP endpoint (None: anyone, unless settings say AUTH=...).
        self.authenticator: Authenticator | None = auth
        self._auth_installed = False
        #: What sees each answered request: metrics, access logs.
        self.observers: list[Observer] = []
        #: More HTTP routes beside the MCP endpoint, by path (metrics, OAuth metadata).
        self.routes: dict[str, Route] = {}
        #: Trace spans per request and feature call (`cloudmcp.ops.install` with OTel on).
        self.tracer: Tracer | None = None

    # registration

    def tool(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        input_schema: dict[str, Any] | None = None,
        cache_ttl: float | None = None,
        rate_limit: str | None = None,
        scopes: tuple[str, ...] | list[str] = (),
        thread: bool = False,
        timeout: float | None = None,
    ) -> Callable[[F], F]:
        """Register a function as a tool. Its schemas come from its type hints;
        `input_schema` publishes a hand-written schema instead (arguments are still
        checked against the signature)."""

        def register(fn: F) -> F:
            tool = make_tool(
                fn,
                name,
                title=title,
                description=description,
                annotations=annotations,
                icons=icons,
                meta=meta,
                cache_ttl=cache_ttl,
                rate_limit=rate_limit,
                scopes=tuple(scopes),
                thread=thread,
                timeout=timeout,
                input_schema=input_schema,
            )
            self.tools[tool.name] = tool
            return fn

        return register

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        scopes: tuple[str, ...] | list[str] = (),
    ) -> Callable[[F], F]:
        """Register a function as a resource; `{name}` parts of `uri` make a template
        whose values the function receives as arguments."""

        def register(fn: F) -> F:
            pattern, variables = compile_template(uri) if "{" in uri else (None, ())
            resource = Resource(
                uri=uri,
                name=name or fn.__name__,
                fn=fn,
                title=title,
                description=description or inspect.getdoc(fn),
                mime_type=mime_type,
                size=size,
                annotations=annotations,
                icons=icons,
                meta=meta,
                scopes=tuple(scopes),
                context_param=_context_param(fn),
                pattern=pattern,
                variables=variables,
            )
            if resource.is_template:
                self.templates.append(resource)
            else:
                self.resources[uri] = resource
            return fn

        return register

    def prompt(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        arguments: list[dict[str, Any]] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        scopes: tuple[str, ...] | list[str] = (),
    ) -> Callable[[F], F]:
        """Register a function as a prompt; its parameters are the prompt's arguments
        (`arguments` adds descriptions: `[{"name": ..., "description": ...}]`)."""

        def register(fn: F) -> F:
            context_param = _context_param(fn)
            derived = prompt_arguments(fn, context_param)
            described = {a["name"]: a for a in arguments or []}
            prompt = Prompt(
                name=name or fn.__name__,
                fn=fn,
                description=description or inspect.getdoc(fn) or (name or fn.__name__),
                title=title,
                icons=icons,
                meta=meta,
                scopes=tuple(scopes),
                context_param=context_param,
                arguments=[{**a, **described.get(a["name"], {})} for a in derived],
            )
            self.prompts[prompt.name] = prompt
            return fn

        return register

    def completion(self, ref_type: str, name: str) -> Callable[[F], F]:
        """Register completions for a prompt's arguments (`"ref/prompt", name`) or a
        template's variables (`"ref/resource", uri_template`):
        `fn(argument, value, context) -> list[str]`, sync or async."""
        if ref_type not in ("ref/prompt", "ref/resource"):
            raise ValueError(f"unknown completion reference type {ref_type!r}")

        def register(fn: F) -> F:
            self.completions[(ref_type, name)] = fn
            return fn

        return register

    @property
    def has_scopes(self) -> bool:
        primitives: list[Tool | Resource | Prompt] = [
            *self.tools.values(),
            *self.resources.values(),
            *self.templates,
            *self.prompts.values(),
        ]
        return any(p.scopes for p in primitives)

    # serving

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    def install_auth(self) -> None:
        """Install authentication once, before serving: `auth=` if given, else what the
        settings name (`AUTH=api_key`, `oauth`...), with its routes (OAuth metadata)."""
        if self._auth_installed:
            return
        self._auth_installed = True
        if self.authenticator is None and self.settings.auth.strip().lower() not in ("", "none"):
            from cloudmcp.auth.configure import from_settings  # AUTH=none never imports it

            self.authenticator = from_settings(self.settings)
        install = getattr(self.authenticator, "install", None)
        if install is not None:
            install(self)

    @property
    def engine(self) -> Engine:
        """The protocol engine, built on first use from settings and the store."""
        if self._engine is None:
            from cloudmcp.protocol.engine import Engine
            from cloudmcp.state import open_store

            self.install_auth()  # the engine's cache scope depends on whether callers are known
            store = self._store or open_store(self.settings)
            local = self.settings.local_only(self.bind_host)
            self._engine = Engine(self, store, self.settings, local_only=local)
        return self._engine

    def http_app(self, path: str = "/mcp") -> HttpApp:
        """An ASGI app serving the MCP endpoint at `path`, with health checks."""
        from cloudmcp.http.asgi import HttpApp

        return HttpApp(self, path)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        """Start and stop the app's state; pass to `FastAPI(lifespan=...)` when mounting."""
        from cloudmcp.ops.shutdown import sigterm_starts_closing

        engine = self.engine
        engine.keyring  # noqa: B018 - a bad STATE_KEYS fails at start-up, not at a request
        # SIGTERM ends long-lived streams at once, not after the server's whole grace period.
        with sigterm_starts_closing(engine.begin_closing):
            try:
                yield
            finally:
                await engine.close()
                self._engine = None

    # change notifications

    async def notify_list_changed(self, kind: Literal["tools", "prompts", "resources"]) -> None:
        """Tell every listening client, on any instance, that a list changed."""
        await self.engine.broadcast(f"notifications/{kind}/list_changed")

    async def notify_resource_updated(self, uri: str) -> None:
        """Tell clients subscribed to `uri`, on any instance, that it changed."""
        await self.engine.resource_updated(uri)


__all__ = ["MCPApp"]
