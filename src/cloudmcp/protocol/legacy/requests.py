"""Server-to-client requests of a legacy session: asked on the POST's SSE stream, and
answered by the client in a later POST that may reach another instance, which hands the
answer over through the store."""

from __future__ import annotations

import asyncio
import secrets
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from cloudmcp.app.context import CAPABILITY_FOR
from cloudmcp.errors import MCPError
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.errors import INVALID_REQUEST, invalid_request, missing_capability
from cloudmcp.protocol.legacy.sessions import Session
from cloudmcp.protocol.streams import ResponseStream
from cloudmcp.state.keys import Keys
from cloudmcp.state.store import Store

if TYPE_CHECKING:
    from cloudmcp.protocol.features import FeatureTracer


class Replies:
    """Where the client's answers to server-to-client requests meet their askers."""

    def __init__(self, store: Store, keys: Keys, *, timeout: float) -> None:
        self.store = store
        self.keys = keys
        #: Seconds an ask waits for its answer (`INPUT_TIMEOUT`; 0 on AWS Lambda).
        self.timeout = timeout

    async def deliver(self, session: Session, response: dict[str, Any]) -> None:
        """Hand the client's answer to whichever instance is waiting for it."""
        key = self.keys.reply(session.id, str(response["id"]))
        await self.store.append(key, jsonrpc.encode(response), ttl=self.timeout or 1.0, cap=1)

    async def wait(self, session_id: str, request_id: str) -> Any:
        key = self.keys.reply(session_id, request_id)
        deadline = time.monotonic() + self.timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                events = await self.store.read({key: "0"}, timeout=min(remaining, 30.0))
                if events:
                    response = jsonrpc.decode(events[0].data)
                    if "error" in response:
                        error = response["error"] if isinstance(response["error"], dict) else {}
                        raise MCPError(
                            INVALID_REQUEST,
                            f"The client declined the request: {error.get('message', 'error')}",
                        )
                    return response.get("result")
        finally:
            await self.store.delete(key)
        if not self.timeout:
            raise MCPError(
                INVALID_REQUEST,
                "This server cannot wait for the client's answer on a legacy session (on AWS "
                "Lambda the response cannot stay open): use the 2026-07-28 revision, whose "
                "asks work everywhere, or a streaming deployment",
            )
        raise MCPError(INVALID_REQUEST, "The client did not answer in time")


class Exchange:
    """Legacy talk-back: notifications and requests on the POST's SSE stream."""

    def __init__(
        self,
        replies: Replies,
        session: Session,
        stream: ResponseStream,
        tracer: FeatureTracer | None = None,
    ) -> None:
        self.replies = replies
        self.session = session
        self.stream = stream
        self.tracer = tracer

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.stream.send(jsonrpc.notification(method, params))

    async def close_stream(self) -> None:
        await self.stream.detach()

    async def ask(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        missing = [
            CAPABILITY_FOR[r["method"]]
            for r in requests.values()
            if CAPABILITY_FOR.get(r["method"]) not in self.session.capabilities
        ]
        if missing:
            raise missing_capability(*dict.fromkeys(missing))
        ids = {key: f"s-{secrets.token_urlsafe(12)}" for key in requests}
        with ExitStack() as spans:  # one span per request, from asking to the answer
            for key, request in requests.items():
                params = dict(request.get("params") or {})
                if self.tracer is not None:
                    spans.enter_context(self.tracer.outgoing(request["method"], params))
                message = jsonrpc.request(ids[key], request["method"], params)
                if not await self.stream.send(message):
                    raise invalid_request(
                        "this request needs input from the client, which takes no SSE stream",
                        status=200,
                    )
            answers = await asyncio.gather(
                *(self.replies.wait(self.session.id, i) for i in ids.values())
            )
        return dict(zip(ids, answers, strict=True))
