"""ASGI mode: a whole ASGI app (FastAPI, Starlette: your routes beside `/mcp`) on Lambda.

Mangum translates the events. Its own lifespan handling would start the app on every
invocation and stop it after (`lifespan="auto"`), which breaks an app whose lifespan
runs once: an `MCPApp.lifespan` closes its store on the way out, and the next warm
invocation finds it closed. Here the lifespan starts once per execution environment,
on the one event loop every invocation reuses, and is never stopped: Lambda freezes
and discards the environment, which is when a process would shut down anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from cloudmcp.aws_lambda.invocation import LambdaInvocation, deadline, next_invocation


class AsgiHandler:
    """An AWS Lambda function handler running an ASGI app under Mangum.

    ```python
    api = FastAPI(lifespan=mcp.lifespan)
    api.mount("/mcp", mcp.http_app("/"))
    handler = AsgiHandler(api)
    ```

    Needs `pip install cloudmcp[lambda-asgi]`. The invocation reaches the app in the
    ASGI scope: `scope["aws.event"]`, `scope["aws.context"]` (Mangum's), and
    `scope["cloudmcp.platform"]`, a `LambdaInvocation`, which MCP tools get as `ctx.platform`.
    """

    def __init__(
        self, app: Any, *, lifespan: bool = True, api_gateway_base_path: str = "/"
    ) -> None:
        from mangum import Mangum

        self.app = app
        self.loop = asyncio.new_event_loop()
        # Mangum runs every invocation on the thread's current loop: make it this one.
        asyncio.set_event_loop(self.loop)
        # Mangum is used for its event translation only; the lifespan is handled here.
        self.mangum = Mangum(app, lifespan="off", api_gateway_base_path=api_gateway_base_path)
        self.lifespan_state: dict[str, Any] = {}
        self._lifespan = self._start_lifespan() if lifespan else None

    def _start_lifespan(self) -> Any:
        from mangum.protocols import LifespanCycle

        # Entered once, never exited: the app's startup runs now, in the init phase, and
        # its lifespan task waits on this loop, across invocations, for a shutdown that
        # Lambda never sends.
        cycle = LifespanCycle(self.app, "auto")
        cycle.__enter__()
        self.lifespan_state = cycle.lifespan_state
        return cycle

    def __call__(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        from mangum.protocols import HTTPCycle

        cold_start = next_invocation()
        asyncio.set_event_loop(self.loop)
        try:
            handler = self.mangum.infer(event, context)  # type: ignore[arg-type]
            scope, body = handler.scope, handler.body
        except Exception as failed:  # Mangum reading fields an event lacks, or mistypes
            return refused(event, failed)
        # The lifespan's state, as Starlette's `request.state` expects it per request.
        scope["state"] = dict(self.lifespan_state)
        # What `MCPApp.http_app()` hands its tools as `ctx.platform` and `ctx.deadline`.
        scope["cloudmcp.platform"] = LambdaInvocation(context, event, cold_start)
        scope["cloudmcp.deadline"] = deadline(context)
        response = HTTPCycle(scope, body)(self.app)
        result: dict[str, Any] = handler(response)
        return result

    def close(self) -> None:
        """Run the app's shutdown and close the loop (tests, `lambda serve`; Lambda itself
        never says when an execution environment ends)."""
        if self._lifespan is not None:
            self._lifespan.__exit__(None, None, None)
            self._lifespan = None
        self.loop.close()


def refused(event: Mapping[str, Any], failed: Exception) -> dict[str, Any]:
    """The 400 for an HTTP event Mangum could not read, in its service's shape, as direct
    mode answers it; an event that is no HTTP request at all fails the invocation."""
    from cloudmcp.aws_lambda.events import MalformedEvent, parse_event

    try:
        parsed = parse_event(event)
    except MalformedEvent as malformed:
        return malformed.response()
    # Fields direct mode reads are fine, but Mangum reads more.
    return MalformedEvent(f"a malformed {parsed.kind} event ({failed!r})", parsed).response()
