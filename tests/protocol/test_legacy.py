"""The handshake revisions in-process: sessions, server-to-client requests, batches."""

from __future__ import annotations

from typing import Any

import pytest

from apps import make_app
from cloudmcp.errors import MCPError
from cloudmcp.testing import TestClient


def answer_name(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"name": "Grace"}}


@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18", "2025-03-26"])
async def test_a_session_serves_every_feature(version: str) -> None:
    async with TestClient(make_app(), era="legacy", version=version) as client:
        assert client.session_id
        assert await client.ping() == {}
        added = await client.call_tool("add", {"a": 20, "b": 22})
        config = await client.read_resource("config://app")
        templates = await client.list_resource_templates()
    assert added["structuredContent"] == {"result": 42}
    assert "resultType" not in added  # a 2026-07-28 decoration only
    assert config[0]["text"] == '{"debug":false}'
    assert templates[0]["uriTemplate"] == "note://{name}"


async def test_an_ask_goes_out_on_the_stream_and_the_answer_comes_back() -> None:
    async with TestClient(make_app(), era="legacy", answer=answer_name) as client:
        result = await client.call_tool("ask_name")
    assert result["content"][0]["text"] == "hello Grace"


async def test_stateless_only_methods_are_unknown_in_a_session() -> None:
    async with TestClient(make_app(), era="legacy") as client:
        with pytest.raises(MCPError) as missing:
            await client.request("server/discover")
    assert (missing.value.code, missing.value.status) == (-32601, 200)


async def test_a_deleted_session_is_gone() -> None:
    async with TestClient(make_app(), era="legacy") as client:
        deleted = await client.http("DELETE", headers=client._session_headers())
        assert deleted.status == 204
        with pytest.raises(MCPError) as gone:
            await client.ping()
        client.session_id = None
    assert gone.value.status == 404


async def test_a_batch_counts_every_call_against_the_rate_limit() -> None:
    async with TestClient(make_app(), era="legacy", version="2025-03-26") as client:
        batch = [
            {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "limited"}}
            for n in range(5)
        ]
        response = await client.http("POST", batch, headers=client._session_headers())
    answers = response.json()
    assert [("result" in a) for a in answers] == [True, True, False, False, False]
    assert {a["error"]["code"] for a in answers[2:]} == {-31029}


async def test_a_cancellation_with_a_malformed_request_id_is_ignored() -> None:
    async with TestClient(make_app(), era="legacy") as client:
        for bad in ([1], {"x": 1}, None, 1.5):
            sent = await client.notify("notifications/cancelled", {"requestId": bad})
            assert sent.status == 202
        assert await client.ping() == {}
