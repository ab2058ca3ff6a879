"""CORS for browser clients, off unless `CORS_ALLOW_ORIGINS` names origins.

API Gateway HTTP APIs and function URLs can answer CORS themselves (their own CORS
configuration); this is for the REST API proxy and ALBs, which cannot, or for keeping
the policy beside the app. It only adds headers and answers preflights: whether a
cross-origin call is served is still the engine's `ALLOWED_ORIGINS` check.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from cloudmcp.aws_lambda.events import Headers, HttpResponse

ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
#: Request headers an MCP client sends (the `Mcp-Param-*` ones are echoed from the preflight).
ALLOW_HEADERS = (
    "authorization, content-type, accept, last-event-id, mcp-session-id, "
    "mcp-protocol-version, mcp-method, mcp-name"
)
#: Response headers a browser client must be able to read.
EXPOSE_HEADERS = "mcp-session-id, mcp-protocol-version, www-authenticate"
MAX_AGE = "600"


class Cors:
    def __init__(self, origins: tuple[str, ...]) -> None:
        self.origins = origins
        self.any = "*" in origins

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def _allowed(self, origin: str | None) -> str | None:
        """The `Access-Control-Allow-Origin` value for `origin`, or None."""
        if not self.origins or not origin:
            return None
        if self.any:
            return "*"
        if any(fnmatch.fnmatchcase(origin, pattern) for pattern in self.origins):
            return origin
        return None

    def _headers(self, allowed: str) -> Headers:
        headers = [("access-control-allow-origin", allowed)]
        if allowed != "*":
            headers.append(("vary", "Origin"))
        return headers

    def preflight(self, method: str, headers: Mapping[str, str]) -> HttpResponse | None:
        """The answer to an OPTIONS request from an allowed origin; None otherwise."""
        if method != "OPTIONS":
            return None
        allowed = self._allowed(headers.get("origin"))
        if allowed is None:
            return None  # the engine answers: 403 for a foreign origin, else 405
        requested = headers.get("access-control-request-headers")
        return HttpResponse(
            204,
            [
                *self._headers(allowed),
                ("access-control-allow-methods", ALLOW_METHODS),
                ("access-control-allow-headers", requested or ALLOW_HEADERS),
                ("access-control-max-age", MAX_AGE),
                ("allow", ALLOW_METHODS),
            ],
        )

    def decorate(self, headers: Mapping[str, str], response: HttpResponse) -> None:
        """Add the CORS response headers when the request came from an allowed origin."""
        allowed = self._allowed(headers.get("origin"))
        if allowed is not None:
            response.headers.extend(self._headers(allowed))
            response.headers.append(("access-control-expose-headers", EXPOSE_HEADERS))
