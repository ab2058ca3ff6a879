"""`cloudmcp lambda serve`: a local HTTP endpoint in front of a Lambda handler.

Each HTTP request becomes an event of the chosen kind, the handler answers it as it
would on AWS, and its response dictionary becomes the HTTP response. Invocations run
one at a time on one thread, as in one Lambda execution environment, so any MCP
client can talk to exactly what Lambda would run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cloudmcp.aws_lambda.local import LocalContext, make_event, read_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

log = logging.getLogger("cloudmcp")


class LocalEndpoint:
    """An ASGI app that invokes `handler` with an event of `kind` for every request."""

    def __init__(
        self,
        make_handler: Callable[[], Handler],
        kind: str,
        *,
        timeout: float = 30.0,
        stage: str = "$default",
    ) -> None:
        self.kind = kind
        self.timeout = timeout
        self.stage = stage
        # One thread, made before the first request: the handler is built on it (as the
        # runtime's init phase does) and every invocation runs on it, one at a time.
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="lambda")
        self.handler = self.executor.submit(make_handler).result()

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.handler(event, LocalContext(timeout=self.timeout))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.executor.shutdown(wait=False, cancel_futures=True)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        event = make_event(
            self.kind,
            scope["method"],
            scope["path"],
            headers,
            body,
            query=scope.get("query_string", b"").decode("latin-1"),
            stage=self.stage,
        )
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self.executor, self.invoke, event)
            status, out_headers, out_body = read_response(response)
        except Exception as exc:  # as API Gateway does when the function fails
            log.exception("the handler failed")
            status, out_headers = 502, [("content-type", "application/json")]
            out_body = b'{"message":"Internal server error: ' + type(exc).__name__.encode() + b'"}'
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out_headers]
        raw.append((b"content-length", str(len(out_body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": out_body})


def serve(
    make_handler: Callable[[], Handler],
    kind: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    timeout: float = 30.0,
    log_level: str = "info",
) -> None:
    import uvicorn

    app = LocalEndpoint(make_handler, kind, timeout=timeout)
    # uvicorn's access log: a line per request, as the Lambda console shows one per invocation.
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=True, lifespan="on")
