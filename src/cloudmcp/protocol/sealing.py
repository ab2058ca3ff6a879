"""Sealing MRTR `requestState` so that any instance can open what another sealed.

The state travels through the client, so it is attacker-controlled input: it is
signed (HMAC-SHA256) with the newest key of a ring every instance shares, and opens
with any key of the ring, so keys rotate without breaking requests in flight.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Any

from cloudmcp.errors import MCPError
from cloudmcp.protocol.errors import invalid_params
from cloudmcp.protocol.jsonrpc import decode, encode


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyRing:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._newest = keys[0]
        self._keys = dict(keys)

    @classmethod
    def from_config(cls, entries: tuple[str, ...]) -> KeyRing:
        """From `id:base64key` entries, newest first; none: one random key."""
        if not entries:
            return cls([("local", secrets.token_bytes(32))])
        keys = []
        for entry in entries:
            kid, _, material = entry.partition(":")
            try:
                key = base64.b64decode(material, validate=True)
            except binascii.Error:
                raise ValueError(f"state key {kid!r} is not base64") from None
            if not kid or len(key) < 32:
                raise ValueError(f"state key {kid!r} needs an id and at least 32 bytes")
            keys.append((kid, key))
        return cls(keys)

    def seal(self, payload: dict[str, Any], ttl: float) -> str:
        kid, key = self._newest
        body = _b64(encode({**payload, "exp": int(time.time() + ttl)}))
        mac = hmac.new(key, f"{kid}.{body}".encode(), hashlib.sha256).digest()
        return f"{kid}.{body}.{_b64(mac)}"

    def open(self, token: object) -> dict[str, Any]:
        """The payload of a sealed token; -32602 when it is forged, altered or expired."""
        failed = invalid_params(
            "requestState integrity check failed: it was sealed with another key (instances "
            "that serve one endpoint must share STATE_KEYS) or altered"
        )
        if not isinstance(token, str) or token.count(".") != 2:
            raise failed
        kid, body, mac = token.split(".")
        key = self._keys.get(kid)
        if key is None:
            raise failed
        expected = hmac.new(key, f"{kid}.{body}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(mac)):
                raise failed
            payload = decode(_unb64(body))
        except (binascii.Error, ValueError, MCPError):
            raise failed from None
        if not isinstance(payload, dict) or payload.get("exp", 0) < time.time():
            raise invalid_params("requestState has expired; start the request again")
        return payload
