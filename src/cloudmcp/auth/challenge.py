"""The answers a resource server gives when it refuses a request (RFC 6750 §3, RFC 9728 §5.1).

Every refusal is a JSON-RPC error with a fixed message and a `WWW-Authenticate`
challenge: `resource_metadata` tells an MCP client where to discover the authorization
server, `scope` what to ask it for. Messages never carry the credential, a claim value,
or a library's exception text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from cloudmcp.errors import MCPError

# Implementation-defined codes, beside -31000 (unavailable) and -31029 (rate limited):
# the last digits follow the HTTP status they travel with.
UNAUTHORIZED = -31001
FORBIDDEN = -31003

TokenError = Literal["invalid_request", "invalid_token", "insufficient_scope"]


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Challenge:
    """Builds the refusals of one protected resource."""

    def __init__(self, resource_metadata: str | None = None, scopes: Iterable[str] = ()) -> None:
        #: URL of the Protected Resource Metadata (None: API keys only, no OAuth to discover).
        self.resource_metadata = resource_metadata
        #: Scopes every request needs: the `scope` of a plain 401.
        self.scopes = tuple(scopes)

    def header(
        self,
        error: TokenError | None = None,
        description: str | None = None,
        scopes: Iterable[str] = (),
    ) -> str:
        params: list[str] = []
        if error is not None:
            params.append(f"error={_quoted(error)}")
        scope = " ".join(dict.fromkeys(scopes))
        if scope:
            params.append(f"scope={_quoted(scope)}")
        if self.resource_metadata:
            params.append(f"resource_metadata={_quoted(self.resource_metadata)}")
        if description is not None:
            params.append(f"error_description={_quoted(description)}")
        return "Bearer " + ", ".join(params) if params else "Bearer"

    def unauthorized(self, description: str | None = None) -> MCPError:
        """401. Without `description` the request carried no credential, so (RFC 6750 §3.1)
        the challenge names no error; with one, the credential was refused."""
        error: TokenError | None = "invalid_token" if description is not None else None
        return MCPError(
            UNAUTHORIZED,
            "Unauthorized" if description is None else f"Unauthorized: {description}",
            status=401,
            headers={"www-authenticate": self.header(error, description, self.scopes)},
        )

    def insufficient_scope(self, needed: Iterable[str]) -> MCPError:
        """403 with every scope the operation needs, so one step-up suffices (MCP §Scope
        Challenge Handling: one challenge, not one scope at a time)."""
        scopes = tuple(dict.fromkeys((*self.scopes, *needed)))
        return MCPError(
            FORBIDDEN,
            "Forbidden: insufficient scope",
            {"requiredScopes": list(scopes)},
            status=403,
            headers={
                "www-authenticate": self.header(
                    "insufficient_scope", "this operation needs more scopes", scopes
                )
            },
        )

    def unavailable(self) -> MCPError:
        """503: the authorization server could not be reached to check a token. Not a 401,
        which would send a client with a good token off to re-authorize."""
        return MCPError(
            -31000,
            "Service unavailable: cannot verify credentials right now",
            status=503,
            headers={"retry-after": "5"},
        )
