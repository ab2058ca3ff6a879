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

import msgspec

from cloudmcp.aws_lambda.cors import Cors
from cloudmcp.aws_lambda.events import MalformedEvent, parse_event
from cloudmcp.aws_lambda.invocation import LambdaInvocation, deadline, next_invocation
from cloudmcp.aws_lambda.responder import BufferedResponder
from cloudmcp.compose import Composable
from cloudmcp.protocol.transport import HttpRequest
from cloudmcp.server import normalize
from cloudmcp.settings import Settings

if TYPE_CHECKING:
    from cloudmcp.aws_lambda.tasks import SelfInvoke

#: How long an idle long-lived stream waits for more before the invocation returns: the
#: client sees nothing before the end, so waiting only costs time.
IDLE_WAIT = 0.0


def lambda_settings(settings: Settings) -> Settings:
    """Waiting is pointless on Lambda, where nothing reaches the client before the handler
    returns: idle streams end at once (`sse_keepalive`), and a legacy server-to-client
    request fails at once instead of waiting for an answer that cannot come
    (`input_timeout`). Use MRTR (2026-07-28) for input from the client."""
    return msgspec.structs.replace(settings, sse_keepalive=IDLE_WAIT, input_timeout=0.0)


class LambdaHandler:
    """An AWS Lambda function handler serving an `MCPApp`: `handler = LambdaHandler(app)`.

    Takes API Gateway REST (payload 1.0), HTTP API (payload 2.0), function URL and ALB
    events and answers each in its own response shape. Tools see the invocation as
    `ctx.platform` (a `LambdaInvocation`), and the time Lambda has left caps their deadline.

    A Lambda response cannot stay open, so there is no standalone legacy GET stream: a
    GET answers 405, which the 2025 revisions allow ("the server does not offer an SSE
    stream at this endpoint") and clients expect; a GET with `Last-Event-ID` resumes a
    POST's stream from the store.
    """

    def __init__(
        self, app: Composable, path: str = "/mcp", *, bind_host: str | None = None
    ) -> None:
        self.app = app
        self._self_invoke: SelfInvoke | None = None
        operations = None
        if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
            # In a Lambda runtime: EMF metrics and JSON access logs on stdout. Elsewhere
            # (tests, `cloudmcp lambda invoke`) no EMF is printed.
            from cloudmcp.ops import OpsConfig

            operations = OpsConfig.from_env(platform="lambda")
        # Everything, the store included, is built now (the init phase), not at a request.
        self.path = normalize(path)
        settings = lambda_settings(app.settings)
        self.service = app.compose(
            bind_host=bind_host,
            operations=operations,
            settings=settings,
            standalone_streams=False,
            # Nothing runs after the handler returns: task work starts in another invocation.
            task_dispatch=self._invoke if settings.task_dispatch != "local" else None,
        )
        self.server = self.service.server
        self.engine = self.service.engine
        self.ops = self.service.ops
        self.cors = Cors(app.settings.cors_allow_origins)
        self.loop = asyncio.new_event_loop()
        if "AWS_LAMBDA_RUNTIME_API" in os.environ:
            # In a Lambda runtime, what was built so far lives as long as the process: keep
            # the garbage collector from walking it again on every collection.
            gc.freeze()

    async def _invoke(self, task_id: str) -> None:
        from cloudmcp.aws_lambda.tasks import SelfInvoke

        if self._self_invoke is None:
            self._self_invoke = SelfInvoke.from_environ(os.environ)
        await self._self_invoke(task_id)

    def __call__(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        cold_start = next_invocation()
        if event.get("cloudmcp") is not None:  # not HTTP: this function's own task work
            return self._task_event(event, context)
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
        self.loop.run_until_complete(self.server.handle(request, responder, self.path))
        if self.ops is not None:
            self.ops.flush()  # the process may freeze once we return: lines leave now
        response = responder.response()
        self.cors.decorate(parsed.headers, response)
        return parsed.response(response)

    def _task_event(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        from cloudmcp.aws_lambda.tasks import is_task_event, serve_task_event

        if not is_task_event(event):
            return {"error": f"unknown cloudmcp event {event.get('cloudmcp')!r}"}
        work = serve_task_event(self.engine.tasks, event, context)
        done = self.loop.run_until_complete(work)
        if self.ops is not None:
            self.ops.flush()
        return done

    def close(self) -> None:
        """Release the store and the loop (tests; Lambda just freezes the process)."""
        self.loop.run_until_complete(self.engine.close())
        self.loop.close()
