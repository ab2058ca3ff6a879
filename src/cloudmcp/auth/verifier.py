"""What every way of proving identity has in common: read a credential, answer with a
`Principal`, or refuse it with a fixed reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from cloudmcp.auth.principal import Principal
from cloudmcp.errors import InvalidCredential, VerifierUnavailable
from cloudmcp.protocol.transport import HttpRequest

__all__ = ["InvalidCredential", "Verifier", "VerifierUnavailable", "bearer_token"]


class Verifier(Protocol):
    #: Issuers clients may get credentials from, for the Protected Resource Metadata
    #: (empty for API keys: there is no authorization server to discover).
    authorization_servers: tuple[str, ...]

    async def verify(self, request: HttpRequest) -> Principal | None:
        """The caller; None when the request has no credential of this kind; raises
        `InvalidCredential` or `VerifierUnavailable`."""
        ...


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer` header (RFC 6750 §2.1); None without one.

    Only the header: MCP forbids tokens in the query string, and a form body is JSON-RPC.
    """
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise InvalidCredential("malformed bearer token")
    return token
