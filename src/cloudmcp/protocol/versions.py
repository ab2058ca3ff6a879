"""The protocol revisions cloudmcp speaks, newest first."""

from __future__ import annotations

#: The stateless revision: per-request `_meta`, no sessions, MRTR, `subscriptions/listen`.
STATELESS = "2026-07-28"
#: Handshake revisions: `initialize`, `Mcp-Session-Id`, server-to-client requests over SSE.
LEGACY = ("2025-11-25", "2025-06-18", "2025-03-26")
SUPPORTED = (STATELESS, *LEGACY)


def negotiate(requested: object) -> str:
    """The legacy revision to answer an `initialize` asking for `requested`."""
    return requested if isinstance(requested, str) and requested in LEGACY else LEGACY[0]


def has_sse_polling(version: str) -> bool:
    """2025-11-25 primes each SSE stream with an event id and a `retry` hint."""
    return version >= "2025-11-25"


def allows_batches(version: str) -> bool:
    """JSON-RPC batches exist only in 2025-03-26."""
    return version == "2025-03-26"
