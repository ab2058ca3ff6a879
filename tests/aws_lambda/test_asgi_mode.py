"""ASGI mode: a FastAPI app with its own routes and cloudmcp at /mcp, under Mangum.

Each test runs its invocations on one thread of its own, as the Lambda runtime does (Mangum
uses the thread's current event loop), so no event loop leaks into other tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from lambda_calls import KINDS, Answer, invoke
from mangum import Mangum
from mangum.exceptions import LifespanFailure
from wire import ACCEPT

from cloudmcp import Context, MCPApp
from cloudmcp.aws_lambda import asgi_handler

T = TypeVar("T")

INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "asgi-test", "version": "1"},
    },
}
JSON = {"content-type": "application/json", "accept": ACCEPT}


def on_one_thread(work: Callable[[], T]) -> T:
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(work).result()


def make_api() -> tuple[FastAPI, list[str]]:
    """FastAPI beside MCP, with a lifespan that may start only once (as an `MCPApp`'s: it
    closes the store on the way out)."""
    mcp = MCPApp("asgi-mode")
    starts: list[str] = []

    @mcp.tool()
    async def invocation(ctx: Context) -> dict[str, Any]:
        platform = ctx.platform
        return {
            "cold_start": platform.cold_start,
            "request_id": platform.aws_request_id,
            "time_left": ctx.remaining(),
        }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if starts:
            raise RuntimeError("this app's lifespan starts once")
        starts.append("started")
        async with mcp.lifespan(app):
            yield {"greeting": "hello from the lifespan"}

    api = FastAPI(lifespan=lifespan)

    @api.get("/hello")
    async def hello(request: Request) -> dict[str, str]:
        return {"hello": "world", "state": request.state.greeting}

    api.mount("/mcp", mcp.http_app(path="/"))
    return api, starts


def session_flow(handler: Any, kind: str) -> list[Answer]:
    """initialize, then two tool calls in the session, each its own invocation."""
    opened = invoke(handler, kind, INIT, JSON, path="/mcp/")
    answers = [opened]
    if opened.status != 200:
        return answers
    headers = {**JSON, "mcp-session-id": opened.headers["mcp-session-id"]}
    headers["mcp-protocol-version"] = "2025-11-25"
    for id in (1, 2):
        call = {
            "jsonrpc": "2.0",
            "id": id,
            "method": "tools/call",
            "params": {"name": "invocation"},
        }
        answers.append(invoke(handler, kind, call, headers, path="/mcp/"))
    return answers


def test_fastapi_routes_and_warm_invocations() -> None:
    def work() -> tuple[list[str], list[Answer], Answer]:
        api, starts = make_api()
        handler = asgi_handler(api)
        answers = []
        for kind in KINDS:
            answers.extend(session_flow(handler, kind))
        hello = invoke(handler, "api-gateway-v1", method="GET", path="/hello")
        handler.close()
        return starts, answers, hello

    starts, answers, hello = on_one_thread(work)
    assert starts == ["started"]  # once, for every invocation
    assert [a.status for a in answers] == [200] * len(answers)
    calls = [a.last["result"]["structuredContent"] for a in answers if a.last.get("id") != 0]
    assert len(calls) == 2 * len(KINDS)
    assert all(call["cold_start"] is False for call in calls)  # the initialize was the cold one
    assert len({call["request_id"] for call in calls}) == len(calls)
    assert all(0 < call["time_left"] <= 30 for call in calls)  # the context caps the deadline
    assert hello.status == 200
    assert hello.json() == {"hello": "world", "state": "hello from the lifespan"}


def test_plain_mangum_breaks_on_warm_invocations() -> None:
    """Why ASGI mode handles the lifespan itself: Mangum's "auto" runs it per invocation."""

    def work() -> tuple[list[str], Answer, BaseException | None]:
        api, starts = make_api()
        handler = Mangum(api, lifespan="auto")
        cold = invoke(handler, "http-api-v2", INIT, JSON, path="/mcp/")
        try:
            invoke(handler, "http-api-v2", INIT, JSON, path="/mcp/")
        except LifespanFailure as exc:
            return starts, cold, exc
        return starts, cold, None

    starts, cold, failure = on_one_thread(work)
    assert cold.status == 200
    assert starts == ["started"]
    assert failure is not None  # the first warm invocation fails: a 502 behind API Gateway
    assert "starts once" in str(failure)
