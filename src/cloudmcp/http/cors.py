"""CORS for browser clients, off unless `CORS_ALLOW_ORIGINS` names origins.

One policy for every edge: `cloudmcp serve` (Cloud Run) and the AWS Lambda handler answer
preflights and add the response headers from the same setting, so a browser client works
whichever cloud DNS failover sends it to. It only adds headers and answers preflights:
whether a cross-origin call is served is still the engine's `ALLOWED_ORIGINS` check.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from cloudmcp.protocol.transport import Headers

ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
#: Request headers an MCP client sends (the `Mcp-Param-*` ones are echoed from the preflight).
ALLOW_HEADERS = (
    "authorization, content-type, accept, last-event-id, mcp-session-id, "
    "mcp-protocol-version, mcp-method, mcp-name"
)
#: Response headers a browser client must be able to read.
EXPOSE_HEADERS = "mcp-session-id, mcp-protocol-version, www-authenticate"
MAX_AGE = "600"


class CorsPolicy:
    def __init__(self, origins: tuple[str, ...]) -> None:
        self.origins = origins
        self.any = "*" in origins

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def allowed(self, origin: str | None) -> str | None:
        """The `Access-Control-Allow-Origin` value for `origin`, or None."""
        if not self.origins or not origin:
            return None
        if self.any:
            return "*"
        if any(fnmatch.fnmatchcase(origin, pattern) for pattern in self.origins):
            return origin
        return None

    def _origin_headers(self, allowed: str) -> Headers:
        headers = [("access-control-allow-origin", allowed)]
        if allowed != "*":
            headers.append(("vary", "Origin"))
        return headers

    def preflight_headers(self, method: str, headers: Mapping[str, str]) -> Headers | None:
        """Headers of the 204 answering an OPTIONS request from an allowed origin; else None
        (the engine answers: 403 for a foreign origin, else 405)."""
        if method != "OPTIONS":
            return None
        allowed = self.allowed(headers.get("origin"))
        if allowed is None:
            return None
        requested = headers.get("access-control-request-headers")
        return [
            *self._origin_headers(allowed),
            ("access-control-allow-methods", ALLOW_METHODS),
            ("access-control-allow-headers", requested or ALLOW_HEADERS),
            ("access-control-max-age", MAX_AGE),
            ("allow", ALLOW_METHODS),
        ]

    def response_headers(self, headers: Mapping[str, str]) -> Headers:
        """Headers to add to the answer of a request from an allowed origin (else none)."""
        allowed = self.allowed(headers.get("origin"))
        if allowed is None:
            return []
        return [*self._origin_headers(allowed), ("access-control-expose-headers", EXPOSE_HEADERS)]
