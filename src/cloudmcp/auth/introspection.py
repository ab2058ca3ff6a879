"""Opaque access tokens, checked by asking the issuer (OAuth 2.0 Token Introspection,
RFC 7662).

An active answer is kept for a short while (never past the token's `exp`), keyed by the
token's SHA-256 rather than the token, so a burst of calls costs one round trip and the
cache holds nothing a memory dump could replay.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from cloudmcp.auth.fetch import fetch_json
from cloudmcp.errors import InvalidCredential

#: Introspection answers kept at most, oldest dropped first.
CACHE_SIZE = 4096


class Introspection:
    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        cache_ttl: float = 60.0,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.cache_ttl = cache_ttl
        self.timeout = timeout
        self._headers: dict[str, str] = {}
        if client_id:
            # client_secret_basic (RFC 6749 §2.3.1): both parts form-encoded, then joined.
            pair = f"{quote(client_id, safe='')}:{quote(client_secret or '', safe='')}"
            basic = base64.b64encode(pair.encode()).decode()
            self._headers["authorization"] = f"Basic {basic}"
        self._cache: OrderedDict[bytes, tuple[float, dict[str, Any]]] = OrderedDict()

    async def claims(self, token: str) -> dict[str, Any]:
        """The introspection answer for an active token; raises `InvalidCredential` when
        the issuer says it is not active, `VerifierUnavailable` when it does not answer."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        now = time.time()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        answer = await fetch_json(
            self.url,
            timeout=self.timeout,
            # A token type's name (RFC 7662 §2.1), not a secret.
            form={"token": token, "token_type_hint": "access_token"},  # nosec B105
            headers=self._headers,
        )
        if not isinstance(answer, dict) or answer.get("active") is not True:
            raise InvalidCredential("token is not active")
        until = now + self.cache_ttl
        exp = answer.get("exp")
        if isinstance(exp, int | float):
            until = min(until, float(exp))
        self._cache[digest] = (until, answer)
        self._cache.move_to_end(digest)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return answer
