"""Protocol errors: the JSON-RPC codes MCP uses, and every factory for them.

Each factory gives the `MCPError` a client sees for one situation, with the HTTP status
it travels with when it is the whole answer to a request.
"""

from __future__ import annotations

from typing import Any

from cloudmcp.errors import MCPError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Reserved for the MCP specification (2026-07-28 §Error Codes).
HEADER_MISMATCH = -32020
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
UNSUPPORTED_PROTOCOL_VERSION = -32022
# Outside the range JSON-RPC reserves; the client ignores answers to what it cancelled.
REQUEST_CANCELLED = -32800
# Implementation-defined, outside the range the specification reserves.
SERVICE_UNAVAILABLE = -31000
RATE_LIMITED = -31029

# JSON-RPC's own errors


def parse_error(detail: str) -> MCPError:
    return MCPError(PARSE_ERROR, f"Parse error: {detail}", status=400)


def invalid_request(message: str, *, status: int = 400) -> MCPError:
    return MCPError(INVALID_REQUEST, f"Invalid request: {message}", status=status)


def method_not_found(method: str, *, status: int = 200) -> MCPError:
    return MCPError(METHOD_NOT_FOUND, f"Method not found: {method}", status=status)


def invalid_params(message: str, data: Any = None, *, status: int = 200) -> MCPError:
    return MCPError(INVALID_PARAMS, f"Invalid params: {message}", data, status=status)


def internal_error(message: str = "Internal error", *, status: int = 200) -> MCPError:
    return MCPError(INTERNAL_ERROR, message, status=status)


# MCP's errors


def header_mismatch(message: str) -> MCPError:
    return MCPError(HEADER_MISMATCH, f"Header mismatch: {message}", status=400)


def missing_capability(*capabilities: str) -> MCPError:
    required: dict[str, dict[str, Any]] = {name: {} for name in capabilities}
    return MCPError(
        MISSING_REQUIRED_CLIENT_CAPABILITY,
        f"Missing required client capability: {', '.join(capabilities)}",
        {"requiredCapabilities": required},
        status=400,
    )


def unsupported_version(requested: str, supported: tuple[str, ...]) -> MCPError:
    return MCPError(
        UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        {"supported": list(supported), "requested": requested},
        status=400,
    )


def session_not_found() -> MCPError:
    return MCPError(INVALID_REQUEST, "Session not found: initialize a new session", status=404)


def request_cancelled() -> MCPError:
    return MCPError(REQUEST_CANCELLED, "Request cancelled")


def timed_out(seconds: float) -> MCPError:
    return MCPError(INTERNAL_ERROR, f"Request timed out after {seconds:.1f}s")


# the transport's refusals, before any method runs


def not_found(path: str) -> MCPError:
    return MCPError(INVALID_REQUEST, f"Not found: {path}", status=404)


def method_not_allowed(message: str) -> MCPError:
    return MCPError(
        INVALID_REQUEST,
        f"Method not allowed: {message}",
        status=405,
        headers={"allow": "GET, POST, DELETE"},
    )


def not_acceptable(message: str) -> MCPError:
    return MCPError(INVALID_REQUEST, f"Not Acceptable: {message}", status=406)


def too_large(limit: int) -> MCPError:
    return MCPError(INVALID_REQUEST, f"Request body larger than {limit} bytes", status=413)


def unsupported_media_type() -> MCPError:
    return MCPError(INVALID_REQUEST, "Content-Type must be application/json", status=415)


def forbidden(message: str) -> MCPError:
    return MCPError(INVALID_REQUEST, f"Forbidden: {message}", status=403)


def misdirected(message: str, status: int = 421) -> MCPError:
    return MCPError(INVALID_REQUEST, message, status=status)


def store_unavailable() -> MCPError:
    # 503 with Retry-After: clients and load balancers retry, and the state is intact.
    return MCPError(
        SERVICE_UNAVAILABLE,
        "Service unavailable: session state is unreachable; retry shortly",
        status=503,
        headers={"retry-after": "1"},
    )


def shutting_down() -> MCPError:
    # The call was cut off by the server's shutdown; another instance takes the retry.
    return MCPError(
        SERVICE_UNAVAILABLE,
        "Service unavailable: the server shut down before the call finished; retry",
        status=503,
        headers={"retry-after": "1"},
    )


def rate_limited(limit: str, scope: str, retry_after: float, retry_after_header: str) -> MCPError:
    return MCPError(
        RATE_LIMITED,
        f"Rate limit exceeded: {limit} per {scope}",
        {"limit": limit, "scope": scope, "retryAfter": round(retry_after, 3)},
        status=429,
        headers={"retry-after": retry_after_header},
    )


__all__ = [
    "HEADER_MISMATCH",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "MISSING_REQUIRED_CLIENT_CAPABILITY",
    "PARSE_ERROR",
    "RATE_LIMITED",
    "REQUEST_CANCELLED",
    "SERVICE_UNAVAILABLE",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "MCPError",
]
