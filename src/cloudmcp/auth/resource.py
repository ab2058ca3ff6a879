"""The MCP endpoint as an OAuth protected resource: who may call it, with which scopes,
and where a client learns how to get a token (Protected Resource Metadata, RFC 9728)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from cloudmcp.auth.challenge import Challenge
from cloudmcp.auth.principal import Principal, ScopeHierarchy
from cloudmcp.auth.verifier import Verifier
from cloudmcp.errors import InvalidCredential, MCPError, VerifierUnavailable
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.errors import INVALID_REQUEST
from cloudmcp.protocol.transport import JSON, HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.app.registry import Registry
    from cloudmcp.server import Route

log = logging.getLogger("cloudmcp.auth")

WELL_KNOWN = "/.well-known/oauth-protected-resource"

#: Protected Resource Metadata is public and read by browser-based clients too.
_METADATA_HEADERS = [
    ("content-type", JSON),
    ("cache-control", "public, max-age=300"),
    ("access-control-allow-origin", "*"),
]


def canonical_resource(uri: str) -> str:
    """The canonical form of a resource URI (MCP §Canonical Server URI): absolute, no
    fragment, lower-case scheme and host, no trailing slash."""
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() not in ("https", "http") or not parts.netloc:
        raise ValueError(f"RESOURCE_URI must be an absolute http(s) URL, got {uri!r}")
    if parts.fragment:
        raise ValueError("RESOURCE_URI must not have a fragment")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def metadata_path(resource: str) -> str:
    """Where RFC 9728 §3.1 puts the metadata of `resource`: the well-known prefix, then
    the resource's path (`https://h/mcp` -> `/.well-known/oauth-protected-resource/mcp`)."""
    return WELL_KNOWN + urlsplit(resource).path.rstrip("/")


class ProtectedResource:
    """Authentication for the MCP endpoint (an `Authenticator` for `MCPApp`).

    Verifiers are tried in order (API keys, then OAuth tokens, say); the first to
    recognise the credential decides. The principal then needs `required_scopes`, plus
    whatever the tool, prompt or resource the request names asks for; short of them, the
    client gets 403 `insufficient_scope` with every scope needed, so it can step up once.
    """

    def __init__(
        self,
        *verifiers: Verifier,
        resource: str | None = None,
        required_scopes: Iterable[str] = (),
        scopes_supported: Iterable[str] | None = None,
        scope_implies: Iterable[str] = (),
    ) -> None:
        if not verifiers:
            raise ValueError("ProtectedResource needs at least one verifier")
        self.verifiers = verifiers
        self.authorization_servers = tuple(
            dict.fromkeys(s for v in verifiers for s in v.authorization_servers)
        )
        if self.authorization_servers and not resource:
            raise ValueError("OAuth needs RESOURCE_URI: the audience its tokens must name")
        self.resource = canonical_resource(resource) if resource else None
        self.required_scopes = tuple(required_scopes)
        self.scopes_supported = tuple(scopes_supported) if scopes_supported else None
        self.hierarchy = ScopeHierarchy(scope_implies)
        self.metadata_url: str | None = None
        if self.resource and self.authorization_servers:
            parts = urlsplit(self.resource)
            self.metadata_url = f"{parts.scheme}://{parts.netloc}{metadata_path(self.resource)}"
        self.challenge = Challenge(self.metadata_url, self.required_scopes)

    def routes(self, registry: Registry) -> dict[str, Route]:
        """The Protected Resource Metadata routes for a server offering `registry`: the root
        form and the path-suffixed one (both bypass authentication)."""
        if self.metadata_url is None or self.resource is None:
            return {}

        async def metadata_route(request: HttpRequest, responder: Responder) -> None:
            await self.metadata_route(registry, request, responder)

        return {WELL_KNOWN: metadata_route, metadata_path(self.resource): metadata_route}

    # authentication

    async def authenticate(self, request: HttpRequest) -> Principal:
        principal = await self._identify(request)
        principal = dataclasses.replace(principal, scopes=self.hierarchy.expand(principal.scopes))
        if principal.missing(self.required_scopes):
            raise self.challenge.insufficient_scope(self.required_scopes)
        return principal

    def authorize(self, principal: Any, scopes: tuple[str, ...]) -> None:
        """Check that `principal` holds what a tool, prompt or resource needs; the 403
        `insufficient_scope` challenge names every scope needed, so one step-up suffices."""
        missing = getattr(principal, "missing", None)
        if missing is not None and missing(scopes):
            raise self.challenge.insufficient_scope(scopes)

    async def _identify(self, request: HttpRequest) -> Principal:
        refused: InvalidCredential | None = None
        try:
            for verifier in self.verifiers:
                try:
                    principal = await verifier.verify(request)
                except InvalidCredential as exc:
                    refused = exc
                    continue
                if principal is not None:
                    return principal
        except VerifierUnavailable as exc:
            log.warning("cannot verify credentials: %s", exc)
            raise self.challenge.unavailable() from None
        except MCPError:
            raise
        except Exception:
            # A bug, not the caller's fault; its text stays out of the answer.
            log.exception("credential verification failed")
            raise self.challenge.unauthorized("invalid credentials") from None
        raise self.challenge.unauthorized(str(refused) if refused is not None else None)

    # Protected Resource Metadata

    def metadata(self, registry: Registry | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": list(self.authorization_servers),
            "bearer_methods_supported": ["header"],
        }
        scopes = self.scopes_supported
        if scopes is None:
            declared = _declared_scopes(registry) if registry is not None else []
            scopes = tuple(dict.fromkeys((*self.required_scopes, *declared)))
        if scopes:
            document["scopes_supported"] = list(scopes)
        if registry is not None:
            document["resource_name"] = registry.title or registry.name
        return document

    async def metadata_route(
        self, registry: Registry, request: HttpRequest, responder: Responder
    ) -> None:
        if request.method == "OPTIONS":  # a browser's preflight
            await responder.respond(
                204,
                [
                    ("access-control-allow-origin", "*"),
                    ("access-control-allow-methods", "GET, OPTIONS"),
                    ("access-control-allow-headers", "*"),
                    ("access-control-max-age", "86400"),
                ],
                b"",
            )
            return
        if request.method != "GET":
            raise MCPError(
                INVALID_REQUEST, "Method not allowed", status=405, headers={"allow": "GET, OPTIONS"}
            )
        await responder.respond(200, _METADATA_HEADERS, jsonrpc.encode(self.metadata(registry)))


def _declared_scopes(registry: Registry) -> list[str]:
    entries: list[Any] = [
        *registry.tools.values(),
        *registry.prompts.values(),
        *registry.resources.values(),
        *registry.templates,
    ]
    return sorted({s for e in entries for s in e.scopes})
