"""The handshake revisions 2025-11-25, 2025-06-18 and 2025-03-26.

`initialize` opens a session whose whole state lives in the `Store`: any instance can
serve its next request. Server-to-client requests go out on the POST's SSE stream;
the client's answer may arrive at another instance, which hands it over through the
store. SSE events are logged there too, so a client resumes with `Last-Event-ID`
wherever its reconnection lands.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import TYPE_CHECKING, Any

import msgspec

from cloudmcp.eventloop import current_task
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.context import CAPABILITY_FOR, LOG_LEVELS, Context
from cloudmcp.protocol.errors import (
    INVALID_REQUEST,
    MCPError,
    invalid_params,
    invalid_request,
    method_not_found,
    missing_capability,
)
from cloudmcp.protocol.streams import EventLog, ResponseStream, parse_event_id, stored_event
from cloudmcp.protocol.transport import (
    KEEPALIVE,
    SESSION_HEADER,
    SSE_HEADERS,
    Accept,
    HttpRequest,
    Responder,
    principal_id,
    sse_event,
)
from cloudmcp.protocol.versions import (
    LEGACY,
    allows_batches,
    has_sse_polling,
    negotiate,
)
from cloudmcp.state.store import StoreUnavailable

if TYPE_CHECKING:
    from cloudmcp.protocol.engine import Engine

# Outside the range JSON-RPC reserves; the client ignores answers to what it cancelled.
REQUEST_CANCELLED = -32800
GET_STREAM = "get"
# Relayed cancellations matter only while a call runs; the watcher wakes this often.
CANCELLATION_TTL = 60.0
CANCELLATION_POLL = 30.0


class Session(msgspec.Struct, omit_defaults=True):
    """A legacy session as the store keeps it."""

    id: str
    version: str
    capabilities: dict[str, Any]
    client_info: dict[str, Any] | None = None
    log_level: str | None = None
    #: Who opened the session; only they may use it.
    owner: str | None = None


_encode_session = msgspec.msgpack.Encoder().encode
_decode_session = msgspec.msgpack.Decoder(Session).decode


def session_not_found() -> MCPError:
    return MCPError(INVALID_REQUEST, "Session not found: initialize a new session", status=404)


class _Exchange:
    """Legacy talk-back: notifications and requests on the POST's SSE stream."""

    def __init__(self, legacy: Legacy, session: Session, stream: ResponseStream) -> None:
        self.legacy = legacy
        self.session = session
        self.stream = stream

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.stream.send(jsonrpc.notification(method, params))

    async def close_stream(self) -> None:
        await self.stream.detach()

    async def ask(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        missing = [
            CAPABILITY_FOR[r["method"]]
            for r in requests.values()
            if CAPABILITY_FOR.get(r["method"]) not in self.session.capabilities
        ]
        if missing:
            raise missing_capability(*dict.fromkeys(missing))
        ids = {key: f"s-{secrets.token_urlsafe(12)}" for key in requests}
        for key, request in requests.items():
            message = jsonrpc.request(ids[key], request["method"], request.get("params") or {})
            if not await self.stream.send(message):
                raise invalid_request(
                    "this request needs input from the client, which takes no SSE stream",
                    status=200,
                )
        replies = await asyncio.gather(
            *(self.legacy.reply(self.session.id, i) for i in ids.values())
        )
        return dict(zip(ids, replies, strict=True))


class Legacy:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keys = engine.keys
        self.store = engine.store
        self.settings = engine.settings
        # Calls running in this process, for `notifications/cancelled`.
        self.running: dict[tuple[str, Any], asyncio.Task[Any]] = {}
        self.cancelled: set[tuple[str, Any]] = set()
        # A shared store means a cancellation may arrive at another instance than the
        # call: those are relayed through one log that each instance watches once.
        self.relay_cancellations = self.store.backend != "memory"
        self._watching = False
        self._cancel_watcher: asyncio.Task[None] | None = None

    # sessions

    async def load(self, request: HttpRequest) -> Session:
        session_id = request.headers.get(SESSION_HEADER)
        if not session_id:
            raise invalid_request("Mcp-Session-Id header is required; send initialize first")
        data = await self.store.get(self.keys.session(session_id), touch=self.settings.session_ttl)
        if data is None:
            raise session_not_found()
        session = _decode_session(data)
        if session.owner != principal_id(request.principal):
            raise session_not_found()  # never reveal that someone else's session exists
        version = request.headers.get("mcp-protocol-version")
        if version is not None and version.strip() not in LEGACY:
            raise invalid_request(f"unsupported MCP-Protocol-Version {version!r}")
        return session

    async def save(self, session: Session) -> None:
        key = self.keys.session(session.id)
        await self.store.set(key, _encode_session(session), self.settings.session_ttl)

    async def initialize(
        self, request: HttpRequest, message: dict[str, Any], accept: Accept, responder: Responder
    ) -> None:
        params = message.get("params") or {}
        request.info.method = "initialize"
        capabilities = params.get("capabilities", {})
        client_info = params.get("clientInfo")
        if not isinstance(capabilities, dict) or not isinstance(client_info, dict | None):
            raise invalid_params('"capabilities" and "clientInfo" must be objects')
        version = negotiate(params.get("protocolVersion"))
        session = Session(
            id=secrets.token_urlsafe(24),
            version=version,
            capabilities=capabilities,
            client_info=client_info,
            owner=principal_id(request.principal),
        )
        await self.save(session)
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": {**self.engine.features.capabilities(), "logging": {}},
            "serverInfo": self.engine.server_info,
        }
        if self.engine.app.instructions:
            result["instructions"] = self.engine.app.instructions
        stream = ResponseStream(responder, accept, [("mcp-session-id", session.id)])
        await stream.finish(jsonrpc.result(message["id"], result))

    # POST

    async def post(
        self, request: HttpRequest, body: Any, accept: Accept, responder: Responder
    ) -> None:
        if isinstance(body, dict) and body.get("method") == "initialize" and "id" in body:
            await self.initialize(request, body, accept, responder)
            return
        session = await self.load(request)
        if isinstance(body, list):
            await self._batch(request, session, body, responder)
            return
        jsonrpc.check_message(body)
        if "method" not in body:
            await self._deliver(session, body)
            await responder.respond(202, [], b"")
        elif "id" not in body:
            await self._notification(session, body)
            await responder.respond(202, [], b"")
        else:
            log = self._log(session.id, secrets.token_urlsafe(9))
            retry = self.settings.sse_retry_ms if has_sse_polling(session.version) else None
            stream = ResponseStream(responder, accept, [], log=log, retry_ms=retry)
            response = await self.call(request, session, body, stream)
            await stream.finish(response, 200)

    async def _batch(
        self, request: HttpRequest, session: Session, batch: list[Any], responder: Responder
    ) -> None:
        if not allows_batches(session.version) or not batch:
            raise invalid_request(f"JSON-RPC batches are not part of {session.version}")
        no_stream = ResponseStream(responder, Accept("application/json"), [])
        responses = []
        for message in batch:
            try:
                jsonrpc.check_message(message)
            except MCPError as exc:
                responses.append(jsonrpc.error(None, exc))
                continue
            if "method" not in message:
                await self._deliver(session, message)
            elif "id" not in message:
                await self._notification(session, message)
            else:
                responses.append(await self.call(request, session, message, no_stream))
        if responses:
            await responder.respond(
                200, [("content-type", "application/json")], jsonrpc.encode(responses)
            )
        else:
            await responder.respond(202, [], b"")

    async def call(
        self,
        request: HttpRequest,
        session: Session,
        message: dict[str, Any],
        stream: ResponseStream,
    ) -> dict[str, Any]:
        """The JSON-RPC response to one request of a session."""
        request_id = message["id"]
        method = message["method"]
        params = message.get("params") or {}
        info = request.info
        info.method, info.version = method, session.version
        name = params.get("uri" if method.startswith("resources/") else "name")
        info.name = name if isinstance(name, str) else None
        try:
            result = await self._method(request, session, method, params, request_id, stream)
        except MCPError as exc:
            info.error = exc.code
            return jsonrpc.error(request_id, exc)
        except asyncio.CancelledError:
            if (session.id, request_id) not in self.cancelled:
                raise
            # Cancelled by the client: it ignores any answer, but HTTP still needs one.
            self.cancelled.discard((session.id, request_id))
            task = current_task()
            if task is not None:
                task.uncancel()
            return jsonrpc.error(request_id, MCPError(REQUEST_CANCELLED, "Request cancelled"))
        info.tool_error = result.get("isError") is True
        return jsonrpc.result(request_id, result)

    async def _method(
        self,
        request: HttpRequest,
        session: Session,
        method: str,
        params: dict[str, Any],
        request_id: Any,
        stream: ResponseStream,
    ) -> dict[str, Any]:
        if method == "ping":
            return {}
        if method == "logging/setLevel":
            level = params.get("level")
            if level not in LOG_LEVELS:
                raise invalid_params(f'"level" must be one of {", ".join(LOG_LEVELS)}')
            session.log_level = level
            await self.save(session)
            return {}
        if method in ("resources/subscribe", "resources/unsubscribe"):
            uri = params.get("uri")
            if not isinstance(uri, str):
                raise invalid_params('"uri" must be a string')
            key = self.keys.subscribers(uri)
            if method == "resources/subscribe":
                await self.store.add_member(key, session.id, self.settings.session_ttl)
            else:
                await self.store.remove_member(key, session.id)
            return {}
        handler = self.engine.features.methods.get(method)
        if handler is None:
            raise method_not_found(method)
        ctx = Context(
            request_id=request_id,
            method=method,
            protocol_version=session.version,
            client_capabilities=session.capabilities,
            client_info=session.client_info,
            meta=params.get("_meta") or {},
            exchange=_Exchange(self, session, stream),
            session_id=session.id,
            principal=request.principal,
            deadline=request.deadline,
            platform=request.platform,
            # Until the client sets a level, it gets every message it is sent.
            log_level=session.log_level or "debug",
        )
        if self.relay_cancellations and not self._watching:
            await self._start_watching()
        task = current_task()
        running = (session.id, request_id)
        if task is not None:
            self.running[running] = task
        try:
            return await self.engine.run(handler, params, ctx)
        finally:
            self.running.pop(running, None)

    async def _notification(self, session: Session, message: dict[str, Any]) -> None:
        if message["method"] == "notifications/cancelled":
            params = message.get("params") or {}
            key = (session.id, params.get("requestId"))
            if not self._cancel(key) and self.relay_cancellations:
                self.engine.counters.cancellations_relayed += 1
                await self.store.append(
                    self.keys.cancellations,
                    jsonrpc.encode([session.id, key[1]]),
                    ttl=CANCELLATION_TTL,
                    cap=self.settings.sse_history,
                )

    def _cancel(self, key: tuple[str, Any]) -> bool:
        """Cancel a call running in this process; False when it runs elsewhere or ended."""
        task = self.running.get(key)
        if task is None:
            return False
        self.cancelled.add(key)
        task.cancel()
        return True

    async def _start_watching(self) -> None:
        # The position is taken before the first call runs, so no cancellation sent
        # while it runs can slip past; later calls pay nothing.
        self._watching = True
        try:
            position = await self.store.tail(self.keys.cancellations)
        except BaseException:
            self._watching = False
            raise
        self._cancel_watcher = asyncio.create_task(self._watch_cancellations(position))

    async def _watch_cancellations(self, position: str) -> None:
        """Cancel calls of this process that another instance was asked to cancel."""
        log = self.keys.cancellations
        while not self.engine.closing:
            try:
                events = await self.store.read({log: position}, timeout=CANCELLATION_POLL)
            except StoreUnavailable:
                await asyncio.sleep(1.0)  # Redis is away; nothing to relay until it returns
                continue
            for event in events:
                position = event.id
                session_id, request_id = jsonrpc.decode(event.data)
                if self._cancel((session_id, request_id)):
                    self.engine.counters.cancellations_relayed += 1

    async def close(self) -> None:
        self._watching = False
        watcher, self._cancel_watcher = self._cancel_watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    # server-to-client requests

    async def _deliver(self, session: Session, response: dict[str, Any]) -> None:
        """Hand the client's answer to whichever instance is waiting for it."""
        key = self.keys.reply(session.id, str(response["id"]))
        await self.store.append(
            key, jsonrpc.encode(response), ttl=self.settings.input_timeout, cap=1
        )

    async def reply(self, session_id: str, request_id: str) -> Any:
        key = self.keys.reply(session_id, request_id)
        deadline = time.monotonic() + self.settings.input_timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                events = await self.store.read({key: "0"}, timeout=min(remaining, 30.0))
                if events:
                    response = jsonrpc.decode(events[0].data)
                    if "error" in response:
                        error = response["error"] if isinstance(response["error"], dict) else {}
                        raise MCPError(
                            INVALID_REQUEST,
                            f"The client declined the request: {error.get('message', 'error')}",
                        )
                    return response.get("result")
        finally:
            await self.store.delete(key)
        raise MCPError(INVALID_REQUEST, "The client did not answer in time")

    # GET: the standalone stream, and resumption

    async def get(self, request: HttpRequest, accept: Accept, responder: Responder) -> None:
        session = await self.load(request)
        if not accept.sse:
            raise MCPError(INVALID_REQUEST, "GET needs Accept: text/event-stream", status=406)
        last = request.headers.get("last-event-id")
        parsed = parse_event_id(last) if last else None
        token, position = parsed if parsed else (GET_STREAM, None)
        log = self.keys.sse(session.id, token)
        logs = {log: position if position is not None else await self.store.tail(log)}
        if token == GET_STREAM:  # the standalone stream also carries list changes
            logs[self.keys.notifications] = await self.store.tail(self.keys.notifications)
        await responder.start_stream(SSE_HEADERS)
        with responder.cancelled_on_disconnect():
            await self._stream(session, token, log, logs, responder)

    async def _stream(
        self,
        session: Session,
        token: str,
        log: str,
        logs: dict[str, str],
        responder: Responder,
    ) -> None:
        """Replay and tail a stream's events until it ends, the client leaves, or the
        server shuts down."""
        engine = self.engine
        retry = self.settings.sse_retry_ms if has_sse_polling(session.version) else None
        if retry is not None:
            await responder.write(sse_event(b"", f"{token}.{logs[log]}", retry))
        while not responder.closed and not engine.closing:
            events = await engine.read_events(logs, timeout=self.settings.sse_keepalive)
            if not events and not engine.closing:
                await responder.write(KEEPALIVE)
            for event in events:
                logs[event.log] = event.id
                if event.log != log:  # a broadcast: not replayable, so no id
                    await responder.write(sse_event(event.data))
                    continue
                data, final = stored_event(event.data)
                if data or not final:  # an empty final event: the session was deleted
                    await responder.write(sse_event(data, f"{token}.{event.id}"))
                if final:  # a resumed POST stream ends with its response
                    await responder.end_stream()
                    return
        if engine.closing:  # shutting down: resume from here, on another instance
            retry_ms = self.settings.sse_retry_ms
            await responder.write(sse_event(b"", f"{token}.{logs[log]}", retry_ms))
        await responder.end_stream()

    # DELETE

    async def delete(self, request: HttpRequest, responder: Responder) -> None:
        session = await self.load(request)
        await self.store.delete(self.keys.session(session.id))
        # Ends the standalone stream wherever it is open; the log then soon expires.
        end = self._log(session.id, GET_STREAM)
        end.ttl = CANCELLATION_TTL
        await end.append(b"", final=True)
        await responder.respond(204, [], b"")

    async def notify_session(self, session_id: str, message: dict[str, Any]) -> None:
        """Queue a notification on a session's standalone GET stream."""
        await self._log(session_id, GET_STREAM).append(jsonrpc.encode(message), final=False)

    def _log(self, session_id: str, token: str) -> EventLog:
        return EventLog(
            self.store,
            self.keys.sse(session_id, token),
            token,
            ttl=self.settings.sse_history_ttl,
            cap=self.settings.sse_history,
        )
