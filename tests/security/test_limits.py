"""Limits and failures: timeouts, result size, bad arguments, and errors that tell a client
that something failed but never how."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from auth_wire import Wire
from secured_app import INTERNAL_DETAIL

from cloudmcp import MCPApp
from cloudmcp.settings import Settings
from cloudmcp.state.memory import MemoryStore

KEY = "limits-test-key-0123456789"


def settings(**overrides: Any) -> Settings:
    return Settings(auth="api_key", api_keys=(f"{KEY}:tester",), **overrides)


AUTH = {"x-api-key": KEY}


async def call(wire: Wire, name: str, arguments: dict[str, Any], era: str) -> httpx.Response:
    params = {"name": name, "arguments": arguments}
    if era == "modern":
        return await wire.modern("tools/call", params, headers=AUTH)
    session = await wire.session(headers=AUTH)
    return await wire.legacy(session, "tools/call", params, headers=AUTH)


ERAS = ["modern", "legacy"]


@pytest.mark.parametrize("era", ERAS)
async def test_per_tool_timeout(wire_for: Callable[..., Wire], era: str) -> None:
    wire = wire_for(settings())
    started = time.monotonic()
    response = await call(wire, "slow", {"seconds": 3}, era)
    assert time.monotonic() - started < 2
    error = response.json()["error"]
    assert error["code"] == -32603 and "timed out" in error["message"]
    response = await call(wire, "slow", {"seconds": 0.01}, era)
    assert response.json()["result"]["content"][0]["text"] == "done"


async def test_default_tool_timeout_applies_to_every_other_tool() -> None:
    app = MCPApp("t", settings=settings(tool_timeout=0.2), store=MemoryStore())

    @app.tool()
    async def wait(seconds: float) -> str:
        import asyncio

        await asyncio.sleep(seconds)
        return "waited"

    transport = httpx.ASGITransport(app=app.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        wire = Wire(client)
        response = await wire.modern(
            "tools/call", {"name": "wait", "arguments": {"seconds": 2}}, headers=AUTH
        )
        assert "timed out" in response.json()["error"]["message"]


@pytest.mark.parametrize("era", ERAS)
async def test_oversized_results_become_tool_errors(
    wire_for: Callable[..., Wire], era: str
) -> None:
    wire = wire_for(settings(max_result_size=64 * 1024))
    response = await call(wire, "big", {"size": 1_000_000}, era)
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert "larger than this server sends" in result["content"][0]["text"]
    assert len(response.content) < 4096
    response = await call(wire, "big", {"size": 1000}, era)
    assert "isError" not in response.json()["result"]


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize(
    "arguments", [{"a": "one", "b": 2}, {"a": 1}, {"a": 1, "b": 2.5}, {"a": [1], "b": {}}]
)
async def test_invalid_arguments_are_tool_errors(
    wire_for: Callable[..., Wire], era: str, arguments: dict[str, Any]
) -> None:
    """2025-11-25: input validation errors are tool results the model can correct from."""
    wire = wire_for(settings())
    response = await call(wire, "add", arguments, era)
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"].startswith("Invalid arguments for tool add")


@pytest.mark.parametrize("era", ERAS)
async def test_failures_carry_no_internal_detail(
    wire_for: Callable[..., Wire], era: str, caplog: pytest.LogCaptureFixture
) -> None:
    wire = wire_for(settings())
    with caplog.at_level(logging.ERROR):
        response = await call(wire, "boom", {}, era)
    result = response.json()["result"]
    assert result["isError"] is True
    assert result["content"] == [
        {"type": "text", "text": "Tool boom failed with an internal error"}
    ]
    assert INTERNAL_DETAIL not in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text
    # The detail is for the operator: it is in the server's log, with no credential.
    assert any(INTERNAL_DETAIL in (r.exc_text or "") for r in caplog.records)
    assert all(KEY not in r.getMessage() + (r.exc_text or "") for r in caplog.records)


async def test_failing_resources_and_prompts_answer_with_an_internal_error() -> None:
    app = MCPApp("t", settings=settings(), store=MemoryStore())

    @app.resource("file:///broken")
    def broken() -> str:
        raise RuntimeError(INTERNAL_DETAIL)

    @app.prompt()
    def broken_prompt() -> str:
        raise ValueError(INTERNAL_DETAIL)

    transport = httpx.ASGITransport(app=app.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        wire = Wire(client)
        for method, params in (
            ("resources/read", {"uri": "file:///broken"}),
            ("prompts/get", {"name": "broken_prompt"}),
        ):
            response = await wire.modern(method, params, headers=AUTH)
            assert response.status_code == 200
            body = response.json()
            assert body["id"] == 1 and body["error"]["code"] == -32603
            assert INTERNAL_DETAIL not in response.text


async def test_request_body_limit(wire_for: Callable[..., Wire]) -> None:
    wire = wire_for(settings(max_request_size=1024))
    response = await wire.modern("tools/call", {"name": "echo", "arguments": {"text": "x" * 4096}})
    assert response.status_code == 413
