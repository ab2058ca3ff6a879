"""OAuth access tokens with real keys: the ones that must pass, and every way one must fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from auth_wire import RESOURCE, Wire, challenge, oauth_settings
from authorization_server import AuthorizationServer, rsa_key
from cryptography.hazmat.primitives import serialization

METADATA_URL = "http://testserver/.well-known/oauth-protected-resource/mcp"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"


def hs256_with_public_key(server: AuthorizationServer) -> str:
    """The classic confusion attack: HMAC keyed with the issuer's public RSA key."""
    public_pem = (
        server.key("rsa-1")
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    head = unsigned({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, server.claims())
    signature = hmac.new(public_pem, head.encode(), hashlib.sha256).digest()
    return f"{head}.{b64url(signature)}"


def alg_none(server: AuthorizationServer) -> str:
    return unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, server.claims()) + "."


def tampered(server: AuthorizationServer) -> str:
    """A good token whose payload was edited to grant more."""
    head, _, signature = server.token().split(".")
    payload = b64url(json.dumps(server.claims(scope="tools:read admin", sub="root")).encode())
    return f"{head}.{payload}.{signature}"


def signed_by_stranger(server: AuthorizationServer, kid: str) -> str:
    """Signed by a key the issuer never published, under `kid`."""
    stranger = rsa_key(kid)
    return jwt.encode(server.claims(), stranger.private, algorithm="RS256", headers={"kid": kid})


now = int(time.time())

#: name -> (make token, the error_description the client should see)
BAD_TOKENS: dict[str, tuple[Callable[[AuthorizationServer], str], str]] = {
    "expired": (
        lambda s: s.token(exp=int(time.time()) - 3600, iat=now - 7200, nbf=now - 7200),
        "token expired",
    ),
    "not yet valid": (
        lambda s: s.token(nbf=int(time.time()) + 3600),
        "token not yet valid",
    ),
    "wrong iss": (
        lambda s: s.token(iss="https://evil.example"),
        "token from an untrusted issuer",
    ),
    "wrong aud": (
        lambda s: s.token(aud="https://other.example/mcp"),
        "token not issued for this resource",
    ),
    "no aud": (lambda s: s.token(aud=None), "token lacks a required claim"),
    "no exp": (lambda s: s.token(exp=None), "token lacks a required claim"),
    "alg none": (alg_none, "token algorithm not allowed"),
    "HS256 with the public key": (hs256_with_public_key, "token algorithm not allowed"),
    "unknown kid": (
        lambda s: signed_by_stranger(s, "rsa-unknown"),
        "token signed with an unknown key",
    ),
    "known kid, other key": (
        lambda s: signed_by_stranger(s, "rsa-1"),
        "token signature invalid",
    ),
    "tampered payload": (tampered, "token signature invalid"),
    "ES256 header on an RSA key": (
        lambda s: unsigned({"alg": "ES256", "kid": "rsa-1"}, s.claims()) + ".c2ln",
        "token signed with an unknown key",
    ),
    "RS256 header on an EC key": (
        lambda s: unsigned({"alg": "RS256", "kid": "ec-1"}, s.claims()) + ".c2ln",
        "token signed with an unknown key",
    ),
    "not a JWT": (lambda s: "not-a-jwt", "malformed token"),
    "no subject": (lambda s: s.token(sub=None, client_id=None), "token names no subject"),
}


def assert_refused(response: httpx.Response, token: str, description: str) -> None:
    assert response.status_code == 401, response.text
    params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["error_description"] == description
    assert params["resource_metadata"] == METADATA_URL
    assert params["scope"] == "tools:read"
    body = response.json()
    assert body["error"]["code"] == -31001
    assert token not in response.text and token not in str(response.headers)


@pytest.fixture
def wire(wire_for: Callable[..., Wire], authorization_server: AuthorizationServer) -> Wire:
    return wire_for(oauth_settings(authorization_server))


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ps-1"])
async def test_valid_tokens_pass_in_both_eras(
    wire: Wire, authorization_server: AuthorizationServer, kid: str
) -> None:
    token = authorization_server.token(kid)
    response = await wire.modern("tools/call", {"name": "whoami"}, token=token)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["structuredContent"] == {
        "id": "alice",
        "kind": "oauth",
        "scopes": ["tools:read"],
    }
    session = await wire.session(token=token)
    response = await wire.legacy(session, "tools/list", token=token)
    names = {t["name"] for t in response.json()["result"]["tools"]}
    assert "whoami" in names and "reset" not in names


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_tokens_get_401_with_a_challenge(
    wire: Wire, authorization_server: AuthorizationServer, case: str
) -> None:
    make, description = BAD_TOKENS[case]
    token = make(authorization_server)
    assert_refused(await wire.modern("tools/list", token=token), token, description)
    assert_refused(await wire.initialize(token=token), token, description)


async def test_no_token_gets_401_naming_the_metadata(wire: Wire) -> None:
    response = await wire.modern("tools/list")
    assert response.status_code == 401
    params = challenge(response)
    assert "error" not in params  # RFC 6750 §3.1: no error code when no credential was sent
    assert params == {"resource_metadata": METADATA_URL, "scope": "tools:read"}
    assert response.json()["error"] == {"code": -31001, "message": "Unauthorized"}


async def test_leeway_tolerates_small_clock_skew(
    wire: Wire, authorization_server: AuthorizationServer
) -> None:
    token = authorization_server.token(exp=int(time.time()) - 5)
    assert (await wire.modern("tools/list", token=token)).status_code == 200
    token = authorization_server.token(nbf=int(time.time()) + 5, iat=int(time.time()) + 5)
    assert (await wire.modern("tools/list", token=token)).status_code == 200


async def test_other_bearer_schemes_and_query_tokens_are_not_credentials(
    wire: Wire, authorization_server: AuthorizationServer
) -> None:
    token = authorization_server.token()
    for header in (f"Basic {token}", f"Token {token}", token):
        response = await wire.modern("tools/list", headers={"authorization": header})
        assert response.status_code == 401
    response = await wire.client.post(f"/mcp?access_token={token}", json={})
    assert response.status_code == 401


async def test_missing_required_scope_is_403_insufficient_scope(
    wire: Wire, authorization_server: AuthorizationServer
) -> None:
    token = authorization_server.token(scope="files:read")
    response = await wire.modern("tools/list", token=token)
    assert response.status_code == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "tools:read"
    assert params["resource_metadata"] == METADATA_URL
    assert response.json()["error"]["code"] == -31003


@pytest.mark.parametrize(
    ("method", "params", "needed"),
    [
        ("tools/call", {"name": "reset", "arguments": {}}, "tools:read admin"),
        ("tools/call", {"name": "read_file", "arguments": {"path": "x"}}, "tools:read files:read"),
        ("resources/read", {"uri": "file:///secret.txt"}, "tools:read files:read"),
        ("prompts/get", {"name": "audit"}, "tools:read admin"),
    ],
)
async def test_step_up_challenge_names_every_scope_the_operation_needs(
    wire: Wire,
    authorization_server: AuthorizationServer,
    method: str,
    params: dict[str, Any],
    needed: str,
) -> None:
    token = authorization_server.token(scope="tools:read")
    response = await wire.modern(method, params, token=token)
    assert response.status_code == 403, response.text
    assert challenge(response)["scope"] == needed
    assert challenge(response)["error"] == "insufficient_scope"
    session = await wire.session(token=token)
    response = await wire.legacy(session, method, params, token=token)
    assert response.status_code == 403
    assert challenge(response)["scope"] == needed
    # With the scopes, the same call goes through.
    token = authorization_server.token(scope=needed)
    response = await wire.modern(method, params, token=token)
    assert response.status_code == 200
    assert "error" not in response.json()


async def test_lists_show_only_what_the_caller_may_use(
    wire: Wire, authorization_server: AuthorizationServer
) -> None:
    basic = authorization_server.token(scope="tools:read")
    full = authorization_server.token(scope="tools:read files:read admin")
    for method, key, hidden in (
        ("tools/list", "tools", {"reset", "read_file"}),
        ("resources/list", "resources", {"secret"}),
        ("prompts/list", "prompts", {"audit"}),
    ):
        seen = {i["name"] for i in (await wire.modern(method, token=basic)).json()["result"][key]}
        assert not seen & hidden
        seen = {i["name"] for i in (await wire.modern(method, token=full)).json()["result"][key]}
        assert hidden <= seen


async def test_scope_hierarchy_lets_broad_scopes_imply_narrow_ones(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    settings = oauth_settings(
        authorization_server,
        scope_implies=("admin=files:read tools:read", "files:write=files:read"),
    )
    wire = wire_for(settings)
    token = authorization_server.token(scope="admin")
    response = await wire.modern(
        "tools/call", {"name": "read_file", "arguments": {"path": "a"}}, token=token
    )
    assert response.status_code == 200
    assert "isError" not in response.json()["result"]


async def test_scp_claim_lists_are_read_as_scopes(
    wire: Wire, authorization_server: AuthorizationServer
) -> None:
    token = authorization_server.token(scope=None, scp=["tools:read", "admin"])
    response = await wire.modern("tools/call", {"name": "reset", "arguments": {}}, token=token)
    assert response.status_code == 200


async def test_extra_audiences_are_accepted_only_when_configured(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    token = authorization_server.token(aud="api://cloudmcp")
    strict = wire_for(oauth_settings(authorization_server))
    assert (await strict.modern("tools/list", token=token)).status_code == 401
    lenient = wire_for(oauth_settings(authorization_server, oauth_audiences=("api://cloudmcp",)))
    assert (await lenient.modern("tools/list", token=token)).status_code == 200


async def test_resource_uri_is_compared_in_canonical_form(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    wire = wire_for(oauth_settings(authorization_server, resource_uri="HTTP://TestServer/mcp/"))
    token = authorization_server.token(aud=RESOURCE)
    assert (await wire.modern("tools/list", token=token)).status_code == 200
