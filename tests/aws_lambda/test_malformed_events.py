"""Malformed Lambda events: every HTTP event with a field of the wrong type, a body that
is not the base64 it claims, or parts missing gets an HTTP answer (400 in its service's
shape), never an exception out of the handler, which API Gateway would report as 502."""

from __future__ import annotations

import base64
import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lambda_calls import TOOLS_LIST, fresh_app
from wire import ACCEPT, STATELESS, meta

from cloudmcp.aws_lambda import lambda_handler
from cloudmcp.aws_lambda.direct import LambdaHandler
from cloudmcp.aws_lambda.local import EVENT_KINDS, LocalContext, make_event

BODY = json.dumps({**TOOLS_LIST, "params": {"_meta": meta()}}).encode()
HEADERS = {
    "content-type": "application/json",
    "accept": ACCEPT,
    "mcp-protocol-version": STATELESS,
    "mcp-method": "tools/list",
}


@pytest.fixture(scope="module")
def handler() -> Iterator[LambdaHandler]:
    made = lambda_handler(fresh_app())
    yield made
    made.close()


class Tracebacks(logging.Handler):
    """Every record logged with an exception attached: a crash the client did not see."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@pytest.fixture
def tracebacks() -> Iterator[Tracebacks]:
    seen = Tracebacks()
    root = logging.getLogger()
    root.addHandler(seen)
    try:
        yield seen
    finally:
        root.removeHandler(seen)


def answered(handler: LambdaHandler, event: Any) -> dict[str, Any]:
    response = handler(event, LocalContext())
    assert isinstance(response, dict) and isinstance(response["statusCode"], int), response
    assert response["statusCode"] < 500, response
    return response


HAND_MADE = {
    "http null": lambda e: e["requestContext"].__setitem__("http", None),
    "http a list": lambda e: e["requestContext"].__setitem__("http", []),
    "requestContext a string": lambda e: e.__setitem__("requestContext", "elb"),
    "headers a list": lambda e: e.__setitem__("headers", [["content-type", "x"]]),
    "header value an object": lambda e: e.__setitem__("headers", {"accept": {"a": 1}}),
    "header name a number": lambda e: e.__setitem__("headers", {1: "x"}),
    "base64 garbage": lambda e: e.update(body="%%%not base64", isBase64Encoded=True),
    "body a number": lambda e: e.update(body=10**9, isBase64Encoded=False),
    "body a list": lambda e: e.update(body=[1, 2], isBase64Encoded=False),
    "method a list": lambda e: e.update(httpMethod=["POST"]),
    "path an object": lambda e: e.update(path={"a": 1}, rawPath={"a": 1}),
    "cookies a string": lambda e: e.update(cookies="a=b"),
    "multi-value headers not lists": lambda e: e.update(multiValueHeaders={"accept": "x"}),
    "sourceIp a list": lambda e: e["requestContext"].setdefault("http", {}).update(sourceIp=[1]),
}


@pytest.mark.parametrize("kind", EVENT_KINDS)
@pytest.mark.parametrize("breakage", list(HAND_MADE))
def test_hand_made_malformed_events(
    handler: LambdaHandler, tracebacks: Tracebacks, kind: str, breakage: str
) -> None:
    event = make_event(kind, "POST", "/mcp", HEADERS, BODY)
    try:
        HAND_MADE[breakage](event)
    except (AttributeError, TypeError):
        pytest.skip(f"{breakage} does not apply to {kind} events")  # no requestContext.http
    answered(handler, event)  # 400 where the broken field is one the kind reads
    assert not tracebacks.records, tracebacks.records


def test_a_malformed_event_is_answered_400_in_its_shape(handler: LambdaHandler) -> None:
    event = make_event("alb-multi-value", "POST", "/mcp", HEADERS, BODY)
    event["body"], event["isBase64Encoded"] = "%%%", True
    response = answered(handler, event)
    assert response["statusCode"] == 400
    assert response["statusDescription"] == "400 Bad Request"
    assert response["multiValueHeaders"]["content-type"] == ["application/json"]
    error = json.loads(response["body"])["error"]
    assert error["code"] == -32600 and "not base64" in error["message"]
    event = make_event("http-api-v2", "POST", "/mcp", HEADERS, BODY)
    event["requestContext"]["http"] = None
    response = answered(handler, event)
    assert response["statusCode"] == 400 and set(response) >= {"cookies", "headers", "body"}


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


@st.composite
def malformed_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of some kind with one to three of its fields replaced by any JSON
    value or removed, or its body replaced by bytes that are not what it claims."""
    kind = draw(st.sampled_from(EVENT_KINDS))
    event = make_event(kind, "POST", "/mcp", HEADERS, BODY)
    for _ in range(draw(st.integers(1, 3))):
        paths = sorted(_paths(event), key=repr)
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        target: Any = event
        for step in parents:
            target = target[step]
        choice = draw(st.sampled_from(["replace", "remove", "body"]))
        if choice == "remove" and isinstance(target, dict):
            del target[last]
        elif choice == "body":
            raw = draw(st.binary(max_size=64))
            encoded = draw(st.booleans())
            event["body"] = base64.b64encode(raw).decode() if encoded else raw.hex() + "=!"
            event["isBase64Encoded"] = draw(st.booleans())
        else:
            target[last] = draw(JSON_VALUES)
    return event


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=malformed_events())
def test_generated_malformed_events_never_raise(
    handler: LambdaHandler, tracebacks: Tracebacks, event: dict[str, Any]
) -> None:
    answered(handler, copy.deepcopy(event))
    assert not tracebacks.records, [r.getMessage() for r in tracebacks.records]


@pytest.mark.parametrize("kind", EVENT_KINDS)
@pytest.mark.parametrize("breakage", list(HAND_MADE))
def test_asgi_mode_answers_malformed_events_too(kind: str, breakage: str) -> None:
    """Under Mangum (your own routes beside /mcp) the same events get the same answer."""
    from concurrent.futures import ThreadPoolExecutor

    from cloudmcp.aws_lambda import asgi_handler

    event = make_event(kind, "POST", "/mcp", HEADERS, BODY)
    try:
        HAND_MADE[breakage](event)
    except (AttributeError, TypeError):
        pytest.skip(f"{breakage} does not apply to {kind} events")

    def invoke() -> dict[str, Any]:
        handler = asgi_handler(fresh_app().http_app())
        try:
            return handler(event, LocalContext())
        finally:
            handler.close()

    with ThreadPoolExecutor(1) as thread:  # the handler sets the thread's event loop
        response = thread.submit(invoke).result()
    assert isinstance(response["statusCode"], int) and response["statusCode"] < 500, response
