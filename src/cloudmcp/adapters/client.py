"""What a framework's session sends the client, carried by cloudmcp's `Context`.

Every framework's session ends in two moves: send the client a request and wait for its
result, or send it a notification. `ClientLink` does both for one request through the
`Context` the engine made, so the framework's progress, log messages, elicitation,
sampling and roots travel as native tools' do: on the SSE stream of a legacy session,
and as an `InputRequiredResult` on 2026-07-28 (the retry runs the tool again, and each
ask is answered from the retry's `inputResponses` in the order the tool makes them).
"""

from __future__ import annotations

from typing import Any

from cloudmcp.app.context import Context


class ClientLink:
    """Requests and notifications to the client that made one request."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._asks = 0

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """Send the client `method` and return its result."""
        # Keys follow the order of the asks, so a 2026-07-28 retry, which runs the tool
        # again from the start, finds each answer under the key its ask makes again.
        self._asks += 1
        key = f"ask-{self._asks}"
        answers = await self.ctx.ask({key: {"method": method, "params": params or {}}})
        result: dict[str, Any] = answers[key]
        return result

    async def notify(self, method: str, params: dict[str, Any] | None) -> None:
        params = params or {}
        if method == "notifications/progress":
            # The client's own progress token, whatever token the framework carried.
            await self.ctx.report_progress(
                params.get("progress", 0), params.get("total"), params.get("message")
            )
        elif method == "notifications/message":
            await self.ctx.log(
                params.get("level", "info"), params.get("data"), params.get("logger")
            )
        else:
            await self.ctx.exchange.notify(method, params)


__all__ = ["ClientLink"]
