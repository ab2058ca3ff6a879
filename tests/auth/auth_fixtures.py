"""The security tests' fixtures, shared by tests/auth and tests/security: a loopback
authorization server, and the secured app served in-process with the settings a test names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from auth_wire import RESOURCE, Wire
from authorization_server import AuthorizationServer, running_authorization_server
from secured_app import build_app

from cloudmcp.settings import Settings
from cloudmcp.state.memory import MemoryStore


@pytest.fixture(scope="session")
def authorization_server() -> Iterator[AuthorizationServer]:
    with running_authorization_server() as server:
        server.resource = RESOURCE
        yield server


@pytest.fixture
async def wire_for() -> AsyncIterator[Callable[[Settings], Wire]]:
    """`wire_for(settings)`: a client of a fresh secured app with those settings."""
    clients: list[httpx.AsyncClient] = []

    def make(settings: Settings) -> Wire:
        app = build_app(settings, MemoryStore())
        transport = httpx.ASGITransport(app=app.http_app())
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(client)
        return Wire(client)

    yield make
    for client in clients:
        await client.aclose()
