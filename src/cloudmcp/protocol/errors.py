"""Protocol errors: JSON-RPC error codes, and the HTTP status each travels with."""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Reserved for the MCP specification (2026-07-28 §Error Codes).
HEADER_MISMATCH = -32020
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
UNSUPPORTED_PROTOCOL_VERSION = -32022
# Implementation-defined, outside the range the specification reserves.
SERVICE_UNAVAILABLE = -31000
RATE_LIMITED = -31029


class MCPError(Exception):
    """An error the client sees as a JSON-RPC error object, with its HTTP status.

    `status` is the HTTP status when this error is the whole answer to a POST; JSON-RPC
    errors of a well-formed request otherwise travel with 200 OK.
    """

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.status = status
        self.headers = headers or {}

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def parse_error(detail: str) -> MCPError:
    return MCPError(PARSE_ERROR, f"Parse error: {detail}", status=400)


def invalid_request(message: str, *, status: int = 400) -> MCPError:
    return MCPError(INVALID_REQUEST, f"Invalid request: {message}", status=status)


def method_not_found(method: str, *, status: int = 200) -> MCPError:
    return MCPError(METHOD_NOT_FOUND, f"Method not found: {method}", status=status)


def invalid_params(message: str, data: Any = None) -> MCPError:
    return MCPError(INVALID_PARAMS, f"Invalid params: {message}", data)


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
