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
    skipped = every - 1  # so the first request of a kind gets its line
    window_ends = float("-inf")
    in_window = 0

    def record(request: HttpRequest, seconds: float) -> None:
        nonlocal skipped, window_ends, in_window
        if every > 1:
            skipped += 1
            if skipped < every:
                return
            skipped = 0
        if per_second:
            now = clock()
            if now >= window_ends:
                window_ends, in_window = now + 1.0, 0
            in_window += 1
            beyond = in_window - per_second
            if beyond > 0:
                if not beyond % per_second:
                    thinned(request, seconds)
                return
        plain(request, seconds)

    return record
