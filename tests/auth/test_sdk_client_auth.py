"""The official Python SDK client (mcp 2.x) against `cloudmcp serve` with authentication
on: a bearer token, an API key, and the OAuth discovery an unauthenticated client starts
from - in both protocol eras."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import mcp
import pytest
from authorization_server import CLIENT_ID, AuthorizationServer
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.auth.utils import (
    build_protected_resource_metadata_discovery_urls,
    extract_resource_metadata_from_www_auth,
)
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken, ProtectedResourceMetadata

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from cloudmcp_serving import ROOT, cloudmcp_command, free_port

MODES = ["legacy", "2026-07-28"]
APP = Path(__file__).resolve().parent / "secured_app.py"
API_KEY = secrets.token_urlsafe(32)


@dataclass
class SecuredServer:
    url: str
    log: Path
    process: subprocess.Popen[bytes]


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cloudmcp serve exited:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"cloudmcp serve did not listen:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def served(
    authorization_server: AuthorizationServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecuredServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    env.update(
        AUTH="api_key,oauth",
        RESOURCE_URI=url,
        OAUTH_ISSUER=authorization_server.url,  # the JWKS is found through its metadata
        REQUIRED_SCOPES="tools:read",
        API_KEYS=f"{API_KEY}:sdk-service:tools:read",
        LOG_LEVEL="DEBUG",
    )
    log = tmp_path_factory.mktemp("sdk-auth") / "server.log"
    command = [*cloudmcp_command(), "serve", str(APP), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)
    try:
        wait_until_listening(process, port, log)
        yield SecuredServer(url, log, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def client(served: SecuredServer, mode: str, **http: Any) -> mcp.Client:
    http_client = httpx2.AsyncClient(timeout=httpx2.Timeout(15.0), **http)
    transport = streamable_http_client(served.url, http_client=http_client)
    return mcp.Client(transport, mode=mode, read_timeout_seconds=15)  # type: ignore[arg-type]


async def whoami(session: mcp.Client) -> dict[str, Any]:
    result = await session.call_tool("whoami", {})
    assert not result.is_error
    assert result.structured_content is not None
    return result.structured_content


@pytest.mark.parametrize("mode", MODES)
async def test_bearer_token(
    served: SecuredServer, authorization_server: AuthorizationServer, mode: str
) -> None:
    token = authorization_server.token(aud=served.url, sub="alice")
    async with client(served, mode, headers={"Authorization": f"Bearer {token}"}) as session:
        assert session.protocol_version == ("2025-11-25" if mode == "legacy" else mode)
        names = {t.name for t in (await session.list_tools()).tools}
        assert "whoami" in names and "reset" not in names
        assert await whoami(session) == {"id": "alice", "kind": "oauth", "scopes": ["tools:read"]}
        echoed = await session.call_tool("echo", {"text": "hi"})
        assert echoed.content[0].text == "hi"  # type: ignore[union-attr]
    assert token not in served.log.read_text(errors="replace")


@pytest.mark.parametrize("mode", MODES)
async def test_api_key(served: SecuredServer, mode: str) -> None:
    async with client(served, mode, headers={"X-API-Key": API_KEY}) as session:
        assert (await whoami(session))["id"] == "sdk-service"
    async with client(served, mode, headers={"Authorization": f"Bearer {API_KEY}"}) as session:
        assert (await whoami(session))["kind"] == "api_key"
    assert API_KEY not in served.log.read_text(errors="replace")


async def test_without_credentials_the_401_leads_to_the_metadata(
    served: SecuredServer, authorization_server: AuthorizationServer
) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            served.url,
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={"accept": "application/json, text/event-stream"},
        )
        assert response.status_code == 401
        found = extract_resource_metadata_from_www_auth(response)
        assert found is not None
        # The SDK tries the challenge's URL first, then the well-known ones: all work.
        for url in build_protected_resource_metadata_discovery_urls(found, served.url):
            document = ProtectedResourceMetadata.model_validate_json((await http.get(url)).content)
            assert str(document.resource).rstrip("/") == served.url
            assert [str(s).rstrip("/") for s in document.authorization_servers] == [
                authorization_server.url
            ]
            assert document.scopes_supported is not None
            assert "tools:read" in document.scopes_supported
    for mode in MODES:
        with pytest.raises(Exception):  # noqa: B017 - the SDK's error type differs per era
            async with client(served, mode) as session:
                await session.list_tools()


class MemoryTokens:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@pytest.mark.parametrize("mode", MODES)
async def test_sdk_discovers_authorizes_and_steps_up(
    served: SecuredServer, authorization_server: AuthorizationServer, mode: str
) -> None:
    """From nothing but the URL: 401 -> metadata -> issuer -> token -> call; then a 403
    insufficient_scope -> a token with more scopes -> the call goes through."""
    provider = ClientCredentialsOAuthProvider(
        server_url=served.url,
        storage=MemoryTokens(),
        client_id=CLIENT_ID,
        client_secret=authorization_server.client_secret,
        issuer=authorization_server.url,
    )
    requests_before = len(authorization_server.token_requests)
    async with client(served, mode, auth=provider) as session:
        assert (await whoami(session))["id"] == CLIENT_ID
        result = await session.call_tool("reset", {"confirm": True})
        assert not result.is_error
        assert result.content[0].text == "reset"  # type: ignore[union-attr]
    asked = [r.get("scope", "") for r in authorization_server.token_requests[requests_before:]]
    assert asked[0].split() == ["tools:read"]  # the 401's scope, least privilege first
    assert set(asked[-1].split()) >= {"tools:read", "admin"}  # the step-up keeps the old ones
    resources = {r.get("resource") for r in authorization_server.token_requests[requests_before:]}
    assert resources == {served.url}  # RFC 8707: every token named this server


def test_server_log_is_free_of_credentials(served: SecuredServer) -> None:
    time.sleep(0.2)
    text = served.log.read_text(errors="replace")
    assert API_KEY not in text
    assert "Bearer " not in text
