"""Event parsing and response shaping, on the shared sample events, events `sam local
generate-event` makes, and events built here."""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest
from lambda_calls import KINDS, ROOT, SHARED, TOOLS_LIST, decoded_body, shared_event

from cloudmcp.aws_lambda.events import (
    AlbEvent,
    ApiGatewayV1Event,
    ApiGatewayV2Event,
    FunctionUrlEvent,
    HttpResponse,
    UnsupportedEvent,
    parse_event,
)
from cloudmcp.aws_lambda.local import make_event, read_response

SAM = ROOT / ".tools" / "bin" / "sam"
EXPECTED = {
    "api-gateway-v1": ApiGatewayV1Event,
    "http-api-v2": ApiGatewayV2Event,
    "function-url": FunctionUrlEvent,
    "alb": AlbEvent,
    "alb-multi-value": AlbEvent,
}


@pytest.mark.parametrize("kind", sorted(SHARED))
def test_shared_events_parse(kind: str) -> None:
    event = shared_event(kind, **{"X-Mixed-Case": "yes"})
    parsed = parse_event(event)
    assert type(parsed) is EXPECTED[kind]
    assert parsed.kind == kind
    assert (parsed.method, parsed.path) == ("POST", "/mcp")
    assert json.loads(parsed.body) == TOOLS_LIST  # base64 decoded
    assert all(name == name.lower() for name in parsed.headers)
    assert parsed.headers["x-mixed-case"] == "yes"
    assert parsed.headers["content-type"] == "application/json"


def test_shared_v1_event_prefers_multi_value_headers() -> None:
    event = json.loads(SHARED["api-gateway-v1"].read_text())
    parsed = parse_event(event)
    # The sample's single-value Host differs from its multi-value one: the multi-value form
    # is the whole truth, so it wins.
    assert parsed.headers["host"] == "0123456789.execute-api.us-east-1.amazonaws.com"
    assert parsed.headers["x-forwarded-for"] == "127.0.0.1, 127.0.0.2"
    assert parsed.client == "127.0.0.1"


def test_shared_v2_event_cookies_and_client() -> None:
    parsed = parse_event(json.loads(SHARED["http-api-v2"].read_text()))
    assert parsed.headers["cookie"] == "cookie1; cookie2"
    assert parsed.headers["header2"] == "value1,value2"
    assert parsed.client == "192.168.0.1"


def test_alb_client_is_unknown() -> None:
    assert parse_event(json.loads(SHARED["alb"].read_text())).client is None


@pytest.mark.parametrize("kind", KINDS)
def test_generated_events_round_trip(kind: str) -> None:
    headers = [("Content-Type", "application/json"), ("Cookie", "a=1"), ("Cookie", "b=2")]
    event = make_event(kind, "POST", "/mcp/", headers, b'{"x":1}', as_base64=False)
    parsed = parse_event(event)
    assert type(parsed) is EXPECTED[kind]
    assert parsed.method == "POST"
    assert parsed.path == "/mcp/"
    assert parsed.body == b'{"x":1}'
    assert parsed.headers["content-type"] == "application/json"
    # Without multi-value headers an ALB passes on the last of repeated headers only.
    assert parsed.headers["cookie"] == ("b=2" if kind == "alb" else "a=1; b=2")


def test_http_api_named_stage_is_stripped() -> None:
    event = make_event("http-api-v2", "POST", "/mcp", {}, b"", stage="prod")
    assert event["rawPath"] == "/prod/mcp"
    assert parse_event(event).path == "/mcp"
    # $default has no prefix; a path merely starting with the stage's letters is left alone.
    assert parse_event(make_event("http-api-v2", path="/mcp", stage="$default")).path == "/mcp"
    assert parse_event(make_event("http-api-v2", path="/production/mcp")).path == "/production/mcp"


def test_rest_api_path_is_below_the_stage() -> None:
    event = make_event("api-gateway-v1", "POST", "/mcp", {}, b"")
    assert event["requestContext"]["path"] == "/Prod/mcp"
    assert parse_event(event).path == "/mcp"


