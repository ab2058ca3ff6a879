"""Legacy SSE streams that outlive their POST: the standalone GET stream, and streams
resumed with `Last-Event-ID` on any instance, replayed from the store."""

from __future__ import annotations

from cloudmcp.protocol.closing import Closing
from cloudmcp.protocol.legacy.sessions import Session
from cloudmcp.protocol.streams import EventLog, parse_event_id, stored_event
from cloudmcp.protocol.transport import KEEPALIVE, SSE_HEADERS, HttpRequest, Responder, sse_event
from cloudmcp.protocol.versions import has_sse_polling
from cloudmcp.settings import Settings
from cloudmcp.state.keys import Keys
from cloudmcp.state.store import Store

#: The token of a session's standalone GET stream.
GET_STREAM = "get"
#: How long the end-of-session event stays for streams to see it.
ENDED_TTL = 60.0


class Resumption:
    def __init__(self, store: Store, keys: Keys, settings: Settings, closing: Closing) -> None:
        self.store = store
        self.keys = keys
        self.settings = settings
        self.closing = closing

    def log(self, session_id: str, token: str) -> EventLog:
        return EventLog(
            self.store,
            self.keys.sse(session_id, token),
            token,
            ttl=self.settings.sse_history_ttl,
            cap=self.settings.sse_history,
        )

    async def get(self, request: HttpRequest, session: Session, responder: Responder) -> None:
        """The standalone stream, or a POST's stream resumed from `Last-Event-ID`."""
        last = request.headers.get("last-event-id")
        parsed = parse_event_id(last) if last else None
        token, position = parsed if parsed else (GET_STREAM, None)
        log = self.keys.sse(session.id, token)
        logs = {log: position if position is not None else await self.store.tail(log)}
        if token == GET_STREAM:  # the standalone stream also carries list changes
            logs[self.keys.notifications] = await self.store.tail(self.keys.notifications)
        await responder.start_stream(SSE_HEADERS)
        with responder.cancelled_on_disconnect():
            await self._stream(session, token, log, logs, responder)

    async def _stream(
        self,
        session: Session,
        token: str,
        log: str,
        logs: dict[str, str],
        responder: Responder,
    ) -> None:
        """Replay and tail a stream's events until it ends, the client leaves, or the
        server shuts down."""
        closing, settings = self.closing, self.settings
        retry = settings.sse_retry_ms if has_sse_polling(session.version) else None
        if retry is not None:
            await responder.write(sse_event(b"", f"{token}.{logs[log]}", retry))
        while not responder.closed and not closing.closing:
            events = await closing.read(logs, timeout=settings.sse_keepalive)
            if not events and not closing.closing:
                await responder.write(KEEPALIVE)
            for event in events:
                logs[event.log] = event.id
                if event.log != log:  # a broadcast: not replayable, so no id
                    await responder.write(sse_event(event.data))
                    continue
                data, final = stored_event(event.data)
                if data or not final:  # an empty final event: the session was deleted
                    await responder.write(sse_event(data, f"{token}.{event.id}"))
                if final:  # a resumed POST stream ends with its response
                    await responder.end_stream()
                    return
        if closing.closing:  # shutting down: resume from here, on another instance
            await responder.write(sse_event(b"", f"{token}.{logs[log]}", settings.sse_retry_ms))
        await responder.end_stream()

    async def end(self, session: Session) -> None:
        """End the standalone stream wherever it is open; the log then soon expires."""
        end = self.log(session.id, GET_STREAM)
        end.ttl = ENDED_TTL
        await end.append(b"", final=True)

    async def notify(self, session_id: str, data: bytes) -> None:
        """Queue a notification on a session's standalone GET stream."""
        await self.log(session_id, GET_STREAM).append(data, final=False)
