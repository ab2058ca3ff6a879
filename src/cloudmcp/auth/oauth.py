"""OAuth 2.1 access tokens, as the MCP authorization spec has a resource server check them.

A JWT access token is accepted only when all of this holds:

- its `alg` is on the allow-list, which may name asymmetric algorithms only (no `none`,
  no HS*: a public key must never double as an HMAC secret);
- it is signed by a key from the issuer's JWKS whose type fits that `alg`;
- `iss` is the configured issuer, and `aud` names this server's canonical resource URI
  (RFC 8707: a token minted for another server is not valid here);
- `exp` is present and not past, `nbf`/`iat` not in the future, within a small leeway.

Opaque tokens can go through RFC 7662 introspection instead. PyJWT (the `auth` extra) is
imported on first use, so a server without OAuth never loads it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from cloudmcp.auth.fetch import check_url, fetch_json
from cloudmcp.auth.introspection import Introspection
from cloudmcp.auth.jwks import KEY_TYPE, JwksCache
from cloudmcp.auth.principal import Principal, parse_scopes
from cloudmcp.auth.verifier import bearer_token
from cloudmcp.errors import InvalidCredential, VerifierUnavailable
from cloudmcp.protocol.transport import HttpRequest

DEFAULT_ALGORITHMS = ("RS256", "PS256", "ES256")
DEFAULT_LEEWAY = 30.0

#: How tokens are checked: as JWTs, by introspection, or by their shape (JWT if it has
#: three dot-separated parts, introspection otherwise).
Validation = Literal["jwt", "introspection", "auto"]


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer publishes its metadata (RFC 8414 §3.1, then OpenID Connect
    Discovery, with the path inserted after the well-known prefix and then appended)."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    urls = [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
    ]
    if path:
        urls.append(f"{origin}{path}/.well-known/openid-configuration")
    return urls


class OAuthTokens:
    """Verifies bearer access tokens issued by one authorization server for this resource."""

    def __init__(
        self,
        issuer: str,
        audiences: str | Iterable[str],
        *,
        jwks_url: str | None = None,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = DEFAULT_LEEWAY,
        jwks_ttl: float = 3600.0,
        jwks_refresh_interval: float = 30.0,
        timeout: float = 5.0,
        introspection: Introspection | None = None,
        validation: Validation = "jwt",
        authorization_servers: Iterable[str] = (),
    ) -> None:
        self.issuer = check_url(issuer, "OAUTH_ISSUER")
        self.audiences = (audiences,) if isinstance(audiences, str) else tuple(audiences)
        if not self.audiences:
            raise ValueError("OAuth needs the resource URI tokens must be issued for")
        self.algorithms = tuple(algorithms)
        refused = [a for a in self.algorithms if a not in KEY_TYPE]
        if refused or not self.algorithms:
            raise ValueError(
                f"OAUTH_ALGORITHMS may only name asymmetric algorithms ({', '.join(KEY_TYPE)});"
                f" refused: {', '.join(refused) or 'an empty list'}"
            )
        if validation not in ("jwt", "introspection", "auto"):
            raise ValueError("OAUTH_VALIDATION must be jwt, introspection or auto")
        if validation != "jwt" and introspection is None:
            raise ValueError(f"OAUTH_VALIDATION={validation} needs OAUTH_INTROSPECTION_URL")
        self.leeway = leeway
        self.timeout = timeout
        self.validation = validation
        self.introspection = introspection
        self.authorization_servers = tuple(authorization_servers) or (self.issuer,)
        self._jwks_options = {
            "ttl": jwks_ttl,
            "refresh_interval": jwks_refresh_interval,
            "timeout": timeout,
        }
        self._jwks = (
            JwksCache(check_url(jwks_url, "OAUTH_JWKS_URL"), **self._jwks_options)
            if jwks_url
            else None
        )
        self._discovery_lock = asyncio.Lock()
        self._discovered_at = float("-inf")

    async def verify(self, request: HttpRequest) -> Principal | None:
        token = bearer_token(request.headers)
        if token is None:
            return None
        jwt_shaped = token.count(".") == 2
        if self.validation == "introspection" or (self.validation == "auto" and not jwt_shaped):
            claims = await self._introspect(token)
        else:
            claims = await self._decode(token)
        return self._principal(claims)

    # JWT access tokens

    async def _decode(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidCredential("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidCredential("token algorithm not allowed")
        if kid is not None and not isinstance(kid, str):
            raise InvalidCredential("malformed token")
        jwks = await self.jwks()
        key = await jwks.key(kid, alg)
        if key is None:
            raise InvalidCredential("token signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],  # the one alg the key fits, never a list to pick from
                audience=list(self.audiences),
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidCredential("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidCredential("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise InvalidCredential("token not issued for this resource") from None
        except jwt.InvalidIssuerError:
            raise InvalidCredential("token from an untrusted issuer") from None
        except jwt.MissingRequiredClaimError:
            raise InvalidCredential("token lacks a required claim") from None
        except jwt.InvalidSignatureError:
            raise InvalidCredential("token signature invalid") from None
        except jwt.PyJWTError:
            raise InvalidCredential("invalid token") from None
        return claims

    async def jwks(self) -> JwksCache:
        """The issuer's key cache, found through its metadata when no URL is configured."""
        if self._jwks is not None:
            return self._jwks
        async with self._discovery_lock:
            if self._jwks is not None:
                return self._jwks
            if time.monotonic() - self._discovered_at < 1.0:
                raise VerifierUnavailable("authorization server metadata not available")
            self._discovered_at = time.monotonic()
            for url in metadata_urls(self.issuer):
                try:
                    metadata = await fetch_json(url, timeout=self.timeout)
                except VerifierUnavailable:
                    continue
                # RFC 8414 §3.3: metadata for another issuer must not be used.
                if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
                    continue
                jwks_uri = metadata.get("jwks_uri")
                if isinstance(jwks_uri, str):
                    try:
                        url = check_url(jwks_uri, "jwks_uri")
                    except ValueError:
                        continue
                    self._jwks = JwksCache(url, **self._jwks_options)
                    return self._jwks
            raise VerifierUnavailable("authorization server metadata not available")

    # opaque tokens

    async def _introspect(self, token: str) -> dict[str, Any]:
        if self.introspection is None:  # __init__ refuses that configuration; be sure
            raise VerifierUnavailable("no introspection endpoint configured")
        claims = await self.introspection.claims(token)
        now = time.time()
        iss = claims.get("iss")
        if iss is not None and iss != self.issuer:
            raise InvalidCredential("token from an untrusted issuer")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(a in self.audiences for a in audiences):
            raise InvalidCredential("token not issued for this resource")
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if isinstance(exp, int | float) and exp < now - self.leeway:
            raise InvalidCredential("token expired")
        if isinstance(nbf, int | float) and nbf > now + self.leeway:
            raise InvalidCredential("token not yet valid")
        return claims

    # the principal

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = claims.get("sub") or claims.get("client_id")
        if not isinstance(subject, str) or not subject:
            raise InvalidCredential("token names no subject")
        scopes = parse_scopes(claims["scope"] if "scope" in claims else claims.get("scp"))
        return Principal(subject, scopes, "oauth", MappingProxyType(dict(claims)))
