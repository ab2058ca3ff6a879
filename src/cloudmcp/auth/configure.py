"""Authentication from settings (`AUTH=...`), so `cloudmcp serve`, Cloud Run and AWS Lambda
get it from their environment with no code change."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from cloudmcp.auth.resource import ProtectedResource, canonical_resource
from cloudmcp.auth.verifier import Verifier

if TYPE_CHECKING:
    from cloudmcp.settings import Settings

MODES = ("api_key", "oauth")


def auth_modes(value: str) -> tuple[str, ...]:
    """The modes `AUTH` names: `none`, `api_key`, `oauth`, or `api_key,oauth` (either)."""
    modes = [m.strip().lower().replace("-", "_") for m in value.split(",") if m.strip()]
    modes = [m for m in modes if m != "none"]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"AUTH={value!r}: unknown mode {unknown[0]!r} (none, api_key, oauth)")
    return tuple(dict.fromkeys(modes))


def from_settings(settings: Settings) -> ProtectedResource | None:
    """The authenticator the settings describe; None for `AUTH=none`. Raises ValueError
    naming the setting that is missing or wrong, so a bad deployment fails at start."""
    modes = auth_modes(settings.auth)
    if not modes:
        return None
    verifiers: list[Verifier] = []
    if "api_key" in modes:
        from cloudmcp.auth.api_keys import ApiKeys

        verifiers.append(
            ApiKeys.from_config(
                settings.api_keys,
                settings.api_key_hashes,
                keys_file=settings.api_keys_file or None,
                header=settings.api_key_header,
            )
        )
    if "oauth" in modes:
        verifiers.append(_oauth(settings))
    return ProtectedResource(
        *verifiers,
        resource=settings.resource_uri or None,
        required_scopes=settings.required_scopes,
        scopes_supported=settings.scopes_supported or None,
        scope_implies=settings.scope_implies,
    )


def _oauth(settings: Settings) -> Verifier:
    from cloudmcp.auth.introspection import Introspection
    from cloudmcp.auth.oauth import OAuthTokens

    if not settings.resource_uri:
        raise ValueError("AUTH=oauth needs RESOURCE_URI, the canonical URI of the MCP endpoint")
    if not settings.oauth_issuer:
        raise ValueError("AUTH=oauth needs OAUTH_ISSUER")
    resource = canonical_resource(settings.resource_uri)
    introspection = None
    if settings.oauth_introspection_url:
        from cloudmcp.auth.fetch import check_url

        introspection = Introspection(
            check_url(settings.oauth_introspection_url, "OAUTH_INTROSPECTION_URL"),
            client_id=settings.oauth_client_id or None,
            client_secret=settings.oauth_client_secret or None,
            cache_ttl=settings.oauth_introspection_ttl,
            timeout=settings.oauth_http_timeout,
        )
    validation = settings.oauth_validation.strip().lower()
    if validation not in ("jwt", "introspection", "auto"):
        raise ValueError("OAUTH_VALIDATION must be jwt, introspection or auto")
    if validation != "introspection" and importlib.util.find_spec("jwt") is None:
        raise ValueError("AUTH=oauth checks JWTs with PyJWT: pip install 'cloudmcp[auth]'")
    return OAuthTokens(
        settings.oauth_issuer,
        (resource, *settings.oauth_audiences),
        jwks_url=settings.oauth_jwks_url or None,
        algorithms=settings.oauth_algorithms,
        leeway=settings.oauth_leeway,
        jwks_ttl=settings.oauth_jwks_ttl,
        jwks_refresh_interval=settings.oauth_jwks_refresh_interval,
        timeout=settings.oauth_http_timeout,
        introspection=introspection,
        validation=validation,  # type: ignore[arg-type]
        authorization_servers=settings.oauth_authorization_servers,
    )
