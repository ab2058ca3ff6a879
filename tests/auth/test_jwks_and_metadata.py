"""The issuer's keys (fetched, cached, refreshed on rotation, rate limited), issuer
discovery, introspection of opaque tokens, and the Protected Resource Metadata."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable

import jwt
import pytest
from auth_wire import RESOURCE, Wire, challenge, oauth_settings
from authorization_server import AuthorizationServer, rsa_key

from cloudmcp.auth.fetch import check_url
from cloudmcp.auth.oauth import metadata_urls
from cloudmcp.settings import Settings


async def test_jwks_is_fetched_once_and_cached(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    wire = wire_for(oauth_settings(authorization_server))
    before = authorization_server.jwks_fetches
    for _ in range(5):
        token = authorization_server.token()
        assert (await wire.modern("tools/list", token=token)).status_code == 200
    assert authorization_server.jwks_fetches - before == 1


async def test_rotated_key_is_picked_up_and_unknown_kids_are_rate_limited(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    wire = wire_for(oauth_settings(authorization_server, oauth_jwks_refresh_interval=0.5))
    assert (await wire.modern("tools/list", token=authorization_server.token())).status_code == 200
    fetched = authorization_server.jwks_fetches

    # The issuer rotates: a new key signs, and the JWKS lists it.
    rotated = rsa_key(f"rsa-{secrets.token_hex(4)}")
    authorization_server.keys.append(rotated)
    try:
        await asyncio.sleep(0.6)
        token = authorization_server.token(rotated.kid)
        assert (await wire.modern("tools/list", token=token)).status_code == 200
        assert authorization_server.jwks_fetches == fetched + 1

        # A burst of made-up kids costs at most one more fetch per interval.
        stranger = rsa_key("made-up")
        await asyncio.sleep(0.6)
        for i in range(20):
            token = jwt.encode(
                authorization_server.claims(), stranger.private, "RS256", {"kid": f"made-up-{i}"}
            )
            assert (await wire.modern("tools/list", token=token)).status_code == 401
        assert authorization_server.jwks_fetches <= fetched + 2
    finally:
        authorization_server.keys.remove(rotated)
        authorization_server.unpublished.clear()


async def test_jwks_found_through_issuer_metadata(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    wire = wire_for(oauth_settings(authorization_server, oauth_jwks_url=""))
    token = authorization_server.token("ec-1")
    assert (await wire.modern("tools/list", token=token)).status_code == 200


def test_metadata_urls_follow_rfc_8414() -> None:
    assert metadata_urls("https://as.example") == [
        "https://as.example/.well-known/oauth-authorization-server",
        "https://as.example/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://as.example/tenant1") == [
        "https://as.example/.well-known/oauth-authorization-server/tenant1",
        "https://as.example/.well-known/openid-configuration/tenant1",
        "https://as.example/tenant1/.well-known/openid-configuration",
    ]


async def test_unreachable_issuer_is_503_not_401(wire_for: Callable[..., Wire]) -> None:
    """A good token must not send its client off to re-authorize because the issuer is down."""
    settings = Settings(
        auth="oauth",
        resource_uri=RESOURCE,
        oauth_issuer="http://127.0.0.1:9",
        oauth_jwks_url="http://127.0.0.1:9/jwks",
        oauth_http_timeout=0.5,
    )
    wire = wire_for(settings)
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhIn0.c2ln"
    started = time.monotonic()
    response = await wire.modern("tools/list", token=token)
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert time.monotonic() - started < 3


def test_only_https_or_loopback_urls() -> None:
    assert check_url("https://as.example/jwks", "X")
    assert check_url("http://127.0.0.1:8080/jwks", "X")
    for url in ("http://as.example/jwks", "file:///etc/passwd", "ftp://as.example", "jwks"):
        with pytest.raises(ValueError):
            check_url(url, "X")


@pytest.mark.parametrize("algorithms", [("HS256",), ("none",), ("RS256", "HS512"), ()])
def test_symmetric_or_empty_algorithm_lists_are_refused(
    authorization_server: AuthorizationServer, algorithms: tuple[str, ...]
) -> None:
    from cloudmcp.auth.configure import from_settings

    with pytest.raises(ValueError, match="OAUTH_ALGORITHMS"):
        from_settings(oauth_settings(authorization_server, oauth_algorithms=algorithms))


def test_misconfiguration_fails_at_start(authorization_server: AuthorizationServer) -> None:
    from cloudmcp.auth.configure import from_settings

    with pytest.raises(ValueError, match="RESOURCE_URI"):
        from_settings(Settings(auth="oauth", oauth_issuer=authorization_server.url))
    with pytest.raises(ValueError, match="OAUTH_ISSUER"):
        from_settings(Settings(auth="oauth", resource_uri=RESOURCE))
    with pytest.raises(ValueError, match="unknown mode"):
        from_settings(Settings(auth="saml"))
    with pytest.raises(ValueError, match="API_KEYS"):
        from_settings(Settings(auth="api_key"))
    assert from_settings(Settings(auth="none")) is None


# introspection (RFC 7662)


@pytest.fixture
def introspecting(wire_for: Callable[..., Wire], authorization_server: AuthorizationServer) -> Wire:
    return wire_for(
        oauth_settings(
            authorization_server,
            oauth_validation="auto",
            oauth_introspection_url=f"{authorization_server.url}/introspect",
            oauth_client_id="test-client",
            oauth_client_secret=authorization_server.client_secret,
        )
    )


def opaque(server: AuthorizationServer, **answer: object) -> str:
    token = secrets.token_urlsafe(32)
    server.opaque[token] = {
        "active": True,
        "sub": "bob",
        "iss": server.url,
        "aud": RESOURCE,
        "scope": "tools:read admin",
        "exp": int(time.time()) + 600,
        **answer,
    }
    return token


async def test_opaque_tokens_are_introspected_and_cached(
    introspecting: Wire, authorization_server: AuthorizationServer
) -> None:
    token = opaque(authorization_server)
    before = authorization_server.introspections
    for _ in range(3):
        response = await introspecting.modern("tools/call", {"name": "whoami"}, token=token)
        assert response.status_code == 200
    assert response.json()["result"]["structuredContent"]["id"] == "bob"
    assert authorization_server.introspections - before == 1
    # JWTs still go the JWT way in "auto".
    jwt_token = authorization_server.token()
    assert (await introspecting.modern("tools/list", token=jwt_token)).status_code == 200


@pytest.mark.parametrize(
    ("answer", "description"),
    [
        ({"active": False}, "token is not active"),
        ({"aud": "https://other.example/mcp"}, "token not issued for this resource"),
        ({"aud": None}, "token not issued for this resource"),
        ({"iss": "https://evil.example"}, "token from an untrusted issuer"),
        ({"exp": int(time.time()) - 3600}, "token expired"),
    ],
)
async def test_introspection_answers_that_must_fail(
    introspecting: Wire,
    authorization_server: AuthorizationServer,
    answer: dict[str, object],
    description: str,
) -> None:
    token = opaque(authorization_server, **answer)
    response = await introspecting.modern("tools/list", token=token)
    assert response.status_code == 401
    assert challenge(response)["error_description"] == description
    unknown = secrets.token_urlsafe(32)
    response = await introspecting.modern("tools/list", token=unknown)
    assert challenge(response)["error_description"] == "token is not active"


# Protected Resource Metadata (RFC 9728)


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
)
async def test_protected_resource_metadata(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer, path: str
) -> None:
    wire = wire_for(oauth_settings(authorization_server))
    response = await wire.client.get(path)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {
        "resource": RESOURCE,
        "authorization_servers": [authorization_server.url],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["tools:read", "admin", "files:read"],
        "resource_name": "Secured test server",
    }
    assert (await wire.client.options(path)).status_code == 204
    assert (await wire.client.post(path)).status_code == 405


async def test_metadata_scopes_can_be_configured(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    wire = wire_for(oauth_settings(authorization_server, scopes_supported=("tools:read",)))
    document = (await wire.client.get("/.well-known/oauth-protected-resource")).json()
    assert document["scopes_supported"] == ["tools:read"]


async def test_api_keys_alone_publish_no_oauth_metadata(wire_for: Callable[..., Wire]) -> None:
    wire = wire_for(Settings(auth="api_key", api_keys=("k" * 24,)))
    assert (await wire.client.get("/.well-known/oauth-protected-resource")).status_code == 404
    response = await wire.modern("tools/list")
    assert response.status_code == 401
    assert "resource_metadata" not in response.headers["www-authenticate"]


async def test_a_slow_issuer_is_503_for_every_caller_waiting_on_it(
    wire_for: Callable[..., Wire],
) -> None:
    """Callers queued behind a JWKS fetch that times out, with no keys cached, are told to
    retry (503), not that their token is bad (401)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def hold() -> None:  # accepts and never answers
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    settings = Settings(
        auth="oauth",
        resource_uri=RESOURCE,
        oauth_issuer=f"http://127.0.0.1:{port}",
        oauth_jwks_url=f"http://127.0.0.1:{port}/jwks",
        oauth_http_timeout=0.5,
    )
    wire = wire_for(settings)
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJhIn0.c2ln"
    try:
        answers = await asyncio.gather(*(wire.modern("tools/list", token=token) for _ in range(4)))
    finally:
        listener.close()
        for held in accepted:
            held.close()
    assert [a.status_code for a in answers] == [503] * 4


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/jwks",
        "https://192.168.1.1/jwks",
        "https://[fd00::1]/jwks",
        "https://127.0.0.2/jwks",
    ],
)
def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="OAUTH_JWKS_URL names an internal address"):
        check_url(url, "OAUTH_JWKS_URL")
    assert check_url("https://issuer.example/jwks", "OAUTH_JWKS_URL")
