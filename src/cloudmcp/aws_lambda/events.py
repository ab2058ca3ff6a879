"""The HTTP events AWS Lambda receives, and the response shape each service expects back.

- `ApiGatewayV1Event`: API Gateway REST API, proxy integration (payload format 1.0);
- `ApiGatewayV2Event`: API Gateway HTTP API (payload format 2.0);
- `FunctionUrlEvent`: a Lambda function URL (payload format 2.0, its own domain);
- `AlbEvent`: an Application Load Balancer target group, with or without multi-value headers.

Each turns its event into the method, lower-case headers, body bytes and path the engine
takes, and turns the engine's answer into the dictionary its service reads.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from cloudmcp.errors import UnsupportedEvent

Headers = list[tuple[str, str]]

#: Content types sent as text; anything else goes back base64-encoded.
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml")


class MalformedEvent(UnsupportedEvent):
    """An HTTP event whose fields are not what its service sends (a wrong type, a body
    that is not the base64 it claims): answered 400 in its service's response shape,
    never raised out of the handler, which the service would report as a 502."""

    def __init__(self, message: str, shape: LambdaEvent) -> None:
        super().__init__(message)
        self.shape = shape

    def response(self) -> dict[str, Any]:
        """The 400 answer, as a JSON-RPC error without an id (no message was read)."""
        body = msgspec.json.encode(
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32600, "message": f"Bad request: {self}"},
            }
        )
        return self.shape.response(HttpResponse(400, [("content-type", "application/json")], body))


class _Malformed(Exception):
    """A field that is not what it should be; becomes a `MalformedEvent`."""


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Malformed(f"{field} is not an object")
    return value


def _text(value: Any, field: str) -> str:
    """A scalar field as text (numbers and booleans as JSON writes them)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise _Malformed(f"{field} is not a string")


def _context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """`requestContext`, or nothing when it is missing or not an object (then the event
    matches no kind that needs one)."""
    context = event.get("requestContext")
    return context if isinstance(context, Mapping) else {}


class HttpResponse(msgspec.Struct):
    """A whole HTTP response, as the Lambda edge collects it before returning."""

    status: int
    headers: Headers = []
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return True  # empty bodies and plain errors
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        kind.startswith("text/")
        or kind in _TEXT_TYPES
        or kind.endswith("+json")
        or kind.endswith("+xml")
    )


def encode_body(response: HttpResponse) -> tuple[str, bool]:
    """(body, isBase64Encoded): text stays text; binary bodies travel as base64."""
    if not response.body:
        return "", False
    if _is_text(response.header("content-type")):
        try:
            return response.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(response.body).decode("ascii"), True


def _decode_body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if isinstance(body, bytes):
        return body
    if not isinstance(body, str):
        raise _Malformed("body is not a string")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise _Malformed("isBase64Encoded is true but the body is not base64") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
        raise _Malformed("the body is not valid Unicode") from None


def _lower(headers: Any) -> dict[str, str]:
    """Single-value headers with lower-case names (names differing only in case merge)."""
    merged: dict[str, str] = {}
    for name, value in _mapping(headers, "headers").items():
        if value is None:
            continue
        key = _text(name, "a header name").lower()
        text = _text(value, f"header {key!r}")
        merged[key] = f"{merged[key]}, {text}" if key in merged else text
    return merged


def _lower_multi(headers: Any) -> dict[str, str]:
    """Multi-value headers as one value per lower-case name, joined as HTTP allows."""
    merged: dict[str, list[str]] = {}
    for name, values in _mapping(headers, "multiValueHeaders").items():
        key = _text(name, "a header name").lower()
        if values is None:
            continue
        if not isinstance(values, list):
            raise _Malformed(f"multiValueHeaders {key!r} is not a list")
        merged.setdefault(key, []).extend(_text(v, f"header {key!r}") for v in values)
    return {
        name: ("; " if name == "cookie" else ", ").join(values)
        for name, values in merged.items()
        if values
    }


