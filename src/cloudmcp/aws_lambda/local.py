"""AWS Lambda, imitated locally: HTTP events as each service sends them, a context object,
and the reading of a handler's response back into HTTP.

The event shapes follow the AWS documentation and what `sam local generate-event` makes
(API Gateway REST proxy, HTTP API payload 2.0, function URL, ALB); `cloudmcp lambda
invoke`, `cloudmcp lambda serve` and the tests build their events here.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

#: The event kinds `make_event` builds, by the name the CLI takes.
EVENT_KINDS = ("api-gateway-v1", "http-api-v2", "function-url", "alb", "alb-multi-value")

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
FUNCTION_NAME = "cloudmcp-local"


class LocalContext:
    """A stand-in for the Lambda context object, with the attributes the runtime gives it."""

    function_version = "$LATEST"
    log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name = "local"
    identity = None
    client_context = None

    def __init__(
        self, function_name: str = FUNCTION_NAME, memory_mb: int = 1024, timeout: float = 30.0
    ) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = str(memory_mb)  # a string, as the Python runtime has it
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _body(body: bytes, as_base64: bool) -> tuple[str, bool]:
    if as_base64:
        return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8"), False


def _query(query: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(query, keep_blank_values=True)


def make_event(
    kind: str,
    method: str = "POST",
    path: str = "/mcp",
    headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    body: bytes = b"",
    *,
    query: str = "",
    as_base64: bool = True,
    stage: str = "$default",
) -> dict[str, Any]:
    """An event of `kind` (one of `EVENT_KINDS`) carrying this HTTP request.

    `stage` names the API Gateway stage: REST APIs always have one (`$default` becomes
    `Prod`); an HTTP API's non-default stage prefixes `rawPath`, as AWS sends it.
    """
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    single = {name: values[-1] for name, values in multi.items()}
    host = single.get("host") or single.get("Host") or "localhost"
    agent = single.get("user-agent") or single.get("User-Agent") or "cloudmcp-local"
    now = time.time()
    request_id = str(uuid.uuid4())
    text, encoded = _body(body, as_base64)
    params = _query(query)

    if kind == "api-gateway-v1":
        rest_stage = "Prod" if stage == "$default" else stage
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": single,
            "multiValueHeaders": multi,
            "queryStringParameters": {k: v[-1] for k, v in params.items()} or None,
            "multiValueQueryStringParameters": params or None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "local",
                "resourceId": "local",
                "resourcePath": "/{proxy+}",
                "httpMethod": method,
                "path": f"/{rest_stage}{path}",
                "stage": rest_stage,
                "requestId": request_id,
                "requestTimeEpoch": int(now * 1000),
                "identity": {"sourceIp": "127.0.0.1", "userAgent": agent},
                "protocol": "HTTP/1.1",
                "domainName": host,
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    if kind in ("http-api-v2", "function-url"):
        lowered: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in pairs:
            key = name.lower()
            if key == "cookie":
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
            else:  # HTTP API joins repeated headers with commas
                lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
        url_id = "abcdefghijklmnopqrstuvwxyz012345"
        domain = (
            f"{url_id}.lambda-url.{REGION}.on.aws"
            if kind == "function-url"
            else f"local.execute-api.{REGION}.amazonaws.com"
        )
        raw_path = path if stage == "$default" or kind == "function-url" else f"/{stage}{path}"
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": lowered,
            "requestContext": {
                "accountId": ACCOUNT_ID if kind != "function-url" else "anonymous",
                "apiId": "local" if kind != "function-url" else url_id,
                "domainName": domain,
                "domainPrefix": domain.split(".", 1)[0],
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": agent,
                },
                "requestId": request_id,
                "routeKey": "$default",
                "stage": "$default" if kind == "function-url" else stage,
                "timeEpoch": int(now * 1000),
            },
            "body": text,
            "isBase64Encoded": encoded,
        }
        if cookies:
            event["cookies"] = cookies
        if params:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
        return event

    if kind in ("alb", "alb-multi-value"):
        event = {
            "requestContext": {
                "elb": {
                    "targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:"
                    "targetgroup/cloudmcp-local/0123456789abcdef"
                }
            },
            "httpMethod": method,
            "path": path,
            "body": text,
            "isBase64Encoded": encoded,
        }
        if kind == "alb-multi-value":
            event["multiValueHeaders"] = {
                name.lower(): values for name, values in _lower_keys(multi).items()
            }
            event["multiValueQueryStringParameters"] = params
        else:
            event["headers"] = {name.lower(): value for name, value in single.items()}
            event["queryStringParameters"] = {k: v[-1] for k, v in params.items()}
        return event

    raise ValueError(f"unknown event kind {kind!r}; one of {', '.join(EVENT_KINDS)}")


def _lower_keys(multi: Mapping[str, list[str]]) -> dict[str, list[str]]:
    lowered: dict[str, list[str]] = {}
    for name, values in multi.items():
        lowered.setdefault(name.lower(), []).extend(values)
    return lowered


def read_response(response: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of a handler's response, of any of the four shapes."""
    headers: list[tuple[str, str]] = []
    multi = response.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((name, str(value)) for value in values)
    taken = {name.lower() for name in multi}
    for name, value in (response.get("headers") or {}).items():
        if name.lower() not in taken:
            headers.append((name, str(value)))
    headers.extend(("set-cookie", cookie) for cookie in response.get("cookies") or ())
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
    return int(response.get("statusCode", 200)), headers, data
