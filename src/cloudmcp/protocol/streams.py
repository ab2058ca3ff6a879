"""Response streams: one POST's answer, and the legacy SSE logs that make it resumable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloudmcp.errors import MCPError
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.jsonrpc import encode
from cloudmcp.protocol.transport import (
    JSON,
    SSE_HEADERS,
    Accept,
    Headers,
    RequestInfo,
    Responder,
    sse_event,
)
from cloudmcp.state.store import Store

_FINAL, _PARTIAL = b"F", b"N"


class EventLog:
    """A legacy SSE stream's events, kept in the `Store` so any instance can replay them.

    SSE event ids are `{token}.{position}`: the token names the stream within its
    session, the position orders events within it.
    """

    def __init__(self, store: Store, key: str, token: str, *, ttl: float, cap: int) -> None:
        self.store = store
        self.key = key
        self.token = token
        self.ttl = ttl
        self.cap = cap

    async def append(self, data: bytes, *, final: bool) -> str:
        position = await self.store.append(
            self.key, (_FINAL if final else _PARTIAL) + data, ttl=self.ttl, cap=self.cap
        )
        return f"{self.token}.{position}"

    async def prime(self) -> str:
        """An id before any event, so a client can resume from the very start (2025-11-25)."""
        return f"{self.token}.0"


_MAX_PART = 2**64 - 1


def parse_event_id(event_id: str) -> tuple[str, str] | None:
    """(token, position) of an SSE event id; None for anything no log could have made."""
    token, dot, position = event_id.partition(".")
    # A position is a number (memory) or a Redis stream id, `milliseconds-sequence`,
    # each part an unsigned 64-bit integer.
    ms, dash, seq = position.partition("-")
    if not dot or not token or len(token) > 64 or not ms.isascii() or not ms.isdigit():
        return None
    if dash and not (seq.isascii() and seq.isdigit() and int(seq) <= _MAX_PART):
        return None
    if int(ms) > _MAX_PART:
        return None
    return token, position


def stored_event(data: bytes) -> tuple[bytes, bool]:
    """(message, final) from what `EventLog.append` stored."""
    return data[1:], data[:1] == _FINAL


class ResponseStream:
    """The answer to one POST.

    It stays a plain JSON response unless something has to reach the client before
    the result (progress, a log message, a server-to-client request); then it turns
    into an SSE stream. So a quick call costs one JSON body and nothing else.
    """

    def __init__(
        self,
        responder: Responder,
        accept: Accept,
        headers: Headers,
        *,
        log: EventLog | None = None,
        retry_ms: int | None = None,
        info: RequestInfo | None = None,
    ) -> None:
        self.responder = responder
        #: Where the outcome is recorded for metrics and logs.
        self.info = info
        self.accept = accept
        self.headers = headers
        self.log = log
        self.retry_ms = retry_ms
        self.started = False
        #: The HTTP response has ended early; events only go to the log for resumption.
        self.detached = False

    @property
    def can_stream(self) -> bool:
        return self.accept.sse

    async def send(self, message: dict[str, Any]) -> bool:
        """Send a message ahead of the result; False when the client cannot take a stream."""
        if not self.accept.sse:
            return False
        if not self.started:
            await self._start()
        await self._write(encode(message), final=False)
        return True

    async def detach(self) -> None:
        """End the HTTP response, keep logging events: the client resumes with a GET."""
        if self.log is None or self.retry_ms is None or self.detached:
            return  # without ids and a retry hint the client could not resume
        if not self.started:
            await self._start()
        self.detached = True
        await self.responder.end_stream()

    async def finish(
        self,
        message: dict[str, Any] | bytes,
        status: int = 200,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        """End the answer with `message` (a JSON-RPC response, or its encoding)."""
        data = message if isinstance(message, bytes) else encode(message)
        if self.detached:
            await self._write(data, final=True)
        elif self.started:
            await self._write(data, final=True)
            await self.responder.end_stream()
        elif (self.accept.json and not self.accept.prefers_sse) or status != 200:
            content = [("content-type", JSON), *self.headers, *headers]
            await self.responder.respond(status, content, data)
        else:  # a client that takes only SSE gets the result as a one-event stream
            await self._start()
            await self._write(data, final=True)
            await self.responder.end_stream()

    async def fail(self, request_id: Any, exc: MCPError, *, status: int | None = None) -> None:
        """End the answer with an error: the one place an `MCPError` becomes a response.

        Before anything was sent it is the whole answer, with the error's HTTP status and
        headers; on a stream already under way it is the stream's last event."""
        if self.info is not None:
            self.info.error = exc.code
        status = exc.status if status is None else status
        await self.finish(jsonrpc.error(request_id, exc), status, list(exc.headers.items()))

    async def _start(self) -> None:
        self.started = True
        await self.responder.start_stream([*SSE_HEADERS, *self.headers])
        if self.log is not None and self.retry_ms is not None:
            # Prime the stream: an id to resume from, and how soon to reconnect.
            await self.responder.write(sse_event(b"", await self.log.prime(), self.retry_ms))

    async def _write(self, data: bytes, *, final: bool) -> None:
        event_id = await self.log.append(data, final=final) if self.log is not None else None
        if not self.responder.closed and not self.detached:
            await self.responder.write(sse_event(data, event_id))
