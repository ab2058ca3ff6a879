"""The `Context` a tool, resource or prompt function can ask for.

Through it a function reports progress, logs to the client, and asks the client for
input. The same call works in both protocol eras: on a legacy session it becomes a
server-to-client request on the SSE stream; on 2026-07-28 it becomes an
`InputRequiredResult`, and the function runs again when the client retries with the
answers (so work before the ask should be safe to repeat).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import msgspec

from cloudmcp.errors import InputRequired
from cloudmcp.protocol.errors import missing_capability

LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

# Which client capability each kind of input request needs.
CAPABILITY_FOR = {
    "elicitation/create": "elicitation",
    "sampling/createMessage": "sampling",
    "roots/list": "roots",
}


class Exchange(Protocol):
    """How a request talks back to its client; one per era."""

    async def notify(self, method: str, params: dict[str, Any]) -> None: ...

    async def ask(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]: ...

    async def close_stream(self) -> None: ...


class ElicitResult(msgspec.Struct):
    action: str  # "accept", "decline" or "cancel"
    content: dict[str, Any] | None = None


class Context(msgspec.Struct, kw_only=True):
    """What a function knows about the request it serves, and how it talks back."""

    request_id: str | int
    method: str
    protocol_version: str
    client_capabilities: dict[str, Any]
    client_info: dict[str, Any] | None
    meta: dict[str, Any]
    exchange: Exchange
    session_id: str | None = None
    #: Who is calling, as authentication established it (None when auth is off).
    principal: Any = None
    #: `time.monotonic()` by which the call must finish, when a limit applies.
    deadline: float | None = None
    #: The platform's own request context (the Lambda context object on AWS Lambda).
    platform: Any = None
    log_level: str | None = None
    #: Whether the function asked the client for input (its result is then not cached).
    asked_client: bool = False
    _asks: int = 0

    @property
    def progress_token(self) -> str | int | None:
        token = self.meta.get("progressToken")
        return token if isinstance(token, str | int) else None

    def remaining(self) -> float | None:
        """Seconds left before the deadline, if there is one."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Send `notifications/progress`, when the client asked for it with a token."""
        token = self.progress_token
        if token is None:
            return
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self.exchange.notify("notifications/progress", params)

    async def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send `notifications/message` at `level`, if the client wants that level."""
        if self.log_level is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(self.log_level):
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        await self.exchange.notify("notifications/message", params)

    async def debug(self, data: Any) -> None:
        await self.log("debug", data)

    async def info(self, data: Any) -> None:
        await self.log("info", data)

    async def warning(self, data: Any) -> None:
        await self.log("warning", data)

    async def error(self, data: Any) -> None:
        await self.log("error", data)

    def require_capability(self, *capabilities: str) -> None:
        """Fail the request with -32021 unless the client declared these capabilities."""
        missing = [name for name in capabilities if name not in self.client_capabilities]
        if missing:
            raise missing_capability(*missing)

    async def ask(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Ask the client several things at once: `{key: {"method": ..., "params": ...}}`.

        Returns `{key: result}`. Each call of `ask` is one round trip.
        """
        self.asked_client = True
        return await self.exchange.ask(requests)

    async def defer(self) -> None:
        """Continue as a task (the 2026-07-28 tasks extension), for a tool registered with
        `task=` and `defer="explicit"`: what ran before (questions asked by MRTR
        included) ran in the request; the call is answered with a task, and the tool runs
        again from the start as that task, finding its answers, and this returns at once.
        Where the call cannot become a task (the client did not declare tasks, a legacy
        session), a no-op: the tool simply goes on in the request."""
        defer = getattr(self.exchange, "defer", None)
        if defer is not None:
            await defer()

    async def close_stream(self) -> None:
        """End the response stream now and keep working (SSE polling, 2025-11-25).

        The client reconnects with `Last-Event-ID` (to any instance) and gets the rest,
        result included. A no-op where the revision has no resumable streams.
        """
        await self.exchange.close_stream()

    async def _ask_one(self, method: str, params: dict[str, Any]) -> Any:
        self._asks += 1
        self.asked_client = True
        key = f"input-{self._asks}"
        answers = await self.exchange.ask({key: {"method": method, "params": params}})
        return answers[key]

    async def elicit(self, message: str, schema: dict[str, Any]) -> ElicitResult:
        """Ask the user for structured input matching a flat JSON Schema object."""
        answer = await self._ask_one(
            "elicitation/create",
            {"mode": "form", "message": message, "requestedSchema": schema},
        )
        return ElicitResult(action=answer.get("action", "cancel"), content=answer.get("content"))

    async def sample(
        self,
        messages: str | list[dict[str, Any]],
        *,
        max_tokens: int = 1024,
        system_prompt: str | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Ask the client's model for a completion; the `CreateMessageResult`."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": {"type": "text", "text": messages}}]
        request: dict[str, Any] = {"messages": messages, "maxTokens": max_tokens, **params}
        if system_prompt is not None:
            request["systemPrompt"] = system_prompt
        answer: dict[str, Any] = await self._ask_one("sampling/createMessage", request)
        return answer

    async def list_roots(self) -> list[dict[str, Any]]:
        """The client's roots (directories or files it exposes)."""
        answer = await self._ask_one("roots/list", {})
        roots: list[dict[str, Any]] = answer.get("roots", [])
        return roots


__all__ = ["CAPABILITY_FOR", "LOG_LEVELS", "Context", "ElicitResult", "Exchange", "InputRequired"]
