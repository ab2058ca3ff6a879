"""Raw MCP requests for the security tests, in both protocol eras, over an in-process
ASGI transport; and the settings of a server guarded by the test authorization server."""

from __future__ import annotations

from typing import Any

import httpx
from authorization_server import AuthorizationServer

from cloudmcp.settings import Settings
from cloudmcp.testing import stateless_headers, stateless_meta

RESOURCE = "http://testserver/mcp"
STATELESS = "2026-07-28"
LEGACY = "2025-11-25"
ACCEPT = "application/json, text/event-stream"


def client_meta() -> dict[str, Any]:
    return stateless_meta(client={"name": "security-test", "version": "1"})


class Wire:
    """Raw MCP requests over an in-process ASGI transport."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def modern(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        params = {**(params or {}), "_meta": client_meta()}
        sent = stateless_headers(method, params)
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return await self.client.post("/mcp", json=body, headers=sent)

    def legacy_headers(
        self, token: str | None, session: str | None, headers: dict[str, str] | None
    ) -> dict[str, str]:
        sent = {"content-type": "application/json", "accept": ACCEPT}
        if session is not None:
            sent["mcp-session-id"] = session
            sent["mcp-protocol-version"] = LEGACY
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        return sent

    async def initialize(
        self, *, token: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": LEGACY,
                "capabilities": {},
                "clientInfo": {"name": "security-test", "version": "1"},
            },
        }
        return await self.client.post(
            "/mcp", json=body, headers=self.legacy_headers(token, None, headers)
        )

    async def session(self, *, token: str | None = None, **kw: Any) -> str:
        response = await self.initialize(token=token, **kw)
        assert response.status_code == 200, response.text
        session = response.headers["mcp-session-id"]
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        sent = self.legacy_headers(token, session, kw.get("headers"))
        assert (await self.client.post("/mcp", json=note, headers=sent)).status_code == 202
        return session

    async def legacy(
        self,
        session: str,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or {}}
        sent = self.legacy_headers(token, session, headers)
        return await self.client.post("/mcp", json=body, headers=sent)


def oauth_settings(server: AuthorizationServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "auth": "oauth",
        "resource_uri": RESOURCE,
        "oauth_issuer": server.url,
        "oauth_jwks_url": f"{server.url}/jwks",
        "required_scopes": ("tools:read",),
        **overrides,
    }
    return Settings(**values)


def challenge(response: httpx.Response) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer ...` challenge."""
    header = response.headers.get("www-authenticate", "")
    assert header.startswith("Bearer"), header
    params: dict[str, str] = {}
    for part in header[len("Bearer") :].split('", '):
        if "=" in part:
            key, _, value = part.strip().partition("=")
            params[key] = value.strip('"')
    return params
