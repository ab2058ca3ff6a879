"""The issuer's signing keys (its JWKS), fetched once and kept.

Keys are refreshed when the cache ages out, and early when a token names a `kid` the
cache does not know (the issuer rotated its keys) - but at most once per
`refresh_interval`, so a stream of tokens with made-up `kid`s cannot turn this server
into a load generator against the issuer. When a refresh fails the old keys keep
serving: an issuer outage should not log every caller out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from cloudmcp.auth.fetch import fetch_json
from cloudmcp.errors import VerifierUnavailable

log = logging.getLogger("cloudmcp.auth")

#: The key type (and curve) each signature algorithm needs: a token may only be checked
#: with a key of its algorithm's family, which rules out RS/HS confusion at the root.
KEY_TYPE: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str | None
    kty: str
    crv: str | None
    #: The `alg` the JWK pins itself to, if any.
    alg: str | None
    #: The public key, as the `cryptography` package holds it.
    key: Any

    def fits(self, alg: str) -> bool:
        kty, crv = KEY_TYPE[alg]
        if self.kty != kty or (self.alg is not None and self.alg != alg):
            return False
        return crv is None or self.crv == crv


def _signing_keys(document: Any) -> list[SigningKey]:
    """The usable public signing keys of a JWKS; anything else is skipped."""
    from jwt import PyJWK
    from jwt.exceptions import PyJWKError

    keys: list[SigningKey] = []
    raw_keys = document.get("keys") if isinstance(document, dict) else None
    for jwk in raw_keys if isinstance(raw_keys, list) else []:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        if "d" in jwk or "k" in jwk:  # private or symmetric material has no place here
            log.warning("JWKS entry %r holds secret key material; ignored", jwk.get("kid"))
            continue
        kty, alg, kid = jwk.get("kty"), jwk.get("alg"), jwk.get("kid")
        if alg is not None and alg not in KEY_TYPE:
            continue
        try:
            parsed = PyJWK(jwk, algorithm=alg or _default_alg(jwk))
        except (PyJWKError, ValueError, TypeError, KeyError):
            continue
        crv = jwk.get("crv")
        keys.append(
            SigningKey(
                kid=kid if isinstance(kid, str) else None,
                kty=str(kty),
                crv=crv if isinstance(crv, str) else None,
                alg=alg,
                key=parsed.key,
            )
        )
    return keys


def _default_alg(jwk: dict[str, Any]) -> str | None:
    """An algorithm for PyJWK to parse the key with; which ones it may verify is
    decided by `SigningKey.fits`, not by this."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        return "RS256"
    if kty == "EC":
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(str(crv))
    if kty == "OKP":
        return "EdDSA"
    return None


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        ttl: float = 3600.0,
        refresh_interval: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self.keys: list[SigningKey] = []
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None, alg: str) -> SigningKey | None:
        """The key to check a token signed with `alg` under `kid`; None if there is none."""
        now = time.monotonic()
        if now - self._fetched_at > self.ttl:
            await self._refresh(now)
        found = self._find(kid, alg)
        if found is None and time.monotonic() - self._tried_at >= self.refresh_interval:
            await self._refresh(time.monotonic())  # a new kid: the issuer may have rotated
            found = self._find(kid, alg)
        return found

    def _find(self, kid: str | None, alg: str) -> SigningKey | None:
        fitting = [k for k in self.keys if k.fits(alg)]
        if kid is not None:
            return next((k for k in fitting if k.kid == kid), None)
        # No kid: only unambiguous when the issuer has a single key of this kind.
        return fitting[0] if len(fitting) == 1 else None

    async def _refresh(self, asked_at: float) -> None:
        async with self._lock:
            if self._tried_at >= asked_at:
                # Another request refreshed while this one waited; if that failed with no
                # keys to fall back on, this request cannot be decided either: 503, not 401.
                if not self.keys:
                    raise VerifierUnavailable("JWKS not available")
                return
            since = time.monotonic() - self._tried_at
            if self.keys and since < self.refresh_interval:
                return
            if not self.keys and since < 1.0:  # issuer down: ask it once a second, not per call
                raise VerifierUnavailable("JWKS not available")
            self._tried_at = time.monotonic()
            try:
                document = await fetch_json(self.url, timeout=self.timeout)
            except VerifierUnavailable as exc:
                if not self.keys:
                    raise
                log.warning("JWKS refresh failed (%s); keeping the cached keys", exc)
                return
            keys = _signing_keys(document)
            if not keys and self.keys:
                log.warning("JWKS refresh returned no usable keys; keeping the cached keys")
                return
            self.keys = keys
            self._fetched_at = time.monotonic()
