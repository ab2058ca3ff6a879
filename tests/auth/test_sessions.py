"""A legacy session belongs to the principal that opened it, on every instance."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from auth_wire import Wire, oauth_settings
from authorization_server import AuthorizationServer
from secured_app import build_app

from cloudmcp.settings import Settings

REDIS_URL = os.environ.get("CLOUDMCP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def assert_bound_to_owner(
    first: Wire, second: Wire, owner: str, intruder: str, owner_again: str | None = None
) -> None:
    """`owner` opens a session on `first`; `intruder` cannot use it on either instance."""
    session = await first.session(token=owner)
    for wire in (first, second):
        for method, send in (
            ("POST", lambda w: w.legacy(session, "tools/list", token=intruder)),
            (
                "GET",
                lambda w: w.client.get(
                    "/mcp",
                    headers=w.legacy_headers(intruder, session, {"accept": "text/event-stream"}),
                ),
            ),
            (
                "DELETE",
                lambda w: w.client.delete(
                    "/mcp", headers=w.legacy_headers(intruder, session, None)
                ),
            ),
        ):
            response = await send(wire)
            # 404, as for a session that does not exist: nothing says it belongs to someone.
            assert response.status_code == 404, (method, response.text)
    response = await second.legacy(
        session, "tools/call", {"name": "whoami"}, token=owner_again or owner
    )
    assert response.status_code == 200
    assert response.json()["result"]["structuredContent"]["id"] == "alice"


async def test_session_bound_to_principal_in_memory(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    wire = wire_for(oauth_settings(authorization_server))
    alice = authorization_server.token(sub="alice")
    mallory = authorization_server.token(sub="mallory", scope="tools:read admin files:read")
    await assert_bound_to_owner(wire, wire, alice, mallory, authorization_server.token(sub="alice"))


async def test_unauthenticated_requests_cannot_reach_a_session(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    wire = wire_for(oauth_settings(authorization_server))
    session = await wire.session(token=authorization_server.token())
    response = await wire.legacy(session, "tools/list")
    assert response.status_code == 401


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


@asynccontextmanager
async def instance(settings: Settings) -> AsyncIterator[Wire]:
    app = build_app(settings)  # its own RedisStore, as a separate process would have
    transport = httpx.ASGITransport(app=app.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        try:
            yield Wire(client)
        finally:
            await app.compose().close()


async def test_session_bound_to_principal_across_instances_with_redis(
    authorization_server: AuthorizationServer,
) -> None:
    if not redis_available():
        pytest.fail(f"no Redis at {REDIS_URL}: run scripts/install-tools.sh to start it")
    prefix = f"cloudmcp-test-auth-{secrets.token_hex(6)}:"
    settings = oauth_settings(authorization_server, redis_url=REDIS_URL, key_prefix=prefix)
    alice = authorization_server.token(sub="alice")
    mallory = authorization_server.token(sub="mallory", scope="tools:read admin")
    try:
        async with instance(settings) as first, instance(settings) as second:
            await assert_bound_to_owner(first, second, alice, mallory)
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_an_api_key_principal_and_an_oauth_subject_of_one_name_are_two_owners() -> None:
    from cloudmcp.auth.principal import Principal
    from cloudmcp.protocol.transport import principal_id

    by_key, by_token = Principal("ops", kind="api_key"), Principal("ops", kind="oauth")
    assert principal_id(by_key) == "api_key:ops" and principal_id(by_token) == "oauth:ops"
    assert principal_id(None) is None and principal_id("plain") == "plain"
