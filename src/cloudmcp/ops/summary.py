"""An answered request as the operations sinks see it (`Answered`), and its kind,
described once in bounded terms for every metrics and log sink (`Summary`).

Labels come from what clients send (method names, tool names), so each is checked
against a closed set first: a client inventing methods must not invent time series.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

from cloudmcp.protocol.errors import MCPError
from cloudmcp.protocol.transport import SESSION_HEADER, HttpRequest, RequestInfo
from cloudmcp.protocol.versions import LEGACY, MODERN
from cloudmcp.server import normalize

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

#: Every request method of both eras; anything else is counted as "other".
MCP_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "server/discover",
        "subscriptions/listen",
        "logging/setLevel",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
        "prompts/list",
        "prompts/get",
        "completion/complete",
    }
)

#: Paths the operations layer serves itself: not MCP traffic, not access-logged when fine.
OPS_PATHS = frozenset({"/health", "/health/deep", "/ready", "/metrics"})

_CAUSES = {
    401: "unauthenticated",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    421: "misdirected_host",
    429: "rate_limited",
}

STATELESS, LEGACY_ERA, NO_ERA = "stateless", "legacy", "none"


class Answered(msgspec.Struct, gc=False):
    """What the sinks may know of one answered request once it is gone.

    Sinks record requests in batches; keeping the whole request (body, header dict)
    alive until then would cost more than the bookkeeping, so this keeps only what
    describes its kind and the few values that vary from call to call.
    """

    info: RequestInfo
    status: int
    http_method: str
    path: str
    session: str | None
    seconds: float
    #: When it was answered (`time.time()`).
    at: float
    #: Why the transport refused it (a 4xx before any method ran), found while the
    #: request was at hand.
    cause: str | None = None
    # For logs only (`detailed`):
    user_agent: str | None = None
    traceparent: str | None = None
    cloud_trace: str | None = None
    #: The platform's (Lambda's) or a proxy's (`X-Request-Id`) id for the request.
    request_id: str | None = None

    @classmethod
    def of(cls, request: HttpRequest, status: int, seconds: float, *, detailed: bool) -> Answered:
        """`detailed`: with the values only logs need (user agent, trace context, id)."""
        headers = request.headers
        session = headers.get(SESSION_HEADER)
        at = time.time()
        if not detailed:
            return cls(request.info, status, request.method, request.path, session, seconds, at)
        return cls(request.info, status, request.method, request.path, session, seconds, at,
                   None, headers.get("user-agent"), headers.get("traceparent"),
                   headers.get("x-cloud-trace-context"), _platform_request_id(request))  # fmt: skip


class Summary(msgspec.Struct, kw_only=True):
    """What metrics and logs say about every request of one kind: all but its duration,
    its id, and the headers that vary from call to call."""

    path: str
    http_method: str
    #: The JSON-RPC method, "other" for unknown ones, "HTTP GET" etc. for none.
    method: str
    #: The JSON-RPC method as sent (logs only).
    rpc_method: str | None
    #: The tool or prompt name or resource URI, as sent (logs only).
    name: str | None
    #: A registered tool's name for `tools/call` (a metrics label), else None.
    tool: str | None
    era: str
    version: str
    status: int
    #: ok | tool_error | error | rejected
    outcome: str
    #: Why the transport refused the request (a 4xx before any method ran).
    cause: str | None
    error: int | None
    #: Whether the request named a legacy session.
    in_session: bool

    @property
    def ops_route(self) -> bool:
        return self.path in OPS_PATHS


_ID_PREFIX = os.urandom(4).hex()
_ids = itertools.count(1)


def request_id(answered: Answered) -> str:
    """The id every line about this request carries: the platform's (Lambda's), a
    proxy's `X-Request-Id`, or ours (a random per-process prefix and a counter: unique,
    and no syscall per request)."""
    if answered.request_id is None:
        answered.request_id = f"{_ID_PREFIX}-{next(_ids)}"
    return answered.request_id


def _platform_request_id(request: HttpRequest) -> str | None:
    platform = request.platform
    if platform is not None:
        found = getattr(platform, "aws_request_id", None)
        if found is None and isinstance(platform, Mapping):
            found = platform.get("aws_request_id") or platform.get("requestId")
        if isinstance(found, str) and found:
            return found
    header = request.headers.get("x-request-id")
    return header[:128] if header else None


def rejection_cause(app: MCPApp, request: HttpRequest, status: int) -> str | None:
    """Why the transport refused a request, from its status and what the engine saw."""
    if status < 400 or status >= 500:
        return None
    info = request.info
    if status in _CAUSES:
        return _CAUSES[status]
    if status == 404:
        if info.method is not None:
            return None  # a method the 2026-07-28 era does not know: an answer, not a refusal
        return "unknown_session" if SESSION_HEADER in request.headers else "not_found"
    if status == 403:
        return "origin" if _origin_refused(app, request) else "forbidden"
    if status == 400 and info.method is None:
        return "bad_request"
    return None


def _origin_refused(app: MCPApp, request: HttpRequest) -> bool:
    """Whether a 403 came from the Origin check rather than authorization.

    Both answer 403 before any method runs; asking the engine's own check again is
    exact and costs nothing on the requests that pass.
    """
    if "origin" not in request.headers:
        return False
    try:
        app.engine._check_origin(request)
    except MCPError as exc:
        return exc.status == 403
    return False


def describe(app: MCPApp, answered: Answered) -> Summary:
    info = answered.info
    method = info.method
    http_method = answered.http_method
    status = answered.status
    if method is None:
        label = f"HTTP {http_method}" if http_method in ("GET", "POST", "DELETE") else "other"
    else:
        label = method if method in MCP_METHODS else "other"
    version = info.version or ""
    in_session = answered.session is not None
    if version == MODERN:
        era = STATELESS
    elif version in LEGACY or method == "initialize" or in_session:
        era = LEGACY_ERA
    else:
        era = NO_ERA
    tool = None
    if method == "tools/call":
        name = info.name
        tool = name if name is not None and name in app.tools else "(unknown)"
    cause = answered.cause
    if cause is not None:
        outcome = "rejected"
    elif info.error is not None or status >= 500:
        outcome = "error"
    elif info.tool_error:
        outcome = "tool_error"
    else:
        outcome = "ok"
    return Summary(
        path=normalize(answered.path),
        http_method=http_method,
        method=label,
        rpc_method=method,
        name=info.name,
        tool=tool,
        era=era,
        version=version,
        status=status,
        outcome=outcome,
        cause=cause,
        error=info.error,
        in_session=in_session,
    )
