"""The Lambda edge's `Responder`: the whole response is collected, then returned.

Lambda's Python runtime hands back one payload per invocation, so nothing written
reaches the client before the handler returns. An SSE stream (progress, logs) is
collected into the body and arrives all at once, still as `text/event-stream`.

A stream that only waits for what may come later (the legacy standalone GET stream,
`subscriptions/listen`) has nothing to wait for here: the engine writes a keep-alive
when such a stream has been idle, and this responder takes that as the moment to end
it, as if the client had left. The engine then closes the stream in order: a
resumed stream ends, a subscription ends with its result.
"""

from __future__ import annotations

from collections.abc import Callable

from cloudmcp.aws_lambda.events import HttpResponse
from cloudmcp.protocol.transport import KEEPALIVE, Headers, Responder


class BufferedResponder(Responder):
    def __init__(self) -> None:
        self.status = 0
        self.headers: Headers = []
        self.chunks: list[bytes] = []
        self.streaming = False
        self.ended = False

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status = status
        self.headers = list(headers)
        self.chunks = [body]
        self.ended = True

    async def start_stream(self, headers: Headers) -> None:
        self.status = 200
        self.headers = list(headers)
        self.streaming = True

    async def write(self, chunk: bytes) -> None:
        if chunk == KEEPALIVE:
            # The stream is idle, and nothing can reach this client before the end: stop
            # waiting. Writes that close the stream (a subscription's result) still land.
            self.closed = True
            return
        if not self.ended:
            self.chunks.append(chunk)

    async def end_stream(self) -> None:
        self.ended = True

    def on_disconnect(self, callback: Callable[[], object]) -> None:
        """The client cannot leave mid-invocation: API Gateway waits for the whole payload."""

    def response(self) -> HttpResponse:
        if self.status == 0:  # the engine always answers; this is a last resort
            body = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"No response"}}'
            return HttpResponse(500, [("content-type", "application/json")], body)
        return HttpResponse(self.status, self.headers, b"".join(self.chunks))
