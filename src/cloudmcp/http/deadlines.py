"""Deadlines for slow clients: a connection gets `HEADER_TIMEOUT` seconds to send a
request's headers and `BODY_TIMEOUT` more for its body, or it is closed; and headers
larger than `MAX_HEADER_BYTES` are refused with 431.

uvicorn times out only idle keep-alive connections; one that trickles a byte of headers
now and then, or a body slower than anyone needs, would hold its file descriptor for ever,
and enough of them lock everyone else out. The deadlines are totals, not gaps between
reads: trickling does not extend them. Responses are not limited (SSE streams stay open).

uvicorn keeps every header it parses, however many: a fast client could fill memory with
them within the deadline. The body is bounded by `MAX_REQUEST_SIZE` further in.

`cloudmcp serve` runs uvicorn with `http=DeadlineProtocol`; the values come from the
environment so that `--workers` processes, which import this module afresh, agree.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 60.0
#: The request line and headers of one request, in bytes (nginx allows 32 KiB by default).
MAX_HEADER_BYTES = 64 * 1024
_REFUSAL = b"request headers are too large\n"
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
    + f"content-length: {len(_REFUSAL)}\r\nconnection: close\r\n\r\n".encode()
    + _REFUSAL
)


def _seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        return default  # `cloudmcp serve` refuses a malformed value before it gets here


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections that miss a deadline."""

    header_timeout = _seconds("HEADER_TIMEOUT", HEADER_TIMEOUT)
    body_timeout = _seconds("BODY_TIMEOUT", BODY_TIMEOUT)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        #: Bytes received since the current request began, while its headers are incomplete
        #: (None once they are complete).
        self._header_bytes: int | None = 0

    def _arm(self, seconds: float) -> None:
        self._disarm()
        if seconds > 0:
            self._deadline = self.loop.call_later(seconds, self._missed)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _missed(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._header_bytes is not None:
            # Counted before this chunk: a chunk that ends the headers may carry the body.
            if self._header_bytes > MAX_HEADER_BYTES:
                self._header_bytes = None
                self._disarm()
                self.transport.write(_TOO_LARGE)
                self.transport.close()
                return
            self._header_bytes += len(data)
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._header_bytes = None
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request on this connection gets the same time for its headers (an idle
        # connection is closed sooner by uvicorn's keep-alive timeout); unless one arrived
        # already, pipelined, and is being answered.
        answering = self.cycle is not None and not self.cycle.response_complete
        if not answering and not self.transport.is_closing():
            self._header_bytes = 0
            self._arm(self.header_timeout)
