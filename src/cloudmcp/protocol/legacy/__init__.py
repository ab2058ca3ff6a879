"""The handshake revisions 2025-11-25, 2025-06-18 and 2025-03-26.

`initialize` opens a session whose whole state lives in the `Store`: any instance can
serve its next request. Server-to-client requests go out on the POST's SSE stream;
the client's answer may arrive at another instance, which hands it over through the
store. SSE events are logged there too, so a client resumes with `Last-Event-ID`
wherever its reconnection lands.

The pieces, one idea each: `sessions`, `requests` (server-to-client), `cancellation`,
`resumption` (GET streams).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cloudmcp.app.context import LOG_LEVELS, Context
from cloudmcp.app.registry import Registry
from cloudmcp.errors import MCPError
from cloudmcp.eventloop import current_task
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.call import Call, parse
from cloudmcp.protocol.closing import Closing
from cloudmcp.protocol.errors import (
    internal_error,
    invalid_params,
    invalid_request,
    method_not_found,
    not_acceptable,
    request_cancelled,
)
from cloudmcp.protocol.features import Features
from cloudmcp.protocol.legacy.cancellation import Cancellations
from cloudmcp.protocol.legacy.requests import Exchange, Replies
from cloudmcp.protocol.legacy.resumption import Resumption
from cloudmcp.protocol.legacy.sessions import Session, Sessions
from cloudmcp.protocol.streams import ResponseStream
from cloudmcp.protocol.transport import Accept, HttpRequest, Responder
from cloudmcp.protocol.versions import allows_batches, has_sse_polling, negotiate
from cloudmcp.settings import Settings
from cloudmcp.state.counters import StateCounters
from cloudmcp.state.keys import Keys
from cloudmcp.state.store import Store

#: What the engine checks before a call runs (scopes, rate limits); raises `MCPError`.
Admit = Callable[[HttpRequest, Call], Awaitable[None]]

_JSON_ONLY = Accept("application/json")


class Legacy:
    def __init__(
        self,
        registry: Registry,
        features: Features,
        store: Store,
        keys: Keys,
        settings: Settings,
        closing: Closing,
        counters: StateCounters,
    ) -> None:
        self.registry = registry
        self.features = features
        self.settings = settings
        self.keys = keys
        self.store = store
        self.sessions = Sessions(store, keys, ttl=settings.session_ttl)
        self.replies = Replies(store, keys, timeout=settings.input_timeout)
        self.cancellations = Cancellations(store, keys, closing, counters, cap=settings.sse_history)
        self.resumption = Resumption(store, keys, settings, closing)

    # POST

    async def post(
        self,
        request: HttpRequest,
        body: dict[str, Any] | list[Any],
        accept: Accept,
        responder: Responder,
        admit: Admit,
    ) -> None:
        """Answer a checked message, or a batch; raises `MCPError` for what is refused
        before anything runs."""
        if isinstance(body, dict) and body.get("method") == "initialize" and "id" in body:
            request.info.call = parse(body, "legacy", self.registry)
            await admit(request, request.info.call)
            await self._initialize(request, body, accept, responder)
            return
        session = await self.sessions.load(request)
        request.info.version = session.version
        if isinstance(body, list):
            await self._batch(request, session, body, responder, admit)
        elif "method" not in body:
            await self.replies.deliver(session, body)
            await responder.respond(202, [], b"")
        elif "id" not in body:
            request.info.method = body["method"]
            await self._notification(session, body)
            await responder.respond(202, [], b"")
        else:
            call = parse(body, "legacy", self.registry)
            info = request.info
            info.method, info.name, info.call = call.method, call.target, call
            await admit(request, call)
            log = self.resumption.log(session.id, secrets.token_urlsafe(9))
            retry = self.settings.sse_retry_ms if has_sse_polling(session.version) else None
            stream = ResponseStream(
                responder, accept, [], log=log, retry_ms=retry, info=request.info
            )
            try:
                answer = await self._answer(request, session, call, stream)
            except MCPError as exc:
                await stream.fail(call.id, exc, status=200)
                return
            await stream.finish(answer)

    async def _initialize(
        self, request: HttpRequest, message: dict[str, Any], accept: Accept, responder: Responder
    ) -> None:
        params = message.get("params") or {}
        request.info.method = "initialize"
        capabilities = params.get("capabilities", {})
        client_info = params.get("clientInfo")
        if not isinstance(capabilities, dict) or not isinstance(client_info, dict | None):
            raise invalid_params('"capabilities" and "clientInfo" must be objects')
        version = negotiate(params.get("protocolVersion"))
        request.info.version = version
        session = self.sessions.new(request, version, capabilities, client_info)
        await self.sessions.save(session)
        registry = self.registry
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": {**registry.capabilities(), "logging": {}},
            "serverInfo": registry.server_info,
        }
        if registry.instructions:
            result["instructions"] = registry.instructions
        stream = ResponseStream(responder, accept, [("mcp-session-id", session.id)])
        await stream.finish(jsonrpc.result(message["id"], result))

    async def _batch(
        self,
        request: HttpRequest,
        session: Session,
        batch: list[Any],
        responder: Responder,
        admit: Admit,
    ) -> None:
        if not allows_batches(session.version) or not batch:
            raise invalid_request(f"JSON-RPC batches are not part of {session.version}")
        no_stream = ResponseStream(responder, _JSON_ONLY, [])
        answers: list[bytes] = []
        for message in batch:
            try:
                jsonrpc.check_message(message)
            except MCPError as exc:
                answers.append(jsonrpc.encode(jsonrpc.error(None, exc)))
                continue
            if "method" not in message:
                await self.replies.deliver(session, message)
                continue
            if "id" not in message:
                await self._notification(session, message)
                continue
            call = parse(message, "legacy", self.registry)
            info = request.info
            info.method, info.name, info.call = call.method, call.target, call
            try:
                await admit(request, call)
                answers.append(await self._answer(request, session, call, no_stream))
            except MCPError as exc:
                request.info.error = exc.code
                answers.append(jsonrpc.encode(jsonrpc.error(call.id, exc)))
        if answers:
            body = b"[" + b",".join(_within(answers, self.features.max_result_size)) + b"]"
            await responder.respond(200, [("content-type", "application/json")], body)
        else:
            await responder.respond(202, [], b"")

    async def _answer(
        self, request: HttpRequest, session: Session, call: Call, stream: ResponseStream
    ) -> bytes:
        """The encoded JSON-RPC response to one call of a session."""
        key = (session.id, call.id)
        try:
            await self.cancellations.track(key, current_task())
            try:
                result = await self._method(request, session, call, stream)
            finally:
                self.cancellations.done(key)
        except asyncio.CancelledError:
            if not self.cancellations.consume(key):
                raise
            # Cancelled by the client: it ignores any answer, but HTTP still needs one.
            task = current_task()
            if task is not None:
                task.uncancel()
            raise request_cancelled() from None
        request.info.tool_error = result.get("isError") is True
        return self.features.encode(call, result)

    async def _method(
        self, request: HttpRequest, session: Session, call: Call, stream: ResponseStream
    ) -> dict[str, Any]:
        method, params = call.method, call.params
        if method == "ping":
            return {}
        if method == "logging/setLevel":
            level = params.get("level")
            if level not in LOG_LEVELS:
                raise invalid_params(f'"level" must be one of {", ".join(LOG_LEVELS)}')
            session.log_level = level
            await self.sessions.save(session)
            return {}
        if method in ("resources/subscribe", "resources/unsubscribe"):
            uri = call.target
            if uri is None:
                raise invalid_params('"uri" must be a string')
            key = self.keys.subscribers(uri)
            if method == "resources/subscribe":
                await self.store.add_member(key, session.id, self.settings.session_ttl)
            else:
                await self.store.remove_member(key, session.id)
            return {}
        if not call.known:
            raise method_not_found(method)
        meta = params.get("_meta")
        ctx = Context(
            request_id=call.id,
            method=method,
            protocol_version=session.version,
            client_capabilities=session.capabilities,
            client_info=session.client_info,
            meta=meta if isinstance(meta, dict) else {},
            exchange=Exchange(self.replies, session, stream, self.features.tracer),
            session_id=session.id,
            principal=request.principal,
            deadline=request.deadline,
            platform=request.platform,
            # Until the client sets a level, it gets every message it is sent.
            log_level=session.log_level or "debug",
        )
        return await self.features.run(call, ctx)

    async def _notification(self, session: Session, message: dict[str, Any]) -> None:
        if message["method"] == "notifications/cancelled":
            params = message.get("params") or {}
            request_id = params.get("requestId")
            if jsonrpc.is_request_id(request_id):  # anything else names no call
                await self.cancellations.cancel((session.id, request_id))

    # GET and DELETE

    async def get(self, request: HttpRequest, accept: Accept, responder: Responder) -> None:
        session = await self.sessions.load(request)
        request.info.version = session.version
        if not accept.sse:
            raise not_acceptable("GET needs Accept: text/event-stream")
        await self.resumption.get(request, session, responder)

    async def delete(self, request: HttpRequest, responder: Responder) -> None:
        session = await self.sessions.load(request)
        request.info.version = session.version
        if session.opened:
            request.info.session_seconds = max(0.0, time.time() - session.opened)
        await self.sessions.delete(session)
        await self.resumption.end(session)
        await responder.respond(204, [], b"")

    async def notify_session(self, session_id: str, message: dict[str, Any]) -> None:
        """Queue a notification on a session's standalone GET stream."""
        await self.resumption.notify(session_id, jsonrpc.encode(message))

    async def close(self) -> None:
        await self.cancellations.close()


def _within(answers: list[bytes], limit: int) -> list[bytes]:
    """A batch's answers, each past what `MAX_RESULT_SIZE` leaves for the whole batch
    replaced by an error: the batch's body stays within the limit (Lambda's 6 MB
    payload), as a single result does."""
    if not limit or sum(len(a) for a in answers) <= limit:
        return answers
    kept: list[bytes] = []
    room = limit
    for answer in answers:
        if len(answer) > room:
            request_id = jsonrpc.decode(answer).get("id")
            error = internal_error("the batch's answers are larger than this server sends")
            answer = jsonrpc.encode(jsonrpc.error(request_id, error))
        room -= len(answer)
        kept.append(answer)
    return kept


__all__ = ["Admit", "Legacy", "Session"]
