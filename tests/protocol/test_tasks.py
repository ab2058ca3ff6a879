"""The tasks extension in-process, through `cloudmcp.testing`: which calls become tasks,
the errors around them, questions inside a task, and who may see a task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cloudmcp import Context, MCPApp
from cloudmcp.auth.principal import Principal
from cloudmcp.errors import MCPError
from cloudmcp.protocol.call import parse
from cloudmcp.settings import Settings
from cloudmcp.testing import TestClient

TASKS = "io.modelcontextprotocol/tasks"
DECLARING = {"elicitation": {}, "extensions": {TASKS: {}}}


def make_app() -> MCPApp:
    app = MCPApp("tasks-app", settings=Settings.from_env({}))

    @app.tool(task="optional")
    async def double(n: int) -> int:
        return n * 2

    @app.tool(task="required")
    async def confirm(ctx: Context) -> str:
        answers = await ctx.ask(
            {
                "a": {"method": "elicitation/create", "params": {"message": "A?"}},
                "b": {"method": "elicitation/create", "params": {"message": "B?"}},
            }
        )
        await ctx.report_progress(1, 2, "both answered")
        return f"{answers['a']['action']} {answers['b']['action']}"

    @app.tool()
    async def plain() -> str:
        return "inline"

    return app


async def _until(client: TestClient, task_id: str, status: str) -> dict[str, Any]:
    for _ in range(200):
        found = await client.request("tasks/get", {"taskId": task_id})
        if found["status"] == status:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"task never reached {status}: {found}")


async def test_a_declaring_client_gets_a_task_and_polls_its_result() -> None:
    async with TestClient(make_app(), capabilities=DECLARING) as client:
        discovered = await client.discover()
        created = await client.request("tools/call", {"name": "double", "arguments": {"n": 21}})
        plain = await client.call_tool("plain")
        assert created["resultType"] == "task" and created["status"] == "working"
        assert {"result", "task", "inputRequests"}.isdisjoint(created)
        done = await _until(client, created["taskId"], "completed")
    assert discovered["capabilities"]["extensions"] == {TASKS: {}}
    assert "tasks" not in discovered["capabilities"]
    assert done["result"]["structuredContent"] == {"result": 42}
    assert done["resultType"] == "complete" and done["ttlMs"] > 0
    assert plain["content"][0]["text"] == "inline"  # forbidden: never a task


async def test_a_client_without_the_extension() -> None:
    async with TestClient(make_app()) as client:
        inline = await client.call_tool("double", {"n": 2})  # optional: runs in the request
        with pytest.raises(MCPError) as required:
            await client.call_tool("confirm")
        with pytest.raises(MCPError) as get:
            await client.request("tasks/get", {"taskId": "whatever"})
    assert inline["structuredContent"] == {"result": 4}
    for refused in (required.value, get.value):
        assert refused.code == -32021 and refused.status == 400
        assert refused.data == {"requiredCapabilities": {"extensions": {TASKS: {}}}}


async def test_questions_park_the_task_and_answers_resume_it() -> None:
    async with TestClient(make_app(), capabilities=DECLARING) as client:
        created = await client.request("tools/call", {"name": "confirm"})
        task_id = created["taskId"]
        parked = await _until(client, task_id, "input_required")
        assert set(parked["inputRequests"]) == {"a", "b"}
        ack = await client.request(
            "tasks/update", {"taskId": task_id, "inputResponses": {"a": {"action": "accept"}}}
        )
        partial = await client.request("tasks/get", {"taskId": task_id})
        await client.request(
            "tasks/update", {"taskId": task_id, "inputResponses": {"b": {"action": "decline"}}}
        )
        done = await _until(client, task_id, "completed")
    assert ack == {"resultType": "complete", "_meta": ack["_meta"]}
    assert partial["status"] == "input_required" and list(partial["inputRequests"]) == ["b"]
    assert done["result"]["content"][0]["text"] == "accept decline"
    assert done["statusMessage"] == "both answered"  # progress became the status


async def test_unknown_tasks_and_removed_methods() -> None:
    async with TestClient(make_app(), capabilities=DECLARING) as client:
        with pytest.raises(MCPError) as unknown:
            await client.request("tasks/cancel", {"taskId": "no-such-task"})
        with pytest.raises(MCPError) as listed:
            await client.request("tasks/list", {})
    assert unknown.value.code == -32602
    assert listed.value.code == -32601


async def test_legacy_sessions_never_get_tasks() -> None:
    async with TestClient(make_app(), era="legacy", answer=_accept) as client:
        result = await client.call_tool("confirm")  # required: still runs in the request
        with pytest.raises(MCPError) as get:
            await client.request("tasks/get", {"taskId": "x"})
        initialized = client.session_id
    assert result["content"][0]["text"] == "accept accept"
    assert get.value.code == -32601 and initialized


async def _accept(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept"}


async def test_another_principal_cannot_see_a_task() -> None:
    app = make_app()
    service = app.compose()
    tasks = service.engine.tasks
    owner, other = Principal(id="ada"), Principal(id="bob")
    message = {"id": 1, "method": "tools/call", "params": {"name": "double", "arguments": {}}}
    created = await tasks.create(parse(message, "stateless", app), owner, {}, DECLARING)
    get = {"id": 2, "method": "tasks/get", "params": {"taskId": created["taskId"]}}
    mine = await tasks.serve(parse(get, "stateless", app), owner)
    with pytest.raises(MCPError) as theirs:
        await tasks.serve(parse(get, "stateless", app), other)
    await service.close()
    assert mine["taskId"] == created["taskId"]
    assert theirs.value.code == -32602 and "not found" in theirs.value.message


async def test_bad_calls_make_no_task() -> None:
    async with TestClient(make_app(), capabilities=DECLARING) as client:
        with pytest.raises(MCPError) as bad_arguments:
            await client.request("tools/call", {"name": "double", "arguments": [1]})
        with pytest.raises(MCPError) as bad_update:
            created = await client.request("tools/call", {"name": "confirm"})
            await client.request(
                "tasks/update", {"taskId": created["taskId"], "inputResponses": ["x"]}
            )
    assert bad_arguments.value.code == -32602
    assert bad_update.value.code == -32602


async def test_a_key_names_one_question_for_the_task_lifetime() -> None:
    app = MCPApp("fickle", settings=Settings.from_env({}))
    runs: list[int] = []

    @app.tool(task="required")
    async def fickle(ctx: Context) -> str:
        runs.append(1)  # each run asks something else under the same key
        question = {"method": "elicitation/create", "params": {"message": f"run {len(runs)}"}}
        await ctx.ask({"q": question})
        return "answered"

    async with TestClient(app, capabilities=DECLARING) as client:
        created = await client.request("tools/call", {"name": "fickle"})
        await _until(client, created["taskId"], "input_required")
        await client.request(
            "tasks/update", {"taskId": created["taskId"], "inputResponses": {"q": {}}}
        )
        failed = await _until(client, created["taskId"], "failed")
    assert failed["error"]["code"] == -32603 and "'q'" in failed["error"]["message"]
    assert len(runs) == 2
