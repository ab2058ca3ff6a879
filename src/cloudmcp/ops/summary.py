"""What metrics and logs say about a kind of request (`Summary`), described once in
bounded terms for every sink, and the id each request's lines carry.

Labels come from what clients send (method names, tool names), so each is checked
against a closed set first: a client inventing methods must not invent time series.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

from cloudmcp.errors import MCPError
from cloudmcp.protocol.transport import SESSION_HEADER, HttpRequest
from cloudmcp.protocol.versions import LEGACY, STATELESS
from cloudmcp.server import normalize

if TYPE_CHECKING:
    from cloudmcp.app.registry import Registry
    from cloudmcp.auth.hosts import HostPolicy

#: Every method a client may send in either era; anything else is counted as `_OTHER`
#: (the conventions' fallback value).
MCP_METHODS = frozenset(
    {
        "notifications/initialized",
        "notifications/cancelled",
        "notifications/progress",
        "notifications/roots/list_changed",
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
        "tasks/get",
        "tasks/update",
        "tasks/cancel",
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

STATELESS_ERA, LEGACY_ERA, NO_ERA = "stateless", "legacy", "none"

#: The label value for a method, tool, prompt or error code outside the closed sets.
OTHER = "_OTHER"

#: JSON-RPC's reserved codes and MCP's (-32800 cancelled): a bounded set of label values.
_RPC_CODES = range(-32899, -31999)


def error_type(code: int | None, tool_error: bool, status: int) -> str | None:
    """The conventions' `error.type`: the JSON-RPC error code, `tool_error` for a result
    with `isError`, the HTTP status of a failure with neither; None for success."""
    if code is not None:
        return str(code) if code in _RPC_CODES else OTHER
    if status >= 400:
        return str(status)
    if tool_error:
        return "tool_error"
    return None


class Summary(msgspec.Struct, kw_only=True):
    """What metrics and logs say about every request of one kind: all but its duration,
    its id, and the headers that vary from call to call."""

    path: str
    http_method: str
    #: The JSON-RPC method, `_OTHER` for unknown ones, "HTTP GET" etc. for none.
    method: str
    #: Whether it was an MCP operation (a JSON-RPC request or notification was read).
    operation: bool
    #: The JSON-RPC method as sent (logs only).
    rpc_method: str | None
    #: The tool or prompt name or resource URI, as sent (logs only).
    name: str | None
    #: A registered tool's name for `tools/call` (a metrics label; `_OTHER` for unknown
    #: names), else None; a prompt's likewise for `prompts/get`.
    tool: str | None
    prompt: str | None = None
    era: str
    version: str
    status: int
    #: ok | tool_error | error | rejected
    outcome: str
    #: Why the transport refused the request (a 4xx before any method ran).
    cause: str | None
    error: int | None
    #: The conventions' `error.type`, from a closed set (`error_type`).
    error_type: str | None = None
    #: Whether the request named a legacy session.
    in_session: bool

    @property
    def ops_route(self) -> bool:
        return self.path in OPS_PATHS


_ID_PREFIX = os.urandom(4).hex()
_ids = itertools.count(1)


def request_id(request: HttpRequest) -> str:
    """The id every line about this request carries (`request_id_from`), kept on it."""
    if request.id is None:
        request.id = request_id_from(request.platform, request.headers.get("x-request-id"))
    return request.id


def request_id_from(platform: object, forwarded: str | None) -> str:
    """The platform's request id (Lambda's, from its request context), a proxy's
    `X-Request-Id`, or ours (a random per-process prefix and a counter: unique, and no
    syscall per request)."""
    if platform is not None:
        found = getattr(platform, "aws_request_id", None)
        if found is None and isinstance(platform, Mapping):
            found = platform.get("aws_request_id") or platform.get("requestId")
        if isinstance(found, str) and found:
            return found
    if forwarded:
        return forwarded[:128]
    return f"{_ID_PREFIX}-{next(_ids)}"


def rejection_cause(hosts: HostPolicy, request: HttpRequest, status: int) -> str | None:
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
        return "origin" if _origin_refused(hosts, request) else "forbidden"
    if status == 400 and info.method is None:
        return "bad_request"
    return None


def _origin_refused(hosts: HostPolicy, request: HttpRequest) -> bool:
    """Whether a 403 came from the Origin check rather than authorization.

    Both answer 403 before any method runs; asking the server's own check again is
    exact and costs nothing on the requests that pass.
    """
    if "origin" not in request.headers:
        return False
    try:
        hosts.check(request)
    except MCPError as exc:
        return exc.status == 403
    return False


def describe(registry: Registry, request: HttpRequest, status: int, cause: str | None) -> Summary:
    """The kind of request `request` was, answered with `status`; `cause` from
    `rejection_cause`."""
    info = request.info
    method = info.method
    http_method = request.method
    if method is None:
        label = f"HTTP {http_method}" if http_method in ("GET", "POST", "DELETE") else "other"
    else:
        label = method if method in MCP_METHODS else OTHER
    version = info.version or ""
    in_session = SESSION_HEADER in request.headers
    if version == STATELESS:
        era = STATELESS_ERA
    elif version in LEGACY or method == "initialize" or in_session:
        era = LEGACY_ERA
    else:
        era = NO_ERA
    tool = prompt = None
    name = info.name
    if method == "tools/call":
        tool = name if name is not None and name in registry.tools else OTHER
    elif method == "prompts/get":
        prompt = name if name is not None and name in registry.prompts else OTHER
    if cause is not None:
        outcome = "rejected"
    elif info.error is not None or status >= 500:
        outcome = "error"
    elif info.tool_error:
        outcome = "tool_error"
    else:
        outcome = "ok"
    return Summary(
        path=normalize(request.path),
        http_method=http_method,
        method=label,
        operation=method is not None,
        rpc_method=method,
        name=info.name,
        tool=tool,
        prompt=prompt,
        era=era,
        version=version,
        status=status,
        outcome=outcome,
        cause=cause,
        error=info.error,
        error_type=error_type(info.error, info.tool_error, status),
        in_session=in_session,
    )
