"""Which requests of one kind get an access line, once a line for each costs too much.

A line per request is most of what operations cost a saturated instance, and most of
its log bill (docs/operations.md). Two rules thin the lines of each kind of request
(the observer's kinds: method, tool, status, cause, ...), both counters, not random
numbers, so the rates are exact:

- a share of the successful requests (`ACCESS_LOG_SAMPLE_RATE`): one in `every`, the
  first of the kind included;
- a budget a second (`ACCESS_LOG_PER_SECOND`, as Uber's zap logger samples): the first
  `per_second` lines of the kind each second, then one line for each `per_second`
  requests more. Below that rate every request gets its line; a flood of one kind, a
  client retrying a refused call included, costs a few lines a second.

A line that stands for more than one request says so (`sample_rate`), so counts taken
from the logs scale back up; the metrics count every request regardless.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from cloudmcp.ops.observer import Recorder
from cloudmcp.protocol.transport import HttpRequest


def line_weights(every: int, per_second: int) -> tuple[int, ...]:
    """How many requests a line can stand for under these rules."""
    return (every, every * per_second) if per_second else (every,)


def sampled(
    lines: Mapping[int, Recorder],
    every: int = 1,
    per_second: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> Recorder:
    """A recorder that hands each request whose line is kept to `lines[weight]`, weight
    being how many requests the line stands for (one of `line_weights`), and drops the
    rest. One closure: it runs for every request of its kind."""
    plain = lines[every]
    thinned = lines[every * per_second] if per_second else plain
    # Counters that stay small (Python keeps small ints; larger ones are allocated).
    shared = every - 1  # so the first request of a kind gets its line
    left = 0  # lines this second still gets before sampling starts
    skipped = 0  # requests without a line since the last line past the budget
    window_ends = float("-inf")

    def record(request: HttpRequest, seconds: float) -> None:
        nonlocal shared, left, skipped, window_ends
        if every > 1:
            shared += 1
            if shared < every:
                return
            shared = 0
        if per_second:
            if left:
                left -= 1
            else:
                now = clock()
                if now >= window_ends:  # a new second: the budget again
                    window_ends, left, skipped = now + 1.0, per_second - 1, 0
                else:
                    skipped += 1
                    if skipped == per_second:
                        skipped = 0
                        thinned(request, seconds)
                    return
        plain(request, seconds)

    return record
