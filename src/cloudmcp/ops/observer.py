"""The one observer `install` adds: notes each answered request, and in batches
describes each kind of request once and has the sinks record every request of that
kind with what they prepared for it.

Under load most requests are of a few kinds (the same method, tool, revision and
status); describing one and deriving its labels and log fields costs more than the
rest of the bookkeeping, so it happens once per kind, not once per request. Noting a
request keeps a few of its values (`Answered`); the rest runs batched
(`cloudmcp.ops.batch`), and `flush()` has the sinks record what is pending (before a
scrape, at the end of a Lambda invocation, at exit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from cloudmcp.ops.batch import Batch
from cloudmcp.ops.coldstart import process_age
from cloudmcp.ops.summary import Answered, Summary, describe, rejection_cause
from cloudmcp.protocol.transport import HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

log = logging.getLogger("cloudmcp.ops")

#: Records one answered request of a known kind.
Recorder = Callable[[Answered], None]

#: Kinds kept prepared; a flood of new kinds (invented resource URIs) only resets them.
KINDS_KEPT = 512
#: Names (resource URIs, tool names) longer than this are described request by request.
NAME_KEPT = 256


class Sink(Protocol):
    #: Whether it reads the values only logs need (`Answered.of(detailed=True)`).
    detailed: bool

    def recorder(self, summary: Summary) -> Recorder | None:
        """What to do for each request of `summary`'s kind, or None to ignore the kind."""
        ...

    def cold_start(self, seconds: float) -> None: ...


class StateSink(Protocol):
    """A sink that also counts what the state layer did (cache, rate limits)."""

    def cache_lookup(self, hit: bool) -> None: ...

    def rate_limited(self) -> None: ...


class StateGains:
    """What an engine's state counters (cache hits, cache misses, 429s) gained since the
    last look. The engine counts in plain ints, so its hot paths never touch a metrics
    library; a new engine (after a lifespan) counts from zero."""

    def __init__(self) -> None:
        self._engine: object = None
        self._seen = (0, 0, 0)

    def since_last(self, engine: object) -> tuple[int, int, int]:
        counters = getattr(engine, "counters", None)
        if counters is None:
            return 0, 0, 0
        if engine is not self._engine:
            self._engine = engine
            self._seen = (0, 0, 0)
        now = (counters.cache_hits, counters.cache_misses, counters.rate_limited)
        hits, misses, limited = (a - b for a, b in zip(now, self._seen, strict=True))
        self._seen = now
        return hits, misses, limited


class OpsObserver:
    def __init__(self, app: MCPApp, sinks: list[Sink], state_sinks: list[StateSink]) -> None:
        self.app = app
        self.sinks = sinks
        self.state_sinks = state_sinks
        self.detailed = any(sink.detailed for sink in sinks)
        self._first = True
        self._failed = False
        self._gains = StateGains()
        self._kinds: dict[tuple[object, ...], list[Recorder]] = {}
        self._batch: Batch[Answered] = Batch(self._record)

    def observe(self, request: HttpRequest, responder: Responder, seconds: float) -> None:
        if self._first:
            self._first = False
            age = process_age()
            for sink in self.sinks:
                sink.cold_start(age)
        status = responder.status
        answered = Answered.of(request, status, seconds, detailed=self.detailed)
        if status >= 400:
            answered.cause = rejection_cause(self.app, request, status)
        self._batch.add(answered)

    def flush(self) -> None:
        """Have the sinks record every request noted so far."""
        self._batch.flush()

    def _record(self, batch: list[Answered]) -> None:
        if self.state_sinks:
            self._state_changes()
        for answered in batch:
            try:
                for record in self._recorders(answered):
                    record(answered)
            except Exception:  # a bookkeeping bug must not take the rest of the batch
                if not self._failed:
                    self._failed = True
                    log.exception("recording a request for metrics and logs failed")

    def _recorders(self, answered: Answered) -> list[Recorder]:
        info = answered.info
        name = info.name
        if name is not None and len(name) > NAME_KEPT:
            return self._prepare(answered)
        # Everything `describe` reads.
        key = (info.method, name, info.version, info.error, info.tool_error,
               answered.status, answered.http_method, answered.path,
               answered.session is None, answered.cause)  # fmt: skip
        kinds = self._kinds
        found = kinds.get(key)
        if found is None:
            if len(kinds) >= KINDS_KEPT:
                kinds.clear()
            found = kinds[key] = self._prepare(answered)
        return found

    def _prepare(self, answered: Answered) -> list[Recorder]:
        summary = describe(self.app, answered)
        prepared = (sink.recorder(summary) for sink in self.sinks)
        return [record for record in prepared if record is not None]

    def _state_changes(self) -> None:
        """Forward what `engine.counters` gained since the last batch."""
        hits, misses, limited = self._gains.since_last(self.app.engine)
        if not (hits or misses or limited):
            return
        for sink in self.state_sinks:
            for _ in range(hits):
                sink.cache_lookup(True)
            for _ in range(misses):
                sink.cache_lookup(False)
            for _ in range(limited):
                sink.rate_limited()
