"""Malformed and hostile input, in-process: the protocol's own errors, never a 500,
and nothing stored that grows without bound."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from apps import make_app
from cloudmcp import MCPApp
from cloudmcp.errors import MCPError, RegistrationError
from cloudmcp.protocol.streams import parse_event_id
from cloudmcp.settings import Settings
from cloudmcp.state.memory import MemoryStore
from cloudmcp.testing import TestClient


class Opaque:
    """No JSON Schema for this."""


@dataclass
class Count:
    n: int


async def test_deep_nesting_is_a_bad_request_not_a_crash() -> None:
    async with TestClient(make_app()) as client:
        response = await client.http("POST", b"[" * 5000 + b"]" * 5000)
    assert response.status == 400
    assert response.json()["error"]["code"] == -32600


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc": "2.0", "id": 1, "result": {}, "params": 5}',
        b'{"jsonrpc": "2.0", "id": [1], "method": "tools/list"}',
        b'{"jsonrpc": "2.0", "id": 1, "method": 7}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": []}',
        b"[]",
        b"17",
        b'"text"',
    ],
)
async def test_malformed_messages_get_4xx(body: bytes) -> None:
    async with TestClient(make_app()) as client:
        response = await client.http("POST", body, headers={"accept": "application/json"})
    assert 400 <= response.status < 500, response.body
    assert "error" in response.json()


async def test_an_unstorable_or_huge_session_is_refused() -> None:
    async with TestClient(make_app()) as client:
        for capabilities in ({"x": 2**70}, {"x": "y" * 100_000}):
            message = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": capabilities,
                    "clientInfo": {"name": "c", "version": "1"},
                },
            }
            response = await client.http("POST", message, headers={"accept": "application/json"})
            assert response.json()["error"]["code"] == -32602
            assert "mcp-session-id" not in response.headers


@pytest.mark.parametrize(
    ("event_id", "parsed"),
    [
        ("abc.12-3", ("abc", "12-3")),
        ("get.7", ("get", "7")),
        ("get.99999999999999999999999", None),
        ("get.1-99999999999999999999999", None),
        ("get.-1", None),
        ("get.1e5", None),
        ("get.١٢", None),  # non-ASCII digits
        ("nodot", None),
    ],
)
def test_event_ids_no_log_could_make_are_refused(
    event_id: str, parsed: tuple[str, str] | None
) -> None:
    assert parse_event_id(event_id) == parsed


async def test_a_batch_stays_within_the_result_size_limit() -> None:
    app = make_app(settings=Settings(max_result_size=12_000))
    async with TestClient(app, era="legacy", version="2025-03-26") as client:
        batch = [
            {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "big"}}
            for n in range(5)
        ]
        response = await client.http("POST", batch, headers=client._session_headers())
    assert len(response.body) <= 12_000
    answers = response.json()
    assert [a["id"] for a in answers] == [0, 1, 2, 3, 4]
    assert "result" in answers[0] and "error" in answers[-1]


async def test_listening_to_too_many_resources_is_refused() -> None:
    async with TestClient(make_app()) as client:
        uris = [f"note://{n}" for n in range(101)]
        with pytest.raises(MCPError) as refused:
            await client.request(
                "subscriptions/listen", {"notifications": {"resourceSubscriptions": uris}}
            )
    assert refused.value.code == -32602


def test_a_name_registered_twice_is_refused() -> None:
    app = MCPApp("twice", store=MemoryStore())

    @app.tool()
    def same() -> str:
        return "1"

    with pytest.raises(RegistrationError, match="'same' is registered already"):

        @app.tool(name="same")
        def other() -> str:
            return "2"

    with pytest.raises(RegistrationError):
        app.resource("r://x")(lambda: "x")
        app.resource("r://x")(lambda: "y")


def test_an_unsupported_type_hint_names_the_tool_and_parameter() -> None:
    app = MCPApp("hints", store=MemoryStore())

    with pytest.raises(RegistrationError) as refused:

        @app.tool()
        def uses(thing: Opaque) -> str:
            return "x"

    message = str(refused.value)
    assert "uses" in message and "'thing'" in message and "\n" not in message


async def test_a_result_that_breaks_its_own_schema_is_a_tool_error() -> None:
    app = MCPApp("liar", store=MemoryStore())

    @app.tool()
    def count() -> Count:
        return {"n": "many"}  # type: ignore[return-value]

    async with TestClient(app) as client:
        result = await client.call_tool("count")
    assert result["isError"] is True
    assert "structuredContent" not in result


async def test_waiting_on_logs_nobody_writes_leaves_nothing_behind() -> None:
    store = MemoryStore()
    for n in range(500):
        assert await store.read({f"sse:unknown:{n}": "0"}, timeout=0.001) == []
    assert not store._logs  # nothing kept for tokens that name no stream
    await store.append("real", b"x", ttl=60, cap=10)
    assert await store.read({"real": "0"}, timeout=0.001)


async def test_a_foreign_request_state_names_state_keys() -> None:
    async with TestClient(make_app(), capabilities={"elicitation": {}}) as client:
        params = {"name": "confirm", "arguments": {}, "requestState": "a2V5.c2VhbGVk.Zm9yZ2Vk"}
        with pytest.raises(MCPError) as refused:
            await client.request("tools/call", params)
    assert refused.value.code == -32602 and "STATE_KEYS" in refused.value.message


async def test_with_auth_on_a_malformed_message_is_a_protocol_error() -> None:
    """The scope check reads the parsed call, after the message was validated: a valid
    credential with a non-string method or deep nesting gets 4xx, never a 500."""
    settings = Settings(auth="api_key", api_keys=("k-123456789012345678901234:ops:read",))
    app = make_app(settings=settings)

    @app.tool(scopes=["admin"])
    def guarded() -> str:
        return "x"

    key = {"x-api-key": "k-123456789012345678901234"}
    async with TestClient(app, headers=key) as client:
        for body in (
            b'{"jsonrpc": "2.0", "id": 1, "method": 5, "params": {"name": "guarded"}}',
            b"[" * 3000 + b"]" * 3000,
        ):
            response = await client.http("POST", body, headers={"accept": "application/json"})
            assert 400 <= response.status < 500, response.body
        with pytest.raises(MCPError) as refused:
            await client.call_tool("guarded")
    assert refused.value.status == 403
