"""The one observer `install` adds: describes each request once, hands it to the sinks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from cloudmcp.ops.coldstart import process_age
from cloudmcp.ops.summary import Summary, summarize
from cloudmcp.protocol.transport import HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

#: `engine.counters` fields that become metrics.
STATE_FIELDS = ("cache_hits", "cache_misses", "rate_limited")


class Sink(Protocol):
    def record(self, summary: Summary, request: HttpRequest, responder: Responder) -> None: ...

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
        self._first = True
        self._gains = StateGains()

    def observe(self, request: HttpRequest, responder: Responder, seconds: float) -> None:
        summary = summarize(self.app, request, responder, seconds)
        if self._first:
            self._first = False
            age = process_age()
            for sink in self.sinks:
                sink.cold_start(age)
        if self.state_sinks:
            self._state_changes()
        for sink in self.sinks:
            sink.record(summary, request, responder)

    def _state_changes(self) -> None:
        """Forward what `engine.counters` gained since the last request."""
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
