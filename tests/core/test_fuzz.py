"""Thousands of generated bodies and headers against a real server: never a 5xx, never a
crash, and every error a JSON-RPC error object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cloudmcp_serving import CONFORMANCE_FIXTURE, Served, serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire import ACCEPT, meta

VERSIONS = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "1999-01-01", "", "x" * 50]
METHODS = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/read",
    "resources/list",
    "resources/templates/list",
    "prompts/get",
    "prompts/list",
    "completion/complete",
    "server/discover",
    "logging/setLevel",
    "resources/subscribe",
    "notifications/initialized",
    "notifications/cancelled",
    "nope",
]
PARAM_KEYS = [
    "name",
    "uri",
    "arguments",
    "level",
    "ref",
    "argument",
    "inputResponses",
    "requestState",
    "cursor",
]
TOOLS = ["test_simple_text", "test_error_handling", "test_sampling", "test_header_param", "nope"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def messages(draw: st.DrawFn) -> Any:
    method = draw(st.sampled_from(METHODS))
    keys = st.sampled_from(PARAM_KEYS)
    params: dict[str, Any] = draw(st.dictionaries(keys, json_values, max_size=4))
    if draw(st.booleans()):
        params["name"] = draw(st.sampled_from(TOOLS))
    if draw(st.booleans()):
        params["_meta"] = draw(st.sampled_from([meta(), {}, {"progressToken": "t"}, 5]))
    version = draw(st.sampled_from(["2.0", "2.0", "1.0", 2]))
    message: dict[str, Any] = {"jsonrpc": version, "method": method}
    if draw(st.booleans()):
        message["id"] = draw(
            st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans())
        )
    if draw(st.booleans()):
        message["params"] = draw(st.sampled_from([params, params, [], "x", None]))
    # Mostly single messages; sometimes a batch, sometimes any JSON at all.
    shape = draw(st.integers(0, 5))
    if shape == 4:
        return [message, message]
    if shape == 5:
        return draw(json_values)
    return message


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    content_types = ["application/json", "application/json; charset=utf-8", "text/plain", ""]
    accepts = [ACCEPT, "application/json", "text/event-stream", "text/html", "*/*", ""]
    chosen = {"content-type": draw(st.sampled_from(content_types))}
    chosen["accept"] = draw(st.sampled_from(accepts))
    if draw(st.booleans()):
        chosen["mcp-protocol-version"] = draw(st.sampled_from(VERSIONS))
    if draw(st.booleans()):
        chosen["mcp-method"] = draw(st.sampled_from(METHODS))
    if draw(st.booleans()):
        chosen["mcp-name"] = draw(st.sampled_from([*TOOLS, "=?base64?!!?=", "=?base64?dGVzdA==?="]))
    if draw(st.booleans()):
        chosen["mcp-session-id"] = draw(st.text(alphabet="abcXYZ019-_", max_size=30))
    if draw(st.booleans()):
        chosen["mcp-param-region"] = draw(st.text(alphabet="abc =?", max_size=12).map(str.strip))
    return chosen


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(CONFORMANCE_FIXTURE, tmp_path_factory.mktemp("fuzz") / "server.log")


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15) as client:
        yield client


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.content:
        body = response.json()
        assert body["jsonrpc"] == "2.0"
        assert isinstance(body["error"]["code"], int)
        assert "Traceback" not in response.text


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(message=messages(), chosen=headers())
def test_generated_json_requests(
    server: Served, client: httpx.Client, message: Any, chosen: dict[str, str]
) -> None:
    _check(client.post(server.url, content=json.dumps(message).encode(), headers=chosen))


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=300), chosen=headers())
def test_generated_raw_bodies(
    server: Served, client: httpx.Client, body: bytes, chosen: dict[str, str]
) -> None:
    _check(client.post(server.url, content=body, headers=chosen))


def test_server_survived(server: Served, client: httpx.Client) -> None:
    """Runs after the generated requests: the process is up and logged no crash."""
    assert server.process.poll() is None
    assert client.get(server.url.rsplit("/", 1)[0] + "/health").status_code == 200
    log = server.log_tail(100_000)
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]
