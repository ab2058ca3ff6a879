"""Streamable HTTP as the engine sees it: a request in, a response out.

Edges (ASGI, AWS Lambda) turn their platform's request into an `HttpRequest` and
hand the engine a `Responder` that writes either one body or an SSE stream.
"""

from __future__ import annotations

import asyncio
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from cloudmcp.eventloop import current_task

if TYPE_CHECKING:
    from cloudmcp.protocol.call import Call

JSON = "application/json"
SSE = "text/event-stream"

Headers = list[tuple[str, str]]

#: The legacy revisions' session header (lower case, as `HttpRequest.headers` has it).
SESSION_HEADER = "mcp-session-id"


def principal_id(principal: Any) -> str | None:
    """Who owns sessions, rate limits and sealed state: the principal's id, under how it
    proved it (`api_key:ops`, `oauth:ops`), so an API key's principal and an OAuth
    subject of the same name never share anything."""
    if principal is None:
        return None
    ident = str(getattr(principal, "id", principal))
    kind = getattr(principal, "kind", None)
    return f"{kind}:{ident}" if kind else ident


class RequestInfo(msgspec.Struct):
    """What the engine learned about a request, for logs and metrics."""

    #: The JSON-RPC method, and the tool or prompt name or resource URI it names.
    method: str | None = None
    name: str | None = None
    #: The protocol revision the request spoke.
    version: str | None = None
    #: The JSON-RPC error code of the answer, if it was an error.
    error: int | None = None
    #: Whether a tool call returned `isError: true`.
    tool_error: bool = False
    #: The request as parsed (its id, params and `_meta`), once there is one.
    call: Call | None = None
    #: How long the legacy session a DELETE ended had lasted, in seconds.
    session_seconds: float | None = None
    #: The W3C `traceparent` of the request's own span, when tracing made one.
    traceparent: str | None = None


class HttpRequest(msgspec.Struct):
    method: str
    #: Header names in lower case.
    headers: Mapping[str, str]
    body: bytes
    #: The path below the app's mount point.
    path: str = "/"
    #: Who is calling, as authentication established it.
    principal: Any = None
    #: The platform's request context (the Lambda context object on AWS Lambda).
    platform: Any = None
    #: `time.monotonic()` by which the platform will cut the request off.
    deadline: float | None = None
    info: RequestInfo = msgspec.field(default_factory=RequestInfo)
    #: The peer's IP address (the ASGI server's `client`, API Gateway's `sourceIp`): a
    #: proxy's X-Forwarded-Host is believed only from an address in TRUSTED_PROXIES.
    client: str | None = None
    #: The id every log line about this request carries (`cloudmcp.ops.summary.request_id`).
    id: str | None = None


class Responder(ABC):
    """Writes one HTTP response: a whole body, or a stream of SSE events.

    Implementations set `status` when the response starts.
    """

    #: True once the client has gone away.
    closed: bool = False
    status: int = 0

    @abstractmethod
    async def respond(self, status: int, headers: Headers, body: bytes) -> None: ...

    @abstractmethod
    async def start_stream(self, headers: Headers) -> None: ...

    @abstractmethod
    async def write(self, chunk: bytes) -> None: ...

    @abstractmethod
    async def end_stream(self) -> None: ...

    def on_disconnect(self, callback: Callable[[], object]) -> None:  # noqa: B027
        """Call `callback` if the client goes away before the response ends."""

    def cancelled_on_disconnect(self) -> CancelledOnDisconnect:
        """`with responder.cancelled_on_disconnect():` the client going away cancels the
        work inside, and the request then ends quietly: there is nobody left to answer."""
        return CancelledOnDisconnect(self)


class CancelledOnDisconnect:
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.task: asyncio.Task[Any] | None = None

    def __enter__(self) -> None:
        self.task = current_task()
        if self.task is not None:
            self.responder.on_disconnect(self.task.cancel)

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        if kind is asyncio.CancelledError and self.responder.closed and self.task is not None:
            self.task.uncancel()
            return True
        return False


def sse_event(data: bytes, event_id: str | None = None, retry_ms: int | None = None) -> bytes:
    head = b"event: message\n"
    if event_id is not None:
        head += b"id: " + event_id.encode() + b"\n"
    if retry_ms is not None:
        head += b"retry: " + str(retry_ms).encode() + b"\n"
    return head + b"data: " + data + b"\n\n"


KEEPALIVE = b": keepalive\n\n"

SSE_HEADERS: Headers = [
    ("content-type", SSE),
    ("cache-control", "no-cache, no-transform"),
    # Tell nginx and similar proxies not to buffer the stream.
    ("x-accel-buffering", "no"),
]


@functools.lru_cache(maxsize=256)
def parse_accept(header: str | None) -> Accept:
    """The parsed `Accept` header; a client sends the same one every time, so parse it once."""
    return Accept(header)


class Accept:
    """What the client's `Accept` header allows."""

    __slots__ = ("json", "prefers_sse", "sse")

    def __init__(self, header: str | None) -> None:
        if not header:
            self.json = self.sse = True
            self.prefers_sse = False
            return
        types = [part.split(";", 1)[0].strip().lower() for part in header.split(",")]
        anything = "*/*" in types
        self.json = anything or JSON in types or "application/*" in types
        self.sse = anything or SSE in types or "text/*" in types
        # A client that names the event stream first gets one even for a quick answer.
        self.prefers_sse = SSE in types and (
            JSON not in types or types.index(SSE) < types.index(JSON)
        )
