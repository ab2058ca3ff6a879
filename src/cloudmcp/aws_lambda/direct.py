"""Direct mode: a Lambda event goes straight to the `Server`, with no ASGI in between.

Everything costly is built once per execution environment, when the handler is made
(Lambda's init phase): the app, its schemas, the engine and its store (the Redis pool
when `REDIS_URL` is set), and one event loop that every warm invocation reuses, so
pooled connections stay bound to the loop they were opened on.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cloudmcp.aws_lambda.cors import Cors
from cloudmcp.aws_lambda.events import MalformedEvent, parse_event
from cloudmcp.aws_lambda.invocation import LambdaInvocation, deadline, next_invocation
from cloudmcp.aws_lambda.responder import BufferedResponder
from cloudmcp.protocol.errors import MCPError
from cloudmcp.protocol.transport import HttpRequest, Responder
from cloudmcp.server import Server

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

#: How long an idle long-lived stream waits for more before the invocation returns: the
#: client sees nothing before the end, so waiting only costs time.
IDLE_WAIT = 0.0


class LambdaServer(Server):
    """The `Server`, less what needs a response that stays open.

    The legacy standalone GET stream exists to push notifications whenever they happen;
    a Lambda response cannot, so it answers 405, which the 2025 revisions allow ("the
    server does not offer an SSE stream at this endpoint") and clients expect. A GET
    with `Last-Event-ID` resumes a POST's stream from the store, and is served.
    """

    async def _mcp(self, request: HttpRequest, responder: Responder) -> None:
        if request.method == "GET" and "last-event-id" not in request.headers:
            raise MCPError(
                -32600,
                "Method not allowed: this server runs on AWS Lambda and offers no standalone "
                "SSE stream; GET only resumes a stream with Last-Event-ID",
                status=405,
                headers={"allow": "GET, POST, DELETE"},
            )
        await super()._mcp(request, responder)


class LambdaHandler:
    """An AWS Lambda function handler serving an `MCPApp`: `handler = LambdaHandler(app)`.

    Takes API Gateway REST (payload 1.0), HTTP API (payload 2.0), function URL and ALB
    events and answers each in its own response shape. Tools see the invocation as
    `ctx.platform` (a `LambdaInvocation`), and the time Lambda has left caps their deadline.

    Waiting is pointless on Lambda, where nothing reaches the client before the handler
    returns, so the app's settings are adjusted in place: idle streams end at once
    (`sse_keepalive`), and a legacy server-to-client request fails at once instead of
    waiting for an answer that cannot come (`input_timeout`). Use MRTR (2026-07-28) for
    input from the client.
    """

    def __init__(self, app: MCPApp, path: str = "/mcp") -> None:
        self.app = app
        settings = app.settings
        settings.sse_keepalive = IDLE_WAIT
        settings.input_timeout = 0.0
        from cloudmcp.ops import install_on_lambda

        # In a Lambda runtime: EMF metrics and JSON access logs on stdout; before the server
        # reads the routes and the engine takes the store.
        self.ops = install_on_lambda(app)
        self.server = LambdaServer(app, path)
        self.cors = Cors(settings.cors_allow_origins)
        self.engine = app.engine  # builds the store now, not on the first request
        self.loop = asyncio.new_event_loop()
        if "AWS_LAMBDA_RUNTIME_API" in os.environ:
            # In a Lambda runtime, what was built so far lives as long as the process: keep
            # the garbage collector from walking it again on every collection.
            gc.freeze()

    def __call__(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        cold_start = next_invocation()
        try:
            parsed = parse_event(event)
        except MalformedEvent as malformed:
            return malformed.response()
        preflight = self.cors.preflight(parsed.method, parsed.headers)
        if preflight is not None:
            return parsed.response(preflight)
        request = HttpRequest(
            parsed.method,
            parsed.headers,
            parsed.body,
            parsed.path,
            platform=LambdaInvocation(context, event, cold_start),
            deadline=deadline(context),
            client=parsed.client,
        )
        responder = BufferedResponder()
        self.loop.run_until_complete(self.server.handle(request, responder))
        if self.ops is not None:
            self.ops.flush()  # the process may freeze once we return: lines leave now
        response = responder.response()
        self.cors.decorate(parsed.headers, response)
        return parsed.response(response)

    def close(self) -> None:
        """Release the store and the loop (tests; Lambda just freezes the process)."""
        self.loop.run_until_complete(self.engine.close())
        self.loop.close()
