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
from collections.abc import Callable


class Sampler:
    __slots__ = ("_clock", "_in_window", "_skipped", "_window_ends", "every", "per_second")

    def __init__(
        self, every: int = 1, per_second: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.per_second = per_second
        self._clock = clock
        self._skipped = every - 1  # so the first request of a kind gets its line
        self._window_ends = float("-inf")
        self._in_window = 0

    @property
    def thins(self) -> bool:
        """Whether any request may go without a line."""
        return self.every > 1 or self.per_second > 0

    @property
    def weights(self) -> tuple[int, ...]:
        """Every value `weight()` returns for a line."""
        return (self.every, self.every * self.per_second) if self.per_second else (self.every,)

    def weight(self) -> int:
        """How many requests the next request's line stands for; 0: it gets no line."""
        weight = self.every
        if weight > 1:
            self._skipped += 1
            if self._skipped < weight:
                return 0
            self._skipped = 0
        budget = self.per_second
        if budget:
            now = self._clock()
            if now >= self._window_ends:
                self._window_ends, self._in_window = now + 1.0, 0
            self._in_window += 1
            beyond = self._in_window - budget
            if beyond > 0:
                if beyond % budget:
                    return 0
                weight *= budget
        return weight
