"""What a tool's `Context` talks to when it runs as a task.

Questions work as MRTR does, by re-execution: an ask finds its answer among those the
client sent with `tasks/update`, or ends the run with `InputRequired`, which parks the
task as `input_required`; the next run asks again and finds it. Progress and log
messages, which a task must not send as notifications, become its `statusMessage`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cloudmcp.app.context import CAPABILITY_FOR
from cloudmcp.errors import InputRequired
from cloudmcp.protocol.errors import internal_error, missing_capability
from cloudmcp.state.tasks import fingerprint


class TaskExchange:
    def __init__(
        self,
        capabilities: dict[str, Any],
        answers: dict[str, Any],
        status: Callable[[str], Awaitable[None]],
        asked: dict[str, str] | None = None,
    ) -> None:
        self.capabilities = capabilities
        self.answers = answers
        self.asked = asked or {}
        self.status = status

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/progress":
            message = params.get("message")
            if not isinstance(message, str):
                total = params.get("total")
                done = params.get("progress")
                message = f"{done}/{total}" if total is not None else f"{done}"
            await self.status(message)
        elif method == "notifications/message":
            data = params.get("data")
            await self.status(data if isinstance(data, str) else str(data))

    async def ask(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        missing = [
            CAPABILITY_FOR[r["method"]]
            for r in requests.values()
            if CAPABILITY_FOR.get(r["method"]) not in self.capabilities
        ]
        if missing:
            raise missing_capability(*dict.fromkeys(missing))
        for key, request in requests.items():
            known = self.asked.get(key)
            if known is not None and known != fingerprint(request):
                raise internal_error(
                    f"the tool asked a different question under key {key!r}: a key names "
                    "one question for a task's whole lifetime"
                )
        unanswered = {k: r for k, r in requests.items() if k not in self.answers}
        if unanswered:
            raise InputRequired(unanswered)
        return {k: self.answers[k] for k in requests}

    async def close_stream(self) -> None:
        """A task has no stream to close."""

    async def defer(self) -> None:
        """Already a task: go on."""
