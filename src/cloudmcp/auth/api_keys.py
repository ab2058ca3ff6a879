"""API keys: shared secrets for services that call the MCP endpoint.

Only SHA-256 digests are kept. Keys are long random strings, not passwords, so a fast
hash is enough: nobody can search a 256-bit digest of a 128-bit random key, and the
digest can sit in configuration (`API_KEY_HASHES`) without being a secret itself.
Every configured digest is compared, in constant time, on every request, so neither
timing nor order says which key matched; several keys at once let a deployment rotate
one without downtime.

A configuration entry reads `KEY`, `KEY:PRINCIPAL` or `KEY:PRINCIPAL:SCOPE SCOPE...`
(`KEY` being the raw key in `API_KEYS` and a hex digest in `API_KEY_HASHES`). Keys that
map to the same principal share its legacy sessions, which is what a rotation needs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cloudmcp.auth.principal import Principal
from cloudmcp.auth.verifier import bearer_token
from cloudmcp.errors import InvalidCredential
from cloudmcp.protocol.transport import HttpRequest

#: The header keys arrive in unless they come as `Authorization: Bearer`.
DEFAULT_HEADER = "x-api-key"
_HEX = frozenset("0123456789abcdef")


def hash_api_key(key: str) -> str:
    """The hex SHA-256 digest to configure in `API_KEY_HASHES` for `key`."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    digest: bytes
    principal: str
    scopes: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entry: str, *, hashed: bool) -> ApiKey:
        """One configuration entry; error messages never repeat the key."""
        secret, _, rest = entry.strip().partition(":")
        principal, _, scopes = rest.partition(":")
        if hashed:
            digest_hex = secret.strip().lower()
            if len(digest_hex) != 64 or not set(digest_hex) <= _HEX:
                raise ValueError("API_KEY_HASHES entries start with a 64-digit hex SHA-256")
        else:
            if len(secret) < 16:
                raise ValueError("API_KEYS entries need keys of 16 characters or more")
            digest_hex = hash_api_key(secret)
        return cls(
            digest=bytes.fromhex(digest_hex),
            # The digest's head names a key without revealing it, when no principal is given.
            principal=principal.strip() or f"key-{digest_hex[:12]}",
            scopes=frozenset(scopes.split()),
        )


class ApiKeys:
    """Verifies API keys sent as `Authorization: Bearer KEY` or in `header`."""

    authorization_servers: tuple[str, ...] = ()

    def __init__(self, keys: Iterable[ApiKey], *, header: str = DEFAULT_HEADER) -> None:
        self.keys = tuple(keys)
        self.header = header.strip().lower()

    @classmethod
    def from_config(
        cls,
        keys: Iterable[str] = (),
        hashes: Iterable[str] = (),
        *,
        keys_file: str | None = None,
        header: str = DEFAULT_HEADER,
    ) -> ApiKeys:
        """Keys from settings: raw keys (hashed here, then dropped), digests, and a file
        of raw keys one per line (a mounted secret); `#` starts a comment line."""
        entries = [ApiKey.parse(k, hashed=False) for k in keys if k.strip()]
        entries += [ApiKey.parse(h, hashed=True) for h in hashes if h.strip()]
        if keys_file:
            lines = Path(keys_file).read_text(encoding="utf-8").splitlines()
            for line in lines:
                if line.strip() and not line.lstrip().startswith("#"):
                    entries.append(ApiKey.parse(line, hashed=False))
        if not entries:
            raise ValueError("AUTH=api_key needs API_KEYS, API_KEY_HASHES or API_KEYS_FILE")
        return cls(entries, header=header)

    async def verify(self, request: HttpRequest) -> Principal | None:
        presented = request.headers.get(self.header)
        if presented is None:
            presented = bearer_token(request.headers)
        if presented is None:
            return None
        digest = hashlib.sha256(presented.strip().encode("utf-8", "surrogatepass")).digest()
        found: ApiKey | None = None
        for key in self.keys:  # no early exit: the time taken is the same for any key
            if hmac.compare_digest(digest, key.digest):
                found = key
        if found is None:
            raise InvalidCredential("unknown API key")
        return Principal(found.principal, found.scopes, "api_key")
