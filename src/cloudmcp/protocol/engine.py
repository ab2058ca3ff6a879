"""The engine: one MCP endpoint serving every protocol revision, with no I/O of its own.

An edge hands it an `HttpRequest` and a `Responder`; it decides the era of the
request, checks what the transport rules demand, and runs the app's features. All
state goes through the `Store` it is given, so the same engine runs in uvicorn, in
AWS Lambda, and in a unit test.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.context import Context
from cloudmcp.protocol.errors import INTERNAL_ERROR, MCPError, invalid_request
from cloudmcp.protocol.features import Features, Method
from cloudmcp.protocol.legacy import SESSION_HEADER, Legacy
from cloudmcp.protocol.modern import META_VERSION, Modern
from cloudmcp.protocol.sealing import KeyRing
from cloudmcp.protocol.transport import JSON, Accept, HttpRequest, Responder
from cloudmcp.protocol.versions import LEGACY, MODERN, SUPPORTED
from cloudmcp.settings import LOCAL_HOSTS, Settings
from cloudmcp.state.store import Store

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

log = logging.getLogger("cloudmcp")


class Keys:
    """Where each piece of state lives in the store, under the deployment's prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.notifications = f"{prefix}notifications"

    def session(self, session_id: str) -> str:
        return f"{self.prefix}session:{session_id}"

    def sse(self, session_id: str, token: str) -> str:
        return f"{self.prefix}sse:{session_id}:{token}"

    def reply(self, session_id: str, request_id: str) -> str:
        return f"{self.prefix}reply:{session_id}:{request_id}"

    def subscribers(self, uri: str) -> str:
        return f"{self.prefix}subscribers:{uri}"

    def resource(self, uri: str) -> str:
        return f"{self.prefix}resource:{uri}"


def _host_name(host: str) -> str:
    """The name in a Host header, without its port."""
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


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
        self.keyring = KeyRing.from_config(settings.state_keys)
        self.features = Features(app)
        self.modern = Modern(self)
        self.legacy = Legacy(self)
        self.local_only = local_only
        #: Set on shutdown: long-lived streams end, so clients reconnect elsewhere.
        self.closing = False
        info: dict[str, Any] = {"name": app.name, "version": app.version}
        if app.title:
            info["title"] = app.title
        if app.website_url:
            info["websiteUrl"] = app.website_url
        if app.icons:
            info["icons"] = app.icons
        self.server_info = info
        self.cache_scope = "private" if app.has_scopes else "public"

    # entry point

    async def handle(self, request: HttpRequest, responder: Responder) -> None:
        """Answer one HTTP request to the MCP endpoint. Never raises; never leaks internals."""
        try:
            self._check_origin(request)
            if request.method == "POST":
                await self._post(request, responder)
            elif request.method in ("GET", "DELETE") and self._is_legacy_session(request):
                accept = Accept(request.headers.get("accept"))
                if request.method == "GET":
                    await self.legacy.get(request, accept, responder)
                else:
                    await self.legacy.delete(request, responder)
            else:
                raise MCPError(
                    -32600,
                    f"Method not allowed: {request.method}; this endpoint takes POST"
                    + (
                        " (GET and DELETE need an Mcp-Session-Id)"
                        if request.method != "OPTIONS"
                        else ""
                    ),
                    status=405,
                    headers={"allow": "GET, POST, DELETE"},
                )
        except MCPError as exc:
            await self.reply_error(request, responder, None, exc)
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

    def _is_legacy_session(self, request: HttpRequest) -> bool:
        version = request.headers.get("mcp-protocol-version")
        return SESSION_HEADER in request.headers and (version is None or version.strip() != MODERN)

    async def _post(self, request: HttpRequest, responder: Responder) -> None:
        content_type = request.headers.get("content-type", JSON)
        if content_type.split(";", 1)[0].strip().lower() != JSON:
            raise MCPError(-32600, "Content-Type must be application/json", status=415)
        accept = Accept(request.headers.get("accept"))
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
            if self._is_modern(request, body):
                await self.modern.post(request, body, accept, responder)
                return
            try:
                await self.legacy.post(request, body, accept, responder)
            except MCPError as exc:
                await self.reply_error(request, responder, request_id, exc)
        elif isinstance(body, list):
            await self.legacy.post(request, body, accept, responder)
        else:
            raise invalid_request("the body must be a JSON-RPC message object")

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
        settings = self.settings
        host = request.headers.get("host", "")
        name = _host_name(host)
        if settings.allowed_hosts:
            allowed = _matches(host, settings.allowed_hosts) or _matches(
                name, settings.allowed_hosts
            )
        else:
            allowed = not self.local_only or name in LOCAL_HOSTS
        if not allowed:
            raise MCPError(
                -32600, f"Misdirected request: host {host!r} is not served here", status=421
            )
        origin = request.headers.get("origin")
        if origin is None or (origin == "null" and not self.local_only):
            return
        if settings.allowed_origins:
            allowed = _matches(origin, settings.allowed_origins)
        elif self.local_only:
            allowed = _host_name(urlsplit(origin).netloc) in LOCAL_HOSTS
        else:  # same origin as the host it was sent to
            allowed = urlsplit(origin).netloc == host
        if not allowed:
            raise MCPError(-32600, f"Forbidden: origin {origin!r} is not allowed", status=403)

    # running features

    async def run(self, handler: Method, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Run a feature method within the request's time limit."""
        limit = self.settings.tool_timeout or None
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

    async def close(self) -> None:
        self.closing = True
        await self.store.close()
