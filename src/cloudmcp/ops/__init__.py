"""Operations: metrics, structured logs, health checks, graceful shutdown, tracing.

`Ops.start(config, registry)` turns on what the environment asks for (see
docs/operations.md); the composition step (`cloudmcp.compose`) calls it when an app is
served with operations on (`cloudmcp serve`, the Lambda handler in a Lambda runtime,
`app.http_app(operations=OpsConfig.from_env())` in a host app). Each feature's module is
imported only when that feature is on, so a Lambda function with metrics off never loads
prometheus_client or OpenTelemetry.
"""

from __future__ import annotations

import atexit
import logging
import os
from typing import TYPE_CHECKING, Any, cast

from cloudmcp.ops.config import OpsConfig, Platform

if TYPE_CHECKING:
    from cloudmcp.app.registry import Registry
    from cloudmcp.auth.hosts import HostPolicy
    from cloudmcp.ops.observer import OpsObserver, Sink, StateSink
    from cloudmcp.ops.storewatch import StoreRecorder
    from cloudmcp.protocol.engine import Engine
    from cloudmcp.server import Route, Tracer
    from cloudmcp.state.store import Store

__all__ = ["Ops", "OpsConfig", "Platform"]

log = logging.getLogger("cloudmcp.ops")


class Ops:
    """What operations turned on for one served app: its sinks, routes and tracer."""

    def __init__(self, config: OpsConfig) -> None:
        self.config = config
        #: The Prometheus figures, when metrics are scraped (`/metrics`).
        self.metrics: Any = None
        self.sinks: tuple[Any, ...] = ()
        #: Routes beside the MCP endpoint (`/metrics`).
        self.routes: dict[str, Route] = {}
        self.tracer: Tracer | None = None
        #: The engine whose state counters the sinks read, once there is one.
        self.engine: Engine | None = None

    @classmethod
    def start(cls, config: OpsConfig, registry: Registry) -> Ops:
        """Configure logging and make the sinks, routes and tracer `config` asks for."""
        from cloudmcp.ops.logs import AccessLog, configure_logging

        configure_logging(config)
        ops = cls(config)
        sinks: list[Any] = []
        if config.metrics:
            sinks += ops._metrics_sinks(registry)
        if config.access_log:
            sinks.append(AccessLog(config))
        if config.tracing:
            from cloudmcp.ops.tracing import Tracing, configured_provider

            ops.tracer = Tracing(configured_provider(registry.name))
        if config.platform != "lambda":
            from cloudmcp.ops.shutdown import exit_cleanly_on_sigterm

            exit_cleanly_on_sigterm()
        if sinks:
            atexit.register(ops.flush)
        ops.sinks = tuple(sinks)
        return ops

    def watch(self, store: Store) -> Store:
        """The store, its operations timed for the sinks that record them."""
        recorders = [s for s in self.sinks if hasattr(s, "store_operation")]
        if not recorders:
            return store
        from cloudmcp.ops.storewatch import WatchedStore

        timed = store.backend != "memory"
        watched = WatchedStore(store, cast("list[StoreRecorder]", recorders), timed=timed)
        return cast("Store", watched)

    def observer(self, registry: Registry, engine: Engine, hosts: HostPolicy) -> OpsObserver | None:
        """The observer that has the sinks record each answered request."""
        self.engine = engine
        if not self.sinks:
            return None
        from cloudmcp.ops.observer import OpsObserver

        # Sinks that count per request what the engine counted (EMF); Prometheus reads
        # the engine's counters itself when it flushes.
        state = [s for s in self.sinks if hasattr(s, "cache_lookup")]
        return OpsObserver(
            registry,
            engine,
            hosts,
            cast("list[Sink]", list(self.sinks)),
            cast("list[StateSink]", state),
        )

    def flush(self) -> None:
        """Hand counts to prometheus_client and write buffered log and EMF lines now
        (before a scrape, at the end of a Lambda invocation, at exit)."""
        from cloudmcp.ops.logs import flush_lines

        for sink in self.sinks:
            if hasattr(sink, "flush"):
                sink.flush()
        flush_lines()

    def uvicorn_options(self) -> dict[str, Any]:
        """Keyword arguments for `uvicorn.run`: with JSON logs, leave uvicorn's loggers to us."""
        return {"log_config": None} if self.config.log_format == "json" else {}

    def _metrics_sinks(self, registry: Registry) -> list[Any]:
        config = self.config
        if config.platform == "lambda":
            from cloudmcp.ops.emf import EmfSink

            # `service.name` as OpenTelemetry resources name it; the deploy's alarms match it.
            service = os.environ.get("OTEL_SERVICE_NAME") or registry.name
            return [EmfSink(config.emf_namespace, service)]
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if folder:
            os.makedirs(folder, exist_ok=True)
        try:
            from cloudmcp.ops import metrics
        except ImportError:
            log.warning(
                "metrics are on, prometheus_client is missing: pip install 'cloudmcp[metrics]'"
            )
            return []
        figures = metrics.process_metrics()
        figures.info.labels(registry.name, registry.version, config.platform).set(1)
        self.routes["/metrics"] = metrics.metrics_route(figures, self.flush)
        # At exit, after `flush` has written the last counts into the shared files
        # (hooks run last-registered first), this worker's live gauges leave them.
        if folder:
            atexit.register(metrics.on_worker_exit)
        self.metrics = figures
        return [metrics.PrometheusSink(figures, self)]
