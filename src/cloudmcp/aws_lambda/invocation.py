"""What a tool learns about the Lambda invocation it serves, through `ctx.platform`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

#: Time kept back from the invocation's deadline so that a tool cut off by it still gets
#: its error answered before Lambda ends the invocation; at most a tenth of what is left.
SAFETY_MARGIN = 0.5

_served = 0  # invocations this process (one Lambda execution environment) has served


def next_invocation() -> bool:
    """Count an invocation; True for the first one of this execution environment."""
    global _served
    _served += 1
    return _served == 1


def deadline(context: Any) -> float | None:
    """The `time.monotonic()` by which an answer must be ready, from the Lambda context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    seconds = max(0.0, float(remaining()) / 1000)
    return time.monotonic() + seconds - min(SAFETY_MARGIN, seconds / 10)


class LambdaInvocation:
    """The Lambda context object of one invocation, and what the edge knows besides.

    Every attribute of the context object reads through (`aws_request_id`,
    `function_name`, `memory_limit_in_mb`, `get_remaining_time_in_millis()`...), so code
    written against the Lambda context works unchanged. Added: `event`, the raw event,
    and `cold_start`, true only on the first invocation of the execution environment.
    """

    def __init__(self, context: Any, event: Mapping[str, Any], cold_start: bool) -> None:
        self.context = context
        self.event = event
        self.cold_start = cold_start

    def get_remaining_time_in_millis(self) -> int:
        return int(self.context.get_remaining_time_in_millis())

    def __getattr__(self, name: str) -> Any:
        if name == "context":  # not set yet (copying): no context to read through
            raise AttributeError(name)
        return getattr(self.context, name)

    def __repr__(self) -> str:
        request_id = getattr(self.context, "aws_request_id", "?")
        return f"<LambdaInvocation {request_id} cold_start={self.cold_start}>"
