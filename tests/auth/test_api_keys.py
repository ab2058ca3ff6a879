"""API keys: hashed at rest, several at once, as a bearer token or in their own header."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from auth_wire import Wire, challenge, oauth_settings
from authorization_server import AuthorizationServer

from cloudmcp.auth.api_keys import ApiKey, ApiKeys, hash_api_key
from cloudmcp.auth.configure import from_settings
from cloudmcp.settings import Settings

OLD = secrets.token_urlsafe(32)
NEW = secrets.token_urlsafe(32)
SERVICE = secrets.token_urlsafe(32)


def key_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "auth": "api_key",
        "api_keys": (f"{OLD}:ci-bot:tools:read", f"{SERVICE}"),
        "api_key_hashes": (f"{hash_api_key(NEW)}:ci-bot:tools:read admin",),
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


async def whoami(wire: Wire, **headers: str) -> dict[str, object]:
    response = await wire.modern("tools/call", {"name": "whoami"}, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()["result"]["structuredContent"]
    return result


async def test_keys_work_as_bearer_or_in_their_header(wire_for: Callable[..., Wire]) -> None:
    wire = wire_for(key_settings())
    by_bearer = await whoami(wire, authorization=f"Bearer {OLD}")
    by_header = await whoami(wire, **{"x-api-key": OLD})
    assert by_bearer == by_header == {"id": "ci-bot", "kind": "api_key", "scopes": ["tools:read"]}
    # A hashed key maps to its principal and scopes; a bare key gets an id from its digest.
    assert (await whoami(wire, **{"x-api-key": NEW}))["scopes"] == ["admin", "tools:read"]
    anonymous = await whoami(wire, **{"x-api-key": SERVICE})
    assert anonymous["id"] == f"key-{hash_api_key(SERVICE)[:12]}"
    assert anonymous["scopes"] == []


async def test_unknown_or_missing_keys_get_401(wire_for: Callable[..., Wire]) -> None:
    wire = wire_for(key_settings())
    for headers in ({"x-api-key": "wrong-key-wrong-key"}, {"authorization": "Bearer nope"}):
        response = await wire.modern("tools/list", headers=headers)
        assert response.status_code == 401
        assert challenge(response)["error"] == "invalid_token"
        assert challenge(response)["error_description"] == "unknown API key"
        assert "wrong-key" not in response.text and "nope" not in response.text
    response = await wire.modern("tools/list")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_header_name_is_configurable(wire_for: Callable[..., Wire]) -> None:
    wire = wire_for(key_settings(api_key_header="X-Cloudmcp-Key"))
    assert (await whoami(wire, **{"x-cloudmcp-key": OLD}))["id"] == "ci-bot"
    response = await wire.modern("tools/list", headers={"x-api-key": OLD})
    assert response.status_code == 401


async def test_rotation_keeps_sessions_of_the_same_principal(
    wire_for: Callable[..., Wire],
) -> None:
    """Old and new key of one principal: a session opened with one serves the other."""
    wire = wire_for(key_settings())
    session = await wire.session(headers={"x-api-key": OLD})
    response = await wire.legacy(session, "tools/list", headers={"x-api-key": NEW})
    assert response.status_code == 200
    response = await wire.legacy(session, "tools/list", headers={"x-api-key": SERVICE})
    assert response.status_code == 404


async def test_keys_from_a_mounted_secret_file(
    wire_for: Callable[..., Wire], tmp_path: Path
) -> None:
    secret = tmp_path / "api-keys"
    secret.write_text(f"# rotated 2026-01-01\n{NEW}:deployer:tools:read\n\n")
    wire = wire_for(Settings(auth="api_key", api_keys_file=str(secret)))
    assert (await whoami(wire, **{"x-api-key": NEW}))["id"] == "deployer"


async def test_api_keys_and_oauth_together(
    wire_for: Callable[..., Wire], authorization_server: AuthorizationServer
) -> None:
    settings = oauth_settings(
        authorization_server, auth="api_key,oauth", api_keys=(f"{OLD}:ci-bot:tools:read",)
    )
    wire = wire_for(settings)
    assert (await whoami(wire, **{"x-api-key": OLD}))["kind"] == "api_key"
    token = authorization_server.token()
    assert (await whoami(wire, authorization=f"Bearer {token}"))["kind"] == "oauth"
    response = await wire.modern("tools/list", headers={"authorization": "Bearer junk"})
    assert response.status_code == 401
    assert "resource_metadata" in challenge(response)


def test_configuration_is_validated_without_echoing_keys() -> None:
    with pytest.raises(ValueError, match="16 characters") as short:
        ApiKey.parse("short-key", hashed=False)
    assert "short-key" not in str(short.value)
    with pytest.raises(ValueError, match="64-digit hex"):
        ApiKey.parse("not-a-digest:someone", hashed=True)
    with pytest.raises(ValueError):
        ApiKeys.from_config()


def test_settings_never_show_raw_keys_or_secrets() -> None:
    settings = key_settings(oauth_client_secret="client-secret-value")
    assert OLD not in repr(settings) and "client-secret-value" not in repr(settings)
    resource = from_settings(settings)
    assert resource is not None
    verifier = resource.verifiers[0]
    assert isinstance(verifier, ApiKeys)
    assert OLD not in repr(vars(verifier)) and OLD not in repr(verifier.keys)