def test_bad_base64_body_is_refused() -> None:
    event = make_event("http-api-v2", body=b"")
    event["body"], event["isBase64Encoded"] = "not base64!", True
    with pytest.raises(UnsupportedEvent):
        parse_event(event)


@pytest.mark.parametrize("event", [{}, {"foo": 1}, [], "GET /", {"Records": []}])
def test_unsupported_events(event: object) -> None:
    with pytest.raises(UnsupportedEvent):
        parse_event(event)


def _response() -> HttpResponse:
    return HttpResponse(
        200,
        [
            ("content-type", "application/json"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("mcp-session-id", "s1"),
        ],
        b'{"ok":true}',
    )


def test_v1_response_shape() -> None:
    shaped = parse_event(make_event("api-gateway-v1")).response(_response())
    assert set(shaped) == {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
    assert shaped["headers"] == {"content-type": "application/json", "mcp-session-id": "s1"}
    assert shaped["multiValueHeaders"]["set-cookie"] == ["a=1", "b=2"]
    assert (shaped["body"], shaped["isBase64Encoded"]) == ('{"ok":true}', False)


@pytest.mark.parametrize("kind", ["http-api-v2", "function-url"])
def test_v2_response_shape(kind: str) -> None:
    shaped = parse_event(make_event(kind)).response(_response())
    assert set(shaped) == {"statusCode", "headers", "cookies", "body", "isBase64Encoded"}
    assert shaped["cookies"] == ["a=1", "b=2"]
    assert "set-cookie" not in shaped["headers"]
    assert shaped["headers"]["mcp-session-id"] == "s1"


def test_alb_response_matches_the_request_header_mode() -> None:
    single = parse_event(make_event("alb")).response(_response())
    assert single["statusDescription"] == "200 OK"
    assert "multiValueHeaders" not in single
    assert single["headers"]["set-cookie"] == "a=1, b=2"
    multi = parse_event(make_event("alb-multi-value")).response(_response())
    assert "headers" not in multi
    assert multi["multiValueHeaders"]["set-cookie"] == ["a=1", "b=2"]
    teapot = parse_event(make_event("alb")).response(HttpResponse(418))
    assert teapot["statusDescription"] == "418 I'm a Teapot"


@pytest.mark.parametrize("kind", KINDS)
def test_binary_bodies_go_out_as_base64(kind: str) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00"
    shaped = parse_event(make_event(kind)).response(
        HttpResponse(200, [("content-type", "image/png")], png)
    )
    assert shaped["isBase64Encoded"] is True
    assert base64.b64decode(shaped["body"]) == png
    assert read_response(shaped)[2] == png
    text = parse_event(make_event(kind)).response(
        HttpResponse(200, [("content-type", "text/event-stream")], b"data: {}\n\n")
    )
    assert (text["body"], text["isBase64Encoded"]) == ("data: {}\n\n", False)


# Events made by the AWS SAM CLI (`sam local generate-event`, offline), for every kind it makes.
SAM_EVENTS = {
    "api-gateway-v1": ["apigateway", "aws-proxy"],
    "http-api-v2": ["apigateway", "http-api-proxy"],
    "alb": ["alb", "request"],
}


def sam_event(kind: str, body: str) -> dict[str, object]:
    args = [*SAM_EVENTS[kind], "--path", "mcp", "--body", body]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(
        [str(SAM), "local", "generate-event", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    event: dict[str, object] = json.loads(done.stdout)
    return event


@pytest.mark.parametrize("kind", sorted(SAM_EVENTS))
def test_sam_generated_events_parse(kind: str) -> None:
    body = json.dumps(TOOLS_LIST)
    event = sam_event(kind, body)
    parsed = parse_event(event)
    assert type(parsed) is EXPECTED[kind]
    assert parsed.method == "POST"
    assert parsed.path.rstrip("/").endswith("mcp")
    assert json.loads(parsed.body) == json.loads(decoded_body(event))  # type: ignore[arg-type]