def _address(source_ip: Any) -> str | None:
    """An address from `sourceIp` (SAM's sample events give it a `/32` suffix)."""
    if not source_ip:
        return None
    return _text(source_ip, "sourceIp").split("/", 1)[0] or None


def _grouped(headers: Headers) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


class LambdaEvent:
    """An HTTP request that reached Lambda through one AWS service."""

    #: The name `cloudmcp lambda invoke --event` and `serve --event` use for it.
    kind: ClassVar[str]

    method: str
    headers: dict[str, str]
    body: bytes
    path: str
    #: The caller's IP address as the service saw it (None behind an ALB, which reports it
    #: only in X-Forwarded-For).
    client: str | None

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        try:
            self.method = self._method().upper()
            self.headers = self._headers()
            self.body = _decode_body(event)
            self.path = self._path() or "/"
            self.client = self._client()
        except _Malformed as exc:
            raise MalformedEvent(f"a malformed {self.kind} event: {exc}", self) from None

    @classmethod
    def matches(cls, event: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def _method(self) -> str:
        return _text(self.event.get("httpMethod") or "GET", "httpMethod")

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _path(self) -> str:
        return _text(self.event.get("path") or "/", "path")

    def _client(self) -> str | None:
        context = _mapping(self.event.get("requestContext"), "requestContext")
        identity = _mapping(context.get("identity"), "requestContext.identity")
        return _address(identity.get("sourceIp"))

    def response(self, response: HttpResponse) -> dict[str, Any]:
        """The dictionary the service turns into the HTTP response."""
        raise NotImplementedError


class ApiGatewayV1Event(LambdaEvent):
    """API Gateway REST API, Lambda proxy integration (payload format 1.0).

    `path` is the resource path below the stage; both `headers` and `multiValueHeaders`
    arrive, and the multi-value form keeps repeated headers whole.
    """

    kind = "api-gateway-v1"

    @classmethod
    def matches(cls, event: Mapping[str, Any]) -> bool:
        return "httpMethod" in event and "elb" not in _context(event)

    def _headers(self) -> dict[str, str]:
        multi = self.event.get("multiValueHeaders")
        return _lower_multi(multi) if multi else _lower(self.event.get("headers"))

    def response(self, response: HttpResponse) -> dict[str, Any]:
        body, is_base64 = encode_body(response)
        grouped = _grouped(response.headers)
        return {
            "statusCode": response.status,
            # One value per name here; every value in multiValueHeaders. API Gateway merges
            # the two and keeps a pair given in both once.
            "headers": {name: values[0] for name, values in grouped.items() if len(values) == 1},
            "multiValueHeaders": grouped,
            "body": body,
            "isBase64Encoded": is_base64,
        }


class ApiGatewayV2Event(LambdaEvent):
    """API Gateway HTTP API (payload format 2.0).

    Repeated headers arrive joined with commas, cookies in their own list; `rawPath`
    starts with the stage name unless the stage is `$default`.
    """

    kind = "http-api-v2"

    @classmethod
    def matches(cls, event: Mapping[str, Any]) -> bool:
        return event.get("version") == "2.0" and "http" in _context(event)

    @property
    def _http(self) -> Mapping[str, Any]:
        http = _context(self.event).get("http")
        if not isinstance(http, Mapping):  # the one part of a payload 2.0 event always there
            raise _Malformed("requestContext.http is not an object")
        return http

    def _method(self) -> str:
        return _text(self._http.get("method") or "GET", "requestContext.http.method")

    def _headers(self) -> dict[str, str]:
        headers = _lower(self.event.get("headers"))
        cookies = self.event.get("cookies")
        if cookies:
            if not isinstance(cookies, list):
                raise _Malformed("cookies is not a list")
            headers["cookie"] = "; ".join(_text(cookie, "a cookie") for cookie in cookies)
        return headers

    def _client(self) -> str | None:
        return _address(self._http.get("sourceIp"))

    def _path(self) -> str:
        path = _text(self.event.get("rawPath") or self._http.get("path") or "/", "rawPath")
        stage = _context(self.event).get("stage")
        if isinstance(stage, str) and stage and stage != "$default":
            prefix = f"/{stage}"
            if path == prefix or path.startswith(prefix + "/"):
                path = path[len(prefix) :]
        return path

    def response(self, response: HttpResponse) -> dict[str, Any]:
        body, is_base64 = encode_body(response)
        grouped = _grouped(response.headers)
        cookies = grouped.pop("set-cookie", [])
        return {
            "statusCode": response.status,
            "headers": {name: ",".join(values) for name, values in grouped.items()},
            "cookies": cookies,
            "body": body,
            "isBase64Encoded": is_base64,
        }


class FunctionUrlEvent(ApiGatewayV2Event):
    """A Lambda function URL: the HTTP API's payload 2.0 on a `lambda-url` domain."""

    kind = "function-url"

    @classmethod
    def matches(cls, event: Mapping[str, Any]) -> bool:
        domain = _context(event).get("domainName")
        return super().matches(event) and isinstance(domain, str) and ".lambda-url." in domain


class AlbEvent(LambdaEvent):
    """An Application Load Balancer target group.

    With multi-value headers enabled on the target group the event carries only
    `multiValueHeaders`, and the response must answer in kind.
    """

    kind = "alb"

    @classmethod
    def matches(cls, event: Mapping[str, Any]) -> bool:
        return "elb" in _context(event)

    @property
    def multi_value(self) -> bool:
        return "multiValueHeaders" in self.event

    def _client(self) -> str | None:
        return None

    def _headers(self) -> dict[str, str]:
        if self.multi_value:
            return _lower_multi(self.event.get("multiValueHeaders"))
        return _lower(self.event.get("headers"))

    def response(self, response: HttpResponse) -> dict[str, Any]:
        from http import HTTPStatus  # only ALB wants the reason phrase

        body, is_base64 = encode_body(response)
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        shaped: dict[str, Any] = {
            "statusCode": response.status,
            "statusDescription": f"{response.status} {phrase}".strip(),
            "body": body,
            "isBase64Encoded": is_base64,
        }
        grouped = _grouped(response.headers)
        if self.multi_value:
            shaped["multiValueHeaders"] = grouped
        else:  # one value per name: repeated headers are joined, as HTTP allows
            shaped["headers"] = {name: ", ".join(values) for name, values in grouped.items()}
        return shaped


#: Every event kind, most specific first: a function URL is also a payload 2.0 event.
EVENT_TYPES: tuple[type[LambdaEvent], ...] = (
    AlbEvent,
    FunctionUrlEvent,
    ApiGatewayV2Event,
    ApiGatewayV1Event,
)


#: Fields only HTTP events have: an event with any of them is not some other service's.
_HTTP_FIELDS = frozenset(
    {
        "httpMethod",
        "rawPath",
        "routeKey",
        "path",
        "headers",
        "multiValueHeaders",
        "cookies",
        "body",
        "isBase64Encoded",
        "rawQueryString",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "requestContext",
    }
)


def parse_event(event: Any) -> LambdaEvent:
    """The HTTP request in a Lambda event; `UnsupportedEvent` for anything else."""
    if isinstance(event, Mapping):
        for kind in EVENT_TYPES:
            if kind.matches(event):
                return kind(event)
        if not _HTTP_FIELDS.isdisjoint(event) or event.get("version") in ("1.0", "2.0"):
            # An HTTP event too broken to tell its kind: answered in the shape of the
            # payload version it claims.
            kind = ApiGatewayV2Event if event.get("version") == "2.0" else ApiGatewayV1Event
            shape = kind.__new__(kind)
            shape.event = event
            raise MalformedEvent("an HTTP event without a valid requestContext", shape)
    raise UnsupportedEvent(
        "not an HTTP event from API Gateway (REST or HTTP API), a function URL or an ALB"
    )
