"""The one observer operations add: finds what kind of request each answered one was,
and has the sinks record it with what they prepared for that kind.

Under load most requests are of a few kinds (the same method, tool, revision and
status). Describing one and deriving its labels and log fields costs more than the
rest of the bookkeeping, so it happens once per kind: a request then costs one lookup
and each sink's few increments or one formatted line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from cloudmcp.ops.coldstart import process_age
from cloudmcp.ops.summary import Summary, describe, rejection_cause
from cloudmcp.protocol.transport import SESSION_HEADER, HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.app.registry import Registry
    from cloudmcp.auth.hosts import HostPolicy
    from cloudmcp.protocol.engine import Engine

log = logging.getLogger("cloudmcp.ops")

#: Records one answered request of a known kind, and how many seconds it took.
Recorder = Callable[[HttpRequest, float], None]

#: Kinds kept prepared; a flood of new kinds (invented resource URIs) only resets them.
KINDS_KEPT = 512
#: Names (resource URIs, tool names) longer than this are described request by request.
NAME_KEPT = 256


class Sink(Protocol):
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
    def __init__(
        self,
        registry: Registry,
        engine: Engine,
        hosts: HostPolicy,
        sinks: list[Sink],
        state_sinks: list[StateSink],
    ) -> None:
        self.registry = registry
        self.engine = engine
        self.hosts = hosts
        self.sinks = sinks
        self.state_sinks = state_sinks
        self._first = True
        self._failed = False
        self._gains = StateGains()
        self._kinds: dict[tuple[object, ...], list[Recorder]] = {}

    def observe(self, request: HttpRequest, responder: Responder, seconds: float) -> None:
        if self._first:
            self._first = False
            age = process_age()
            for sink in self.sinks:
                sink.cold_start(age)
        if self.state_sinks:
            self._state_changes()
        status = responder.status
        cause = rejection_cause(self.hosts, request, status) if status >= 400 else None
        info = request.info
        # Everything `describe` reads.
        key = (info.method, info.name, info.version, info.error, info.tool_error, status,
               request.method, request.path, SESSION_HEADER in request.headers, cause)  # fmt: skip
        recorders = self._kinds.get(key)
        if recorders is None:
            recorders = self._prepare(key, request, status, cause)
        for record in recorders:
            try:
                record(request, seconds)
            except Exception:  # a bookkeeping bug must not fail the request, nor flood the log
                if not self._failed:
                    self._failed = True
                    log.exception("recording a request for metrics and logs failed")

    def _prepare(
        self, key: tuple[object, ...], request: HttpRequest, status: int, cause: str | None
    ) -> list[Recorder]:
        summary = describe(self.registry, request, status, cause)
        prepared = (sink.recorder(summary) for sink in self.sinks)
        recorders = [record for record in prepared if record is not None]
        name = request.info.name
        if name is None or len(name) <= NAME_KEPT:
            kinds = self._kinds
            if len(kinds) >= KINDS_KEPT:
                kinds.clear()
            kinds[key] = recorders
        return recorders

    def _state_changes(self) -> None:
        """Forward what `engine.counters` gained since the last request."""
        hits, misses, limited = self._gains.since_last(self.engine)
        if not (hits or misses or limited):
            return
        for sink in self.state_sinks:
            for _ in range(hits):
                sink.cache_lookup(True)
            for _ in range(misses):
                sink.cache_lookup(False)
            for _ in range(limited):
                sink.rate_limited()
