"""The engine: one MCP endpoint serving every protocol revision, with no I/O of its own.

An edge hands it an `HttpRequest` and a `Responder`; it decides the era of the
request, checks what the transport rules demand, and runs the app's features. All
state goes through the `Store` it is given, so the same engine runs in uvicorn, in
AWS Lambda, and in a unit test.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import TYPE_CHECKING, Any

from cloudmcp.auth.hosts import HostPolicy
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.context import Context
from cloudmcp.protocol.errors import (
    INTERNAL_ERROR,
    RATE_LIMITED,
    SERVICE_UNAVAILABLE,
    MCPError,
    invalid_request,
)
from cloudmcp.protocol.features import Features, Method
from cloudmcp.protocol.modern import META_VERSION, Modern
from cloudmcp.protocol.transport import (
    JSON,
    SESSION_HEADER,
    HttpRequest,
    Responder,
    parse_accept,
    principal_id,
)
from cloudmcp.protocol.versions import LEGACY, MODERN, SUPPORTED
from cloudmcp.settings import Settings
from cloudmcp.state.cache import ToolCache
from cloudmcp.state.counters import StateCounters
from cloudmcp.state.keys import Keys
from cloudmcp.state.ratelimit import Exceeded, Limit, RateLimiter
from cloudmcp.state.store import Event, Store, StoreUnavailable

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp
    from cloudmcp.protocol.legacy import Legacy
    from cloudmcp.protocol.sealing import KeyRing

log = logging.getLogger("cloudmcp")


def store_unavailable() -> MCPError:
    # 503 with Retry-After: clients and load balancers retry, and the state is intact.
    return MCPError(
        SERVICE_UNAVAILABLE,
        "Service unavailable: session state is unreachable; retry shortly",
        status=503,
        headers={"retry-after": "1"},
    )


def rate_limited(exceeded: Exceeded) -> MCPError:
    limit = exceeded.limit
    return MCPError(
        RATE_LIMITED,
        f"Rate limit exceeded: {limit} per {exceeded.scope}",
        {
            "limit": str(limit),
            "scope": exceeded.scope,
            "retryAfter": round(exceeded.retry_after, 3),
        },
        status=429,
        headers={"retry-after": exceeded.retry_after_header},
    )


class Engine:
    def __init__(
        self,
        app: MCPApp,
        store: Store,
        settings: Settings,
        *,
        local_only: bool = False,
    ) -> None:
        self.app = app
        self.store = store
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        #: What the state layer did (cache hits, 429s, fallbacks), for metrics.
        self.counters = StateCounters()
        self.limiter = RateLimiter(
            store,
            self.keys.hits,
            self.counters,
            per_principal=Limit.parse(settings.rate_limit) if settings.rate_limit else None,
            per_tool={n: Limit.parse(t.rate_limit) for n, t in app.tools.items() if t.rate_limit},
        )
        cache = ToolCache(store, self.keys.cache, self.counters, default_ttl=settings.cache_ttl)
        self.features = Features(app, cache)
        self.modern = Modern(self)
        self.local_only = local_only
        self.hosts = HostPolicy(settings, local_only=local_only)
        #: Set on shutdown: long-lived streams end, so clients reconnect elsewhere.
        self.closing = False
        self._closing_event: asyncio.Event | None = None
        info: dict[str, Any] = {"name": app.name, "version": app.version}
        if app.title:
            info["title"] = app.title
        if app.website_url:
            info["websiteUrl"] = app.website_url
        if app.icons:
            info["icons"] = app.icons
        self.server_info = info
        # Authenticated answers may depend on who asked: no shared caching of them.
        private = app.has_scopes or app.authenticator is not None
        self.cache_scope = "private" if private else "public"

    # Built on first use: a stateless deployment never loads the legacy machinery, and a
    # Lambda cold start pays for neither until a request needs it.

    @functools.cached_property
    def legacy(self) -> Legacy:
        from cloudmcp.protocol.legacy import Legacy

        return Legacy(self)

    @functools.cached_property
    def keyring(self) -> KeyRing:
        """The MRTR `requestState` key ring, from `STATE_KEYS`."""
        from cloudmcp.protocol.sealing import KeyRing

        return KeyRing.from_config(self.settings.state_keys)

    # entry point

    async def handle(self, request: HttpRequest, responder: Responder) -> None:
        """Answer one HTTP request to the MCP endpoint. Never raises; never leaks internals."""
        try:
            self._check_origin(request)
            if request.method == "POST":
                await self._post(request, responder)
            elif request.method in ("GET", "DELETE") and self._is_legacy_session(request):
                accept = parse_accept(request.headers.get("accept"))
                if request.method == "GET":
                    await self.legacy.get(request, accept, responder)
                else:
                    await self.legacy.delete(request, responder)
            else:
                raise MCPError(
                    -32600,
                    f"Method not allowed: {request.method}; this endpoint takes POST, and "
                    "GET and DELETE with the Mcp-Session-Id of a legacy session",
                    status=405,
                    headers={"allow": "GET, POST, DELETE"},
                )
        except MCPError as exc:
            await self.reply_error(request, responder, None, exc)
        except StoreUnavailable as exc:
            log.warning("store unavailable serving %s: %s", request.method, exc)
            await self.unavailable(request, responder, None)
        except Exception:
            log.exception("unhandled error serving %s", request.method)
            internal = MCPError(INTERNAL_ERROR, "Internal error", status=500)
            await self.reply_error(request, responder, None, internal)

    async def reply_error(
        self, request: HttpRequest, responder: Responder, request_id: Any, exc: MCPError
    ) -> None:
        request.info.error = exc.code
        if responder.closed:
            return
        headers = [("content-type", JSON), *exc.headers.items()]
        await responder.respond(exc.status, headers, jsonrpc.encode(jsonrpc.error(request_id, exc)))

    async def unavailable(
        self, request: HttpRequest, responder: Responder, request_id: Any
    ) -> None:
        self.counters.store_unavailable += 1
        if responder.status and not responder.closed:
            await responder.end_stream()  # a stream already under way: the client resumes
            return
        await self.reply_error(request, responder, request_id, store_unavailable())

    def _is_legacy_session(self, request: HttpRequest) -> bool:
        version = request.headers.get("mcp-protocol-version")
        return SESSION_HEADER in request.headers and (version is None or version.strip() != MODERN)

    async def _post(self, request: HttpRequest, responder: Responder) -> None:
        content_type = request.headers.get("content-type", JSON)
        if content_type.split(";", 1)[0].strip().lower() != JSON:
            raise MCPError(-32600, "Content-Type must be application/json", status=415)
        accept = parse_accept(request.headers.get("accept"))
        if not accept.json and not accept.sse:
            raise MCPError(
                -32600,
                "Not Acceptable: the Accept header must allow application/json "
                "or text/event-stream",
                status=406,
            )
        body = jsonrpc.decode(request.body)
        if isinstance(body, dict):
            request_id = body.get("id")
            try:
                jsonrpc.check_message(body)
            except MCPError as exc:
                valid_id = request_id if jsonrpc.is_request_id(request_id) else None
                await self.reply_error(request, responder, valid_id, exc)
                return
            if self.limiter.active and "id" in body and "method" in body:
                exceeded = await self._count(request, body)
                if exceeded is not None:
                    await self.reply_error(request, responder, request_id, rate_limited(exceeded))
                    return
            if self._is_modern(request, body):
                await self.modern.post(request, body, accept, responder)
                return
            try:
                await self.legacy.post(request, body, accept, responder)
            except MCPError as exc:
                await self.reply_error(request, responder, request_id, exc)
            except StoreUnavailable as exc:
                log.warning("store unavailable serving %s: %s", body.get("method"), exc)
                await self.unavailable(request, responder, request_id)
        elif isinstance(body, list):
            await self.legacy.post(request, body, accept, responder)
        else:
            raise invalid_request("the body must be a JSON-RPC message object")

    async def _count(self, request: HttpRequest, message: dict[str, Any]) -> Exceeded | None:
        """Count a request against the caller's rate limits; what refuses it, if anything."""
        params = message.get("params")
        tool = None
        if message["method"] == "tools/call" and isinstance(params, dict):
            tool = params.get("name")
        caller = principal_id(request.principal) or "anonymous"
        return await self.limiter.check(caller, tool if isinstance(tool, str) else None)

    def _is_modern(self, request: HttpRequest, message: dict[str, Any]) -> bool:
        """2026-07-28 unless the headers name a legacy revision or a session."""
        version = request.headers.get("mcp-protocol-version")
        if version is not None:
            version = version.strip()
            if version in LEGACY:
                return False
            return version == MODERN or SESSION_HEADER not in request.headers
        if message.get("method") == "initialize" or SESSION_HEADER in request.headers:
            return False
        meta = (message.get("params") or {}).get("_meta")
        return isinstance(meta, dict) and META_VERSION in meta

    # DNS rebinding protection

    def _check_origin(self, request: HttpRequest) -> None:
        self.hosts.check(request)  # presets and trusted proxies: cloudmcp.auth.hosts

    # running features

    async def run(self, handler: Method, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Run a feature method within the request's time limit, in a span when tracing."""
        tracer = self.app.tracer
        if tracer is None:
            return await self._run(handler, params, ctx)
        with tracer.feature(ctx.method, params):
            return await self._run(handler, params, ctx)

    async def _run(self, handler: Method, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        limit = self.settings.tool_timeout or None
        if ctx.method == "tools/call" and isinstance(name := params.get("name"), str):
            tool = self.app.tools.get(name)
            if tool is not None and tool.timeout:
                limit = tool.timeout
        if ctx.deadline is not None:
            remaining = ctx.deadline - time.monotonic()
            limit = remaining if limit is None else min(limit, remaining)
        if limit is None:
            return await handler(params, ctx)
        try:
            async with asyncio.timeout(limit):
                return await handler(params, ctx)
        except TimeoutError:
            raise MCPError(INTERNAL_ERROR, f"Request timed out after {limit:.1f}s") from None

    def discover(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "supportedVersions": list(SUPPORTED),
            "capabilities": self.features.capabilities(),
        }
        if self.app.instructions:
            result["instructions"] = self.app.instructions
        return result

    # change notifications

    async def broadcast(self, method: str, params: dict[str, Any] | None = None) -> None:
        """A list change, to every legacy GET stream and `subscriptions/listen` stream."""
        await self.store.append(
            self.keys.notifications,
            jsonrpc.encode(jsonrpc.notification(method, params or {})),
            ttl=self.settings.sse_history_ttl,
            cap=self.settings.sse_history,
        )

    async def resource_updated(self, uri: str) -> None:
        message = jsonrpc.notification("notifications/resources/updated", {"uri": uri})
        await self.store.append(
            self.keys.resource(uri),
            jsonrpc.encode(message),
            ttl=self.settings.sse_history_ttl,
            cap=self.settings.sse_history,
        )
        for session_id in await self.store.members(self.keys.subscribers(uri)):
            await self.legacy.notify_session(session_id, message)

    def begin_closing(self) -> None:
        """Start shutting down (SIGTERM): long-lived streams end now, with a `retry` hint,
        so their clients reconnect to another instance; calls in flight carry on."""
        self.closing = True
        if self._closing_event is not None:
            self._closing_event.set()

    async def read_events(self, logs: dict[str, str], *, timeout: float) -> list[Event]:
        """`store.read` for long-lived streams: returns at once, empty, when closing begins,
        rather than after up to a keep-alive interval of blocking."""
        if self.closing:
            return []
        if self._closing_event is None:
            self._closing_event = asyncio.Event()
        reader = asyncio.ensure_future(self.store.read(logs, timeout=timeout))
        closing = asyncio.ensure_future(self._closing_event.wait())
        try:
            await asyncio.wait((reader, closing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not reader.done():
                reader.cancel()
        return reader.result() if reader.done() and not reader.cancelled() else []

    async def close(self) -> None:
        self.begin_closing()
        if "legacy" in self.__dict__:  # built: it may watch the store for cancellations
            await self.legacy.close()
        await self.store.close()
