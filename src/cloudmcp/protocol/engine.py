"""The engine: one MCP endpoint serving every protocol revision, with no I/O of its own.

A server hands it an `HttpRequest` and a `Responder`; it decodes the body, decides the
era, parses each request once into a `Call`, checks the caller's scopes and rate limits
against it, and hands it to its era. All state goes through the `Store` it is given, so
the same engine runs in uvicorn, in AWS Lambda, and in a unit test.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudmcp.app.registry import Registry
from cloudmcp.errors import MCPError, StoreUnavailable
from cloudmcp.eventloop import current_task
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.call import Call, Era, parse
from cloudmcp.protocol.closing import Closing
from cloudmcp.protocol.errors import (
    internal_error,
    invalid_request,
    method_not_allowed,
    not_acceptable,
    rate_limited,
    shutting_down,
    store_unavailable,
    unsupported_media_type,
)
from cloudmcp.protocol.features import Features, FeatureTracer
from cloudmcp.protocol.stateless import META_VERSION, Stateless
from cloudmcp.protocol.streams import ResponseStream
from cloudmcp.protocol.transport import (
    JSON,
    SESSION_HEADER,
    Accept,
    HttpRequest,
    Responder,
    parse_accept,
    principal_id,
)
from cloudmcp.protocol.versions import LEGACY, STATELESS
from cloudmcp.settings import Settings
from cloudmcp.state.cache import ToolCache
from cloudmcp.state.counters import StateCounters
from cloudmcp.state.keys import Keys
from cloudmcp.state.ratelimit import Limit, RateLimiter
from cloudmcp.state.store import Store

if TYPE_CHECKING:
    from cloudmcp.protocol.legacy import Legacy
    from cloudmcp.protocol.sealing import KeyRing
    from cloudmcp.protocol.tasks.methods import TaskMethods
    from cloudmcp.protocol.tasks.worker import Dispatch

log = logging.getLogger("cloudmcp")

#: Checks that a principal holds scopes; raises the 403 `insufficient_scope` `MCPError`.
Authorize = Callable[[Any, tuple[str, ...]], None]

_JSON_ONLY = Accept(JSON)


class Engine:
    def __init__(
        self,
        registry: Registry,
        store: Store,
        settings: Settings,
        *,
        authorize: Authorize | None = None,
        tracer: FeatureTracer | None = None,
        private: bool = False,
        task_dispatch: Dispatch | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        #: What the state layer did (cache hits, 429s, fallbacks), for metrics.
        self.counters = StateCounters()
        self.authorize = authorize
        self.limiter = RateLimiter(
            store,
            self.keys.hits,
            self.counters,
            per_principal=Limit.parse(settings.rate_limit) if settings.rate_limit else None,
        )
        for tool in registry.tools.values():  # a malformed limit fails at start-up
            if tool.rate_limit:
                _limit(tool.rate_limit)
        cache = ToolCache(store, self.keys.cache, self.counters, default_ttl=settings.cache_ttl)
        self.features = Features(
            registry,
            cache=cache,
            tool_timeout=settings.tool_timeout,
            max_result_size=settings.max_result_size,
            tracer=tracer,
        )
        self.closing = Closing(store)
        #: Where task work starts (None: this process's task workers).
        self.task_dispatch = task_dispatch
        # Authenticated answers may depend on who asked: no shared caching of them.
        self.cache_scope = "private" if private or registry.has_scopes else "public"
        self.stateless = Stateless(
            registry,
            self.features,
            store,
            self.keys,
            settings,
            self.closing,
            keyring=lambda: self.keyring,
            tasks=lambda: self.tasks,
            cache_scope=self.cache_scope,
        )

    # Built on first use: a stateless deployment never loads the legacy machinery, and a
    # Lambda cold start pays for neither until a request needs it.

    @functools.cached_property
    def legacy(self) -> Legacy:
        from cloudmcp.protocol.legacy import Legacy

        return Legacy(
            self.registry,
            self.features,
            self.store,
            self.keys,
            self.settings,
            self.closing,
            self.counters,
        )

    @functools.cached_property
    def keyring(self) -> KeyRing:
        """The MRTR `requestState` key ring, from `STATE_KEYS`."""
        from cloudmcp.protocol.sealing import KeyRing

        return KeyRing.from_config(self.settings.state_keys)

    @functools.cached_property
    def tasks(self) -> TaskMethods:
        """The tasks extension: its methods, records and this process's task workers."""
        from cloudmcp.protocol.tasks.methods import TaskMethods
        from cloudmcp.protocol.tasks.worker import TaskCounters, TaskWorker
        from cloudmcp.state.tasks import TaskStore

        records = TaskStore(self.store, self.keys)
        counters = TaskCounters()
        worker = TaskWorker(
            self.registry, self.features, records, self.settings, self.closing, counters
        )
        return TaskMethods(records, worker, self.settings, counters, self.task_dispatch)

    def start(self) -> None:
        """Start what runs in the background (on the serving loop): the task workers'
        loop, when some tool may run as a task and its work runs here."""
        if self.registry.has_tasks and self.task_dispatch is None:
            self.tasks.worker.start()

    # entry point

    async def handle(self, request: HttpRequest, responder: Responder) -> None:
        """Answer one HTTP request to the MCP endpoint. Never raises; never leaks internals."""
        request_id: Any = None
        try:
            if request.method == "POST":
                accept = parse_accept(request.headers.get("accept"))
                body = self._read(request, accept)
                if isinstance(body, dict):
                    request_id = body.get("id")
                    request_id = request_id if jsonrpc.is_request_id(request_id) else None
                await self._post(request, body, accept, responder)
            elif request.method in ("GET", "DELETE") and self._is_legacy_session(request):
                if request.method == "GET":
                    accept = parse_accept(request.headers.get("accept"))
                    await self.legacy.get(request, accept, responder)
                else:
                    await self.legacy.delete(request, responder)
            else:
                raise method_not_allowed(
                    f"{request.method}; this endpoint takes POST, and GET and DELETE with "
                    "the Mcp-Session-Id of a legacy session"
                )
        except MCPError as exc:
            await self.refuse(request, responder, exc, request_id)
        except StoreUnavailable as exc:
            log.warning("store unavailable serving %s: %s", request.info.method, exc)
            self.counters.store_unavailable += 1
            await self.refuse(request, responder, store_unavailable(), request_id)
        except RecursionError:
            await self.refuse(request, responder, invalid_request("nested too deeply"), request_id)
        except asyncio.CancelledError:
            if not self.closing.closing or responder.closed:
                raise
            # The server's grace period ran out with the call unfinished: answer it, so
            # the client retries elsewhere and the server logs no traceback.
            task = current_task()
            if task is not None:
                task.uncancel()
            await self.refuse(request, responder, shutting_down(), request_id)
        except Exception:
            log.exception("unhandled error serving %s", request.method)
            await self.refuse(request, responder, internal_error(status=500), request_id)

    async def refuse(
        self, request: HttpRequest, responder: Responder, exc: MCPError, request_id: Any = None
    ) -> None:
        """Answer with an error: the whole response, or the end of a stream under way."""
        if responder.closed or responder.status:
            request.info.error = exc.code
            if not responder.closed:  # a stream under way: the client resumes or retries
                await responder.end_stream()
            return
        await ResponseStream(responder, _JSON_ONLY, [], info=request.info).fail(request_id, exc)

    def _is_legacy_session(self, request: HttpRequest) -> bool:
        version = request.headers.get("mcp-protocol-version")
        return SESSION_HEADER in request.headers and (
            version is None or version.strip() != STATELESS
        )

    def _read(self, request: HttpRequest, accept: Accept) -> Any:
        """The decoded body of a POST the transport rules accept."""
        content_type = request.headers.get("content-type", JSON)
        if content_type.split(";", 1)[0].strip().lower() != JSON:
            raise unsupported_media_type()
        if not accept.json and not accept.sse:
            raise not_acceptable(
                "the Accept header must allow application/json or text/event-stream"
            )
        return jsonrpc.decode(request.body)

    async def _post(
        self, request: HttpRequest, body: Any, accept: Accept, responder: Responder
    ) -> None:
        if isinstance(body, list):
            await self.legacy.post(request, body, accept, responder, self.admit)
            return
        if not isinstance(body, dict):
            raise invalid_request("the body must be a JSON-RPC message object")
        jsonrpc.check_message(body)
        if self._era(request, body) == "legacy":
            await self.legacy.post(request, body, accept, responder, self.admit)
            return
        if "method" not in body:
            raise invalid_request("clients send no responses in this protocol revision")
        if "id" not in body:  # a notification: accepted, nothing to answer
            request.info.version, request.info.method = STATELESS, body["method"]
            await responder.respond(202, [], b"")
            return
        call = parse(body, "stateless", self.registry)
        info = request.info
        # A task id may act as a bearer token: logs keep only enough of it to correlate.
        name = call.target if call.spec.kind != "task" else (call.target or "")[:8] + "..."
        info.method, info.name, info.version, info.call = call.method, name, STATELESS, call
        await self.admit(request, call)
        await self.stateless.serve(request, call, accept, responder)

    def _era(self, request: HttpRequest, message: dict[str, Any]) -> Era:
        """2026-07-28 unless the headers name a legacy revision or a session."""
        version = request.headers.get("mcp-protocol-version")
        if version is not None:
            version = version.strip()
            if version in LEGACY:
                return "legacy"
            stateless = version == STATELESS or SESSION_HEADER not in request.headers
            return "stateless" if stateless else "legacy"
        if message.get("method") == "initialize" or SESSION_HEADER in request.headers:
            return "legacy"
        params = message.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        return "stateless" if isinstance(meta, dict) and META_VERSION in meta else "legacy"

    async def admit(self, request: HttpRequest, call: Call) -> None:
        """What a call must pass before it runs: the scopes of what it names, and the
        caller's rate limits. Raises `MCPError` (403, 429)."""
        if self.authorize is not None and (scopes := call.scopes):
            self.authorize(request.principal, scopes)
        limiter = self.limiter
        tool = call.tool
        tool_limit = _limit(tool.rate_limit) if tool is not None and tool.rate_limit else None
        if limiter.per_principal is None and tool_limit is None:
            return
        caller = principal_id(request.principal) or "anonymous"
        exceeded = await limiter.check(caller, call.target if tool_limit else None, tool_limit)
        if exceeded is not None:
            limit = exceeded.limit
            raise rate_limited(
                str(limit), exceeded.scope, exceeded.retry_after, exceeded.retry_after_header
            )

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
        self.closing.begin()

    async def close(self) -> None:
        self.begin_closing()
        if "legacy" in self.__dict__:  # built: it may watch the store for cancellations
            await self.legacy.close()
        if "tasks" in self.__dict__:  # runs under way hand their tasks back
            await self.tasks.worker.close()
        await self.store.close()


@functools.lru_cache(maxsize=256)
def _limit(text: str) -> Limit:
    return Limit.parse(text)


__all__ = ["Authorize", "Engine"]
