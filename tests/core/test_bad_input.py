"""Bad input gets the spec's HTTP status and JSON-RPC error, never a stack trace, and the
server keeps serving. Every request goes to a real `cloudmcp serve` over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cloudmcp_serving import CONFORMANCE_FIXTURE, Served, serve
from wire import ACCEPT, Session, meta, modern, modern_headers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(CONFORMANCE_FIXTURE, tmp_path_factory.mktemp("bad") / "server.log")


@pytest.fixture
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
    # Whatever a test sent, the server is still up and answering.
    assert server.process.poll() is None
    assert "Traceback" not in server.log_tail(400)


def _error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["jsonrpc"] == "2.0"
    assert body["error"]["code"] == code, body
    assert "Traceback" not in response.text and 'File "' not in response.text
    error: dict[str, Any] = body["error"]
    return error


def _post(client: httpx.Client, url: str, content: bytes, **headers: str) -> httpx.Response:
    base = {"content-type": "application/json", "accept": ACCEPT}
    return client.post(url, content=content, headers={**base, **headers})


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"jsonrpc": "2.0", "id": 1,}', b"\xff\xfe"])
def test_malformed_json_is_a_parse_error(client: httpx.Client, server: Served, body: bytes) -> None:
    _error(_post(client, server.url, body), 400, -32700)


@pytest.mark.parametrize("body", [b"42", b'"tools/list"', b"null", b"true"])
def test_a_body_that_is_not_an_object_is_invalid(
    client: httpx.Client, server: Served, body: bytes
) -> None:
    _error(_post(client, server.url, body), 400, -32600)


def test_wrong_jsonrpc_version_is_invalid_and_keeps_the_id(
    client: httpx.Client, server: Served
) -> None:
    response = _post(client, server.url, b'{"jsonrpc": "1.0", "id": 7, "method": "ping"}')
    _error(response, 400, -32600)
    assert response.json()["id"] == 7


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        {"jsonrpc": "2.0", "id": [1], "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1, 2]},
        {"jsonrpc": "2.0", "id": 1},
    ],
)
def test_malformed_messages_are_invalid_requests(
    client: httpx.Client, server: Served, message: dict[str, Any]
) -> None:
    response = client.post(server.url, json=message, headers={"accept": ACCEPT})
    _error(response, 400, -32600)


def test_unknown_method_is_404_in_the_modern_era(client: httpx.Client, server: Served) -> None:
    error = _error(modern(client, server.url, "no/such/method"), 404, -32601)
    assert "no/such/method" in error["message"]


def test_unknown_method_in_a_legacy_session(client: httpx.Client, server: Served) -> None:
    session = Session(client, server.url)
    reply = session.call("no/such/method")
    assert reply["error"]["code"] == -32601


def test_wrong_argument_types_are_a_tool_error(client: httpx.Client, server: Served) -> None:
    response = modern(
        client, server.url, "tools/call", {"name": "test_sampling", "arguments": {"prompt": 12}}
    )
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert "prompt" in result["content"][0]["text"]


def test_arguments_that_are_not_an_object(client: httpx.Client, server: Served) -> None:
    response = modern(
        client, server.url, "tools/call", {"name": "test_simple_text", "arguments": [1]}
    )
    _error(response, 200, -32602)


def test_unknown_tool_is_invalid_params(client: httpx.Client, server: Served) -> None:
    response = modern(client, server.url, "tools/call", {"name": "nope", "arguments": {}})
    assert _error(response, 200, -32602)["data"] == {"name": "nope"}


def test_oversized_body_is_413(client: httpx.Client, server: Served) -> None:
    huge = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * (5 << 20) + b'"}}'
    _error(_post(client, server.url, huge), 413, -32600)


def test_foreign_origin_is_403(client: httpx.Client, server: Served) -> None:
    response = modern(client, server.url, "tools/list")
    assert response.status_code == 200
    response = _post(
        client,
        server.url,
        b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}',
        origin="http://evil.example.com",
    )
    _error(response, 403, -32600)


def test_foreign_host_is_421(client: httpx.Client, server: Served) -> None:
    response = _post(
        client,
        server.url,
        b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}',
        host="evil.example.com",
    )
    _error(response, 421, -32600)


def test_missing_session_is_400(client: httpx.Client, server: Served) -> None:
    response = client.post(
        server.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"accept": ACCEPT, "mcp-protocol-version": "2025-11-25"},
    )
    _error(response, 400, -32600)


def test_unknown_or_ended_session_is_404(client: httpx.Client, server: Served) -> None:
    session = Session(client, server.url)
    assert session.call("ping") == {"jsonrpc": "2.0", "id": 1, "result": {}}
    deleted = client.delete(server.url, headers=session.headers)
    assert deleted.status_code == 204
    after = session.post({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    _error(after, 404, -32600)
    made_up = session.post({"jsonrpc": "2.0", "id": 3, "method": "ping"}, **{"mcp-session-id": "x"})
    _error(made_up, 404, -32600)


def test_unsupported_protocol_version(client: httpx.Client, server: Served) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/list",
        "params": {"_meta": meta(**{"io.modelcontextprotocol/protocolVersion": "1999-01-01"})},
    }
    headers = {**modern_headers("tools/list"), "mcp-protocol-version": "1999-01-01"}
    error = _error(client.post(server.url, json=body, headers=headers), 400, -32022)
    assert error["data"]["requested"] == "1999-01-01"
    assert "2026-07-28" in error["data"]["supported"]


def test_headers_that_contradict_the_body(client: httpx.Client, server: Served) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta()}}
    headers = modern_headers("prompts/list")
    _error(client.post(server.url, json=body, headers=headers), 400, -32020)
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "test_header_param", "arguments": {"region": "eu"}, "_meta": meta()},
    }
    no_param = modern_headers("tools/call", "test_header_param")
    _error(client.post(server.url, json=call, headers=no_param), 400, -32020)
    wrong = {**no_param, "mcp-param-region": "us"}
    _error(client.post(server.url, json=call, headers=wrong), 400, -32020)
    right = {**no_param, "mcp-param-region": "=?base64?ZXU=?="}
    assert client.post(server.url, json=call, headers=right).json()["result"]["content"]


def test_missing_meta_is_invalid_params(client: httpx.Client, server: Served) -> None:
    body = {"jsonrpc": "2.0", "id": 4, "method": "server/discover", "params": {}}
    response = client.post(server.url, json=body, headers=modern_headers("server/discover"))
    assert _error(response, 400, -32602)
    assert response.json()["id"] == 4


def test_accept_that_nothing_satisfies_is_406(client: httpx.Client, server: Served) -> None:
    response = _post(
        client, server.url, b'{"jsonrpc":"2.0","id":1,"method":"ping"}', accept="text/html"
    )
    error = _error(response, 406, -32600)
    assert "Accept" in error["message"]


def test_json_only_client_gets_json(client: httpx.Client, server: Served) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "test_tool_with_progress",
            "arguments": {},
            "_meta": meta(progressToken="t"),
        },
    }
    headers = {
        **modern_headers("tools/call", "test_tool_with_progress"),
        "accept": "application/json",
    }
    response = client.post(server.url, json=body, headers=headers)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["result"]["resultType"] == "complete"


def test_wrong_content_type_is_415(client: httpx.Client, server: Served) -> None:
    response = _post(client, server.url, b"{}", **{"content-type": "text/plain"})
    _error(response, 415, -32600)


def test_get_and_delete_without_a_session_are_405(client: httpx.Client, server: Served) -> None:
    for method in ("GET", "DELETE", "PUT"):
        response = client.request(method, server.url, headers={"accept": ACCEPT})
        _error(response, 405, -32600)
        assert "POST" in response.headers["allow"]


def test_modern_requests_never_mint_sessions(client: httpx.Client, server: Served) -> None:
    response = modern(client, server.url, "tools/list")
    assert "mcp-session-id" not in response.headers
    stray = client.post(
        server.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta()}},
        headers={**modern_headers("tools/list"), "mcp-session-id": "whatever"},
    )
    assert stray.status_code == 200 and "mcp-session-id" not in stray.headers


def test_notifications_are_accepted_with_202(client: httpx.Client, server: Served) -> None:
    session = Session(client, server.url)
    response = session.post({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"})
    assert response.status_code == 202 and response.content == b""


def test_batches_only_on_2025_03_26(client: httpx.Client, server: Served) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "test_simple_text"}},
        {"jsonrpc": "2.0", "id": 3, "method": 4},
    ]
    old = Session(client, server.url, version="2025-03-26")
    answers = old.post(batch).json()
    assert [a.get("id") for a in answers] == [1, 2, None]
    assert answers[0]["result"] == {}
    assert answers[1]["result"]["content"][0]["text"].startswith("This is a simple text")
    assert answers[2]["error"]["code"] == -32600
    new = Session(client, server.url)
    _error(new.post(batch), 400, -32600)


def test_health_bypasses_host_checks(client: httpx.Client, server: Served) -> None:
    health = server.url.rsplit("/", 1)[0] + "/health"
    response = client.get(health, headers={"host": "evil.example.com"})
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
