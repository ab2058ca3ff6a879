"""The adapters in-process: detection by type, URI templates, the framework lifespan, and
the SDK v2 `MCPServer` (the `mcp` 2.x this project's own environment has) served through
cloudmcp's engine by `cloudmcp.testing`, in both eras. The other frameworks run in their
own environments (the `frameworks` tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from frameworks import FIXTURES
from mcp import types
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from cloudmcp.adapters import adapt, framework_of
from cloudmcp.adapters.entries import template_matcher
from cloudmcp.adapters.lifespan import FrameworkLifespan
from cloudmcp.errors import AppNotFound
from cloudmcp.loader import load_app
from cloudmcp.testing import TestClient

ERAS = ["stateless", "legacy"]


def python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_native_app_loads_without_the_adapters() -> None:
    loaded = python(
        "import sys; from cloudmcp.loader import load_app; load_app('cloudmcp.example:app');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'fastmcp')"
        " or m.startswith('cloudmcp.adapters')))"
    )
    assert loaded == "[]"


def test_a_framework_is_known_by_its_class_name_without_importing_it() -> None:
    found = python(
        "import sys; from cloudmcp.adapters import adapt, framework_of\n"
        "FastMCP = type('FastMCP', (), {'__module__': 'mcp.server.fastmcp.server'})\n"
        "class Mine(FastMCP): pass\n"
        "print(framework_of(Mine()), 'mcp' in sys.modules)"
    )
    assert found == "cloudmcp.adapters.sdk_v1 False"


def test_other_objects_are_no_framework() -> None:
    assert framework_of(object()) is None
    assert framework_of(load_app("cloudmcp.example:app")) is None


def test_an_object_of_no_framework_is_refused(tmp_path: Any) -> None:
    target = tmp_path / "server.py"
    target.write_text("mcp = object()\n")
    with pytest.raises(AppNotFound, match="is not an MCPApp"):
        load_app(f"{target}:mcp")


@pytest.mark.parametrize(
    ("template", "uri", "expected"),
    [
        ("users://{id}/profile", "users://42/profile", {"id": "42"}),
        ("users://{id}/profile", "users://4/2/profile", None),
        ("users://{id}/profile", "users://42/profile/x", None),
        ("files://{path*}", "files://a/b/c.txt", {"path": "a/b/c.txt"}),
        ("docs://{+path}", "docs://a/b", {"path": "a/b"}),
        ("search://items{?q,limit}", "search://items?q=x", {}),
        ("search://items{?q,limit}", "search://items", {}),
        ("weather://{city}/{day}", "weather://oslo/mon", {"city": "oslo", "day": "mon"}),
    ],
)
def test_uri_templates(template: str, uri: str, expected: dict[str, str] | None) -> None:
    assert template_matcher(template)(uri) == expected


async def test_the_framework_lifespan_is_entered_once_and_left_by_its_own_task() -> None:
    tasks: list[asyncio.Task[Any] | None] = []

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[dict[str, int]]:
        tasks.append(asyncio.current_task())
        yield {"entered": len(tasks)}
        tasks.append(asyncio.current_task())

    lifespan = FrameworkLifespan(opened)
    states = await asyncio.gather(*(lifespan.start() for _ in range(5)))
    assert states == [{"entered": 1}] * 5
    assert await lifespan.start() == {"entered": 1}
    await lifespan.stop()
    assert len(tasks) == 2 and tasks[0] is tasks[1] is not None
    assert tasks[0] is not asyncio.current_task()


async def test_a_failing_lifespan_fails_each_start() -> None:
    @contextlib.asynccontextmanager
    async def broken() -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    lifespan = FrameworkLifespan(broken)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="no database"):
            await lifespan.start()


def answer(method: str, params: dict[str, Any]) -> dict[str, Any]:
    if method == "elicitation/create":
        fields = params["requestedSchema"]["properties"]
        values = {"username": "ada", "email": "ada@x.io", "name": "Ada"}
        return {"action": "accept", "content": {k: values[k] for k in fields}}
    if method == "sampling/createMessage":
        asked = params["messages"][0]["content"]["text"]
        return {"role": "assistant", "model": "m", "content": {"type": "text", "text": asked}}
    if method == "roots/list":
        return {"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]}
    raise AssertionError(method)


def text(result: dict[str, Any]) -> str:
    return "".join(block["text"] for block in result["content"] if block["type"] == "text")


@pytest.fixture(scope="module")
def sdk_v2_app() -> Any:
    return load_app(f"{FIXTURES / 'sdk_v2_server.py'}:mcp")


@pytest.mark.parametrize("era", ERAS)
async def test_an_sdk_v2_app_in_process(sdk_v2_app: Any, era: str) -> None:
    assert sdk_v2_app.framework.startswith("mcp 2.")
    async with TestClient(sdk_v2_app, era=era, answer=answer) as client:  # type: ignore[arg-type]
        assert {"ship", "test_elicitation"} <= {t["name"] for t in await client.list_tools()}
        assert text(await client.call_tool("add", {"a": 1, "b": 2})) == "3"
        asked = await client.call_tool("test_input_required_result_elicitation")
        assert text(asked) == "Hello, Ada!"
        sampled = await client.call_tool("test_sampling", {"prompt": "hi"})
        assert text(sampled) == "LLM response: hi"
        assert text(await client.call_tool("client_roots")) == "file:///a, file:///b"
        invalid = await client.call_tool("add", {"a": "one"})
        assert invalid["isError"] is True
        (content,) = await client.read_resource("test://template/9/data")
        assert json.loads(content["text"])["id"] == "9"
        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "x", "arg2": "y"})
        assert prompt["messages"][0]["content"]["text"] == (
            "Prompt with arguments: arg1='x', arg2='y'"
        )
        ref = {"type": "ref/prompt", "name": "test_prompt_with_arguments"}
        assert (await client.complete(ref, "arg1", "pa"))["values"] == ["paris", "park", "party"]


async def test_an_sdk_v2_tool_that_asks_by_returning_input_required() -> None:
    """The SDK's own 2026-07-28 pattern: the tool returns an `InputRequiredResult` and
    reads `ctx.input_responses` when it runs again; cloudmcp carries it in both eras."""
    mcp = MCPServer("guard")

    @mcp.tool()
    async def greet(ctx: Context) -> types.CallToolResult | types.InputRequiredResult:
        answers = ctx.input_responses
        if not answers or "who" not in answers:
            ask = types.ElicitRequest(
                params=types.ElicitRequestFormParams(
                    message="Name?",
                    requested_schema={"type": "object", "properties": {"name": {"type": "string"}}},
                )
            )
            return types.InputRequiredResult(input_requests={"who": ask})
        name = answers["who"].content["name"]  # type: ignore[union-attr]
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"Hi {name}")])

    app = load_app_from(mcp)
    for era in ERAS:
        async with TestClient(app, era=era, answer=answer) as client:  # type: ignore[arg-type]
            assert text(await client.call_tool("greet")) == "Hi Ada"


def load_app_from(obj: Any) -> Any:
    return adapt(obj)


def test_what_is_not_served_is_named_at_load(caplog: pytest.LogCaptureFixture) -> None:
    mcp = MCPServer("routes")

    @mcp.custom_route("/hello", methods=["GET"])
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    with caplog.at_level(logging.WARNING, logger="cloudmcp"):
        load_app_from(mcp)
    (record,) = [r for r in caplog.records if "not served by cloudmcp" in r.getMessage()]
    assert "custom HTTP routes" in record.getMessage()
