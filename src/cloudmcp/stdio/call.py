"""One request forwarded to a child, with the child's asks and notifications sent to the
client through the request's `Context`, in whichever era the client speaks.

On a legacy session an ask is a server-to-client request on the SSE stream and the
child waits for the answer. On 2026-07-28 an unanswered ask ends the round: the child's
request is cancelled, the client gets an `InputRequiredResult`, and its retry sends
the whole request to a child again (any child, on any instance). The child then runs
from the start and asks again; this time `Context.ask` finds the answer under the same
key (`stdio-1`, `stdio-2`, ... in the order the child asks), so the child goes on.
Whatever the child did before its first ask is done again on every retry.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

from cloudmcp.app.context import LOG_LEVELS
from cloudmcp.errors import MCPError
from cloudmcp.protocol.errors import INTERNAL_ERROR, method_not_found
from cloudmcp.stdio.child import Abandoned, Answer, ChildExited

if TYPE_CHECKING:
    from cloudmcp.app.context import Context
    from cloudmcp.stdio.pool import Pool

#: What a child may ask its client for; the caller's client answers.
ASKS = frozenset({"sampling/createMessage", "elicitation/create", "roots/list"})

_tokens = itertools.count(1)


class ClientCaller:
    """The client behind one forwarded request, as the child sees it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.token: str | None = None
        progress = ctx.meta.get("progressToken") if isinstance(ctx.meta, dict) else None
        if isinstance(progress, str | int) and not isinstance(progress, bool):
            self.token = f"cloudmcp-{next(_tokens)}"
        self.asks = 0
        #: What ended the round early (InputRequired on 2026-07-28), raised by the call.
        self.interruption: BaseException | None = None
        #: The child's answer the call waits for: an interruption ends that wait.
        self.answer: Answer | None = None

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method not in ASKS:
            raise method_not_found(method)
        self.asks += 1
        key = f"stdio-{self.asks}"
        try:
            answers = await self.ctx.ask({key: {"method": method, "params": params}})
        except (MCPError, asyncio.CancelledError):
            raise  # the client's refusal goes to the child; a cancellation ends the call anyway
        except BaseException as exc:
            self.interruption = exc
            if self.answer is not None and not self.answer.done():
                self.answer.set_result(Abandoned("the client must answer a question first"))
            raise
        answer: dict[str, Any] = answers[key]
        return answer

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/progress":
            progress = params.get("progress")
            if params.get("progressToken") != self.token or not isinstance(progress, int | float):
                return  # another call's, or a late one from a call that ended
            total, message = params.get("total"), params.get("message")
            await self.ctx.report_progress(
                progress,
                total if isinstance(total, int | float) else None,
                message if isinstance(message, str) else None,
            )
        elif method == "notifications/message":
            level, logger = params.get("level"), params.get("logger")
            if level in LOG_LEVELS:
                await self.ctx.log(
                    level, params.get("data"), logger if isinstance(logger, str) else None
                )


def _owner(ctx: Context) -> str | None:
    principal = ctx.principal
    if principal is None:
        return None
    return str(getattr(principal, "id", principal))


async def forward(
    pool: Pool, method: str, params: dict[str, Any], ctx: Context, *, timeout: float | None
) -> dict[str, Any]:
    """Send `method` to a leased child on behalf of the request `ctx` serves; its result.

    The child's JSON-RPC errors come back as `MCPError`; a child that exits or stops
    answering is replaced and the caller gets a clear error to retry on.
    """
    caller = ClientCaller(ctx)
    if caller.token is not None:
        params = {**params, "_meta": {**(params.get("_meta") or {}), "progressToken": caller.token}}
    async with pool.lease(_owner(ctx)) as child:
        child.callers.append(caller)
        expected = child.expect()
        caller.answer = expected[1]
        timer = None
        if timeout is not None:
            timer = asyncio.get_running_loop().call_later(timeout, _expire, expected[1])
        try:
            return await child.request(method, params, expected)
        except Abandoned as abandoned:
            if abandoned is not TIMED_OUT:
                assert caller.interruption is not None  # nosec B101 - what abandons a call
                raise caller.interruption from None
            # Hung, or too slow for its callers: either way it serves nobody else.
            await child.stop(graceful=False)
            raise MCPError(
                INTERNAL_ERROR, f"The stdio server did not answer {method} within {timeout:g}s"
            ) from None
        except ChildExited as exc:
            raise MCPError(
                INTERNAL_ERROR,
                f"The stdio server exited during {method} ({exc}); "
                "a fresh one serves the next call",
            ) from None
        finally:
            child.callers.remove(caller)
            if timer is not None:
                timer.cancel()


#: How a call's wait ends when `timeout` runs out.
TIMED_OUT = Abandoned("the call ran out of time")


def _expire(answer: Answer) -> None:
    if not answer.done():
        answer.set_result(TIMED_OUT)
