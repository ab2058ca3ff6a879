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
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise UnsupportedEvent("isBase64Encoded is true but the body is not base64") from None
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _lower(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Single-value headers with lower-case names (names differing only in case merge)."""
    merged: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if value is None:
            continue
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else str(value)
    return merged


def _lower_multi(headers: Mapping[str, list[Any] | None]) -> dict[str, str]:
    """Multi-value headers as one value per lower-case name, joined as HTTP allows."""
    merged: dict[str, list[str]] = {}
    for name, values in headers.items():
        merged.setdefault(name.lower(), []).extend(str(v) for v in values or ())
    return {
        name: ("; " if name == "cookie" else ", ").join(values)
        for name, values in merged.items()
        if values
    }


def _address(source_ip: Any) -> str | None:
    """An address from `sourceIp` (SAM's sample events give it a `/32` suffix)."""
    return str(source_ip).split("/", 1)[0] or None if source_ip else None


def _grouped(headers: Headers) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


class LambdaEvent:
    """An HTTP request that reached Lambda through one AWS service."""

    #: The name `cloudmcp lambda invoke --event` and `serve --event` use for it.
    kind: ClassVar[str]

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.method = self._method().upper()
        self.headers = self._headers()
        self.body = _decode_body(event)
        self.path = self._path() or "/"
        #: The caller's IP address as the service saw it (None behind an ALB, which
        #: reports it only in X-Forwarded-For).
        self.client = self._client()

    @classmethod
    def matches(cls, event: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def _method(self) -> str:
        return str(self.event.get("httpMethod") or "GET")

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _path(self) -> str:
        return str(self.event.get("path") or "/")

    def _client(self) -> str | None:
        identity = (self.event.get("requestContext") or {}).get("identity") or {}
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
        context = event.get("requestContext") or {}
        return "httpMethod" in event and "elb" not in context

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
        return event.get("version") == "2.0" and "http" in (event.get("requestContext") or {})

    def _method(self) -> str:
        return str(self.event["requestContext"]["http"].get("method") or "GET")

    def _headers(self) -> dict[str, str]:
        headers = _lower(self.event.get("headers"))
        cookies = self.event.get("cookies")
        if cookies:
            headers["cookie"] = "; ".join(cookies)
        return headers

    def _client(self) -> str | None:
        return _address(self.event["requestContext"]["http"].get("sourceIp"))

    def _path(self) -> str:
        path = str(self.event.get("rawPath") or self.event["requestContext"]["http"]["path"])
        stage = (self.event.get("requestContext") or {}).get("stage")
        if stage and stage != "$default":
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
        domain = str((event.get("requestContext") or {}).get("domainName") or "")
        return super().matches(event) and ".lambda-url." in domain


class AlbEvent(LambdaEvent):
    """An Application Load Balancer target group.

    With multi-value headers enabled on the target group the event carries only
    `multiValueHeaders`, and the response must answer in kind.
    """

    kind = "alb"

    @classmethod
    def matches(cls, event: Mapping[str, Any]) -> bool:
        return "elb" in (event.get("requestContext") or {})

    @property
    def multi_value(self) -> bool:
        return "multiValueHeaders" in self.event

    def _client(self) -> str | None:
        return None

    def _headers(self) -> dict[str, str]:
        if self.multi_value:
            return _lower_multi(self.event.get("multiValueHeaders") or {})
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


def parse_event(event: Any) -> LambdaEvent:
    """The HTTP request in a Lambda event; `UnsupportedEvent` for anything else."""
    if isinstance(event, Mapping):
        for kind in EVENT_TYPES:
            if kind.matches(event):
                return kind(event)
    raise UnsupportedEvent(
        "not an HTTP event from API Gateway (REST or HTTP API), a function URL or an ALB"
    )
