"""`cloudmcp lambda invoke` and `cloudmcp lambda serve`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import mcp
import pytest
from cloudmcp_serving import cloudmcp_command
from lambda_calls import CONFORMANCE_FIXTURE, KINDS, ROOT, SHARED, lambda_serve
from mcp import types
from wire import ACCEPT, Session, modern

from cloudmcp.aws_lambda.local import read_response


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "CLOUDMCP_APP"}
    return subprocess.run(
        [*cloudmcp_command(), "lambda", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**environment, **(env or {})},
        check=False,
    )


def response_body(stdout: str) -> tuple[int, Any]:
    response = json.loads(stdout)
    status, _, body = read_response(response)
    return status, json.loads(body)


@pytest.mark.parametrize("kind", KINDS)
def test_invoke_each_kind(kind: str) -> None:
    done = run_cli("invoke", "--event", kind)
    assert done.returncode == 0, done.stderr
    status, body = response_body(done.stdout)
    assert status == 200
    assert "health_check" in {tool["name"] for tool in body["result"]["tools"]}


def test_invoke_a_tool_call_on_another_app() -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {
            "name": "test_simple_text",
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    # The version, method and name headers are derived from the body.
    done = run_cli(
        "invoke", "--event", "alb", "--body", json.dumps(body), "--target", str(CONFORMANCE_FIXTURE)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    response = json.loads(done.stdout)
    assert response["statusDescription"] == "200 OK"
    _, answer = response_body(done.stdout)
    assert answer["result"]["content"][0]["text"].startswith("This is a simple text")


def test_invoke_target_from_cloudmcp_app() -> None:
    done = run_cli("invoke", env={"CLOUDMCP_APP": str(CONFORMANCE_FIXTURE)})
    assert done.returncode == 0, done.stderr
    _, body = response_body(done.stdout)
    assert "test_simple_text" in {tool["name"] for tool in body["result"]["tools"]}


@pytest.mark.parametrize("kind", sorted(SHARED))
def test_invoke_a_saved_event(kind: str) -> None:
    # The shared events carry a legacy tools/list with no session: a 400, exit 1.
    done = run_cli("invoke", "--event", str(SHARED[kind]), "-H", "content-type: application/json")
    assert done.returncode == 1
    status, body = response_body(done.stdout)
    assert status == 400
    assert "Mcp-Session-Id" in body["error"]["message"]
    # With a 2026-07-28 body in place of the saved one, it is answered.
    modern_body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        },
    }
    done = run_cli("invoke", "--event", str(SHARED[kind]), "--body", json.dumps(modern_body))
    assert done.returncode == 0, done.stdout
    assert response_body(done.stdout)[0] == 200


def test_invoke_usage_errors() -> None:
    assert run_cli("invoke", "--event", "no-such-kind-or-file.json").returncode == 2
    assert run_cli("invoke", "--body", "{not json").returncode == 2
    assert run_cli("invoke", "-H", "no colon").returncode == 2
    assert run_cli("invoke", "--target", "no_such_module:app").returncode == 2


# serve


@pytest.fixture(scope="module", params=KINDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("lambda-serve") / "serve.log"
    yield from lambda_serve(CONFORMANCE_FIXTURE, request.param, log)


def test_serve_speaks_both_eras(served: str) -> None:
    with httpx.Client(timeout=15) as client:
        listed = modern(client, served, "tools/list")
        assert listed.status_code == 200
        assert "test_simple_text" in {t["name"] for t in listed.json()["result"]["tools"]}
        session = Session(client, served)
        called = session.call("tools/call", {"name": "test_simple_text"}, id=2)
        assert called["result"]["content"][0]["text"].startswith("This is a simple text")
        # No standalone stream on Lambda; the session still works after asking for one.
        assert client.get(served, headers=session.headers).status_code == 405
        assert session.call("ping", id=3)["result"] == {}
        # The localhost Host check is on, as for `cloudmcp serve` bound to 127.0.0.1.
        evil = client.post(
            served,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"host": "evil.example", "accept": ACCEPT},
        )
        assert evil.status_code == 421


def _text(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def _elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"name": "Ada"})


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_official_sdk_client_through_serve(served: str, mode: str) -> None:
    client = mcp.Client(
        served,
        mode=mode,  # type: ignore[arg-type]
        elicitation_callback=_elicit,
        read_timeout_seconds=15,
    )
    async with client:
        tools = await client.list_tools()
        assert "test_tool_with_progress" in {tool.name for tool in tools.tools}
        result = await client.call_tool("test_simple_text", {})
        assert _text(result) == "This is a simple text response for testing."
        progress: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        assert progress == [0, 50, 100]
        if mode == "2026-07-28":  # input from the client by MRTR, across invocations
            asked = await client.call_tool("test_input_required_result_elicitation", {})
            assert _text(asked) == "Hello, Ada!"
