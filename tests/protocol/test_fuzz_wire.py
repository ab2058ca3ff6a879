"""Generated hostile messages against the whole server in-process, with auth off and on,
on the memory store and on Redis: never a 5xx, never a logged traceback, every error a
JSON-RPC error object.

What found the defects of issue 21 is generated here: deep nesting, every JSON type in
every field, integers past 64 bits, response-shaped messages, batches on every
revision, and resume tokens no stream ever had.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps import make_app
from cloudmcp.settings import Settings
from cloudmcp.testing import TestClient, stateless_headers, stateless_meta

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
KEY = "fuzz-key-0123456789012345678901"
REVISIONS = ["2025-11-25", "2025-06-18", "2025-03-26"]
METHODS = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/read",
    "prompts/get",
    "completion/complete",
    "server/discover",
    "subscriptions/listen",
    "logging/setLevel",
    "resources/subscribe",
    "notifications/cancelled",
    "tasks/get",
    "nope",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)
ids = st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=4), st.none(), st.booleans(),
                st.lists(st.integers(), max_size=2))  # fmt: skip
field_names = st.sampled_from(
    ["name", "uri", "arguments", "requestId", "capabilities", "protocolVersion", "notifications",
     "requestState", "inputResponses", "level", "ref", "argument", "taskId", "_meta"]
)  # fmt: skip


@st.composite
def message(draw: st.DrawFn) -> Any:
    shape = draw(st.integers(0, 9))
    if shape == 0:  # nested far deeper than any real message
        depth = draw(st.integers(500, 4000))
        return json.loads("[" * depth + "]" * depth) if depth < 900 else None
    body: dict[str, Any] = {"jsonrpc": draw(st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2]))}
    if shape == 1:  # response-shaped, with whatever else
        body[draw(st.sampled_from(["result", "error"]))] = draw(json_values)
        if draw(st.booleans()):
            body["params"] = draw(json_values)
    else:
        body["method"] = draw(st.sampled_from(METHODS) | json_values)
        params = draw(st.dictionaries(field_names, json_values, max_size=4))
        if draw(st.booleans()):
            params["_meta"] = draw(st.sampled_from([stateless_meta(), {}, 5, None]))
        body["params"] = draw(st.sampled_from([params, params, params, [], "x", 7, None]))
    if draw(st.booleans()):
        body["id"] = draw(ids)
    if shape == 2:  # a batch of such messages
        return [body, draw(json_values), body]
    if shape == 3:
        return draw(json_values)
    return body


@pytest.fixture(params=["memory-open", "redis-api-key"])
async def clients(request: pytest.FixtureRequest) -> AsyncIterator[list[TestClient]]:
    """A stateless client and a legacy session per revision, of one app."""
    options: dict[str, Any] = {}
    headers: dict[str, str] = {}
    prefix = f"fuzz-{secrets.token_hex(4)}:"
    if request.param == "redis-api-key":
        from cloudmcp.state.redis import RedisStore

        options["store"] = RedisStore(REDIS_URL)
        options["settings"] = Settings(
            key_prefix=prefix, auth="api_key", api_keys=(f"{KEY}:fuzzer:read",)
        )
        headers = {"x-api-key": KEY}
    else:
        options["settings"] = Settings(key_prefix=prefix)
    app = make_app(**options)
    opened = [TestClient(app, headers=headers)]
    opened += [TestClient(app, era="legacy", version=v, headers=headers) for v in REVISIONS]
    for client in opened:
        await client.__aenter__()
    yield opened
    for client in reversed(opened):
        await client.__aexit__(None, None, None)


def check(status: int, body: bytes) -> None:
    assert status < 500, body[:300]
    if status >= 400 and body:
        error = json.loads(body)
        assert isinstance(error, dict) and isinstance(error["error"]["code"], int), body[:300]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_messages_never_get_a_5xx(
    clients: list[TestClient], data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    client = data.draw(st.sampled_from(clients))
    body = data.draw(message())
    raw = b"[" * 3000 + b"]" * 3000 if body is None else json.dumps(body).encode()
    if client.era == "stateless":
        method = body.get("method") if isinstance(body, dict) else None
        params = body.get("params") if isinstance(body, dict) else None
        method = method if isinstance(method, str) else "tools/call"
        headers = stateless_headers(method, params if isinstance(params, dict) else None)
    else:
        headers = {"accept": "application/json, text/event-stream", **client._session_headers()}
    with caplog.at_level(logging.ERROR, logger="cloudmcp"):
        response = await client.http("POST", raw, headers=headers)
    check(response.status, response.body)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize(
    "token",
    ["get.99999999999999999999999", "x.1-99999999999999999999999", "nope", "a.1", "get.-1"],
)
async def test_resume_tokens_no_stream_had_are_answered(
    clients: list[TestClient], token: str
) -> None:
    legacy = clients[1]
    legacy._service = legacy.app.compose()
    legacy._service.engine.begin_closing()  # streams end at once: the answer is whole
    headers = {**legacy._session_headers(), "accept": "text/event-stream", "last-event-id": token}
    response = await legacy.http("GET", headers=headers)
    check(response.status, response.body)
