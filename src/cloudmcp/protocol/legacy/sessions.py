"""Legacy sessions: opened by `initialize`, kept whole in the `Store`, so any instance
serves a session's next request."""

from __future__ import annotations

import secrets
import time
from typing import Any

import msgspec

from cloudmcp.protocol.errors import invalid_params, invalid_request, session_not_found
from cloudmcp.protocol.transport import SESSION_HEADER, HttpRequest, principal_id
from cloudmcp.protocol.versions import LEGACY
from cloudmcp.state.keys import Keys
from cloudmcp.state.store import Store


class Session(msgspec.Struct, omit_defaults=True):
    """A legacy session as the store keeps it."""

    id: str
    version: str
    capabilities: dict[str, Any]
    client_info: dict[str, Any] | None = None
    log_level: str | None = None
    #: Who opened the session; only they may use it.
    owner: str | None = None
    #: When it was opened (Unix time), for how long sessions last.
    opened: float = 0.0


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Session).decode

#: Most bytes a session record may take in the store: capabilities and client info are
#: small in every real client, and a session lives for SESSION_TTL.
MAX_SESSION_BYTES = 64 * 1024


class Sessions:
    def __init__(self, store: Store, keys: Keys, *, ttl: float) -> None:
        self.store = store
        self.keys = keys
        self.ttl = ttl

    def new(
        self,
        request: HttpRequest,
        version: str,
        capabilities: dict[str, Any],
        client_info: dict[str, Any] | None,
    ) -> Session:
        return Session(
            id=secrets.token_urlsafe(24),
            version=version,
            capabilities=capabilities,
            client_info=client_info,
            owner=principal_id(request.principal),
            opened=time.time(),
        )

    async def load(self, request: HttpRequest) -> Session:
        """The session the request names; 404 for one that does not exist, expired, or
        belongs to someone else."""
        session_id = request.headers.get(SESSION_HEADER)
        if not session_id:
            raise invalid_request("Mcp-Session-Id header is required; send initialize first")
        data = await self.store.get(self.keys.session(session_id), touch=self.ttl)
        if data is None:
            raise session_not_found()
        session = _decode(data)
        if session.owner != principal_id(request.principal):
            raise session_not_found()  # never reveal that someone else's session exists
        version = request.headers.get("mcp-protocol-version")
        if version is not None and version.strip() not in LEGACY:
            raise invalid_request(f"unsupported MCP-Protocol-Version {version!r}")
        return session

    async def save(self, session: Session) -> None:
        try:
            record = _encode(session)
        except (OverflowError, msgspec.EncodeError):  # an integer past 64 bits, say
            raise invalid_params("capabilities and clientInfo cannot be stored") from None
        if len(record) > MAX_SESSION_BYTES:
            raise invalid_params(
                f"capabilities and clientInfo take more than {MAX_SESSION_BYTES} bytes"
            )
        await self.store.set(self.keys.session(session.id), record, self.ttl)

    async def delete(self, session: Session) -> None:
        await self.store.delete(self.keys.session(session.id))
