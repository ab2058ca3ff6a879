"""Operations: metrics, structured logs, health checks, graceful shutdown, tracing.

`install(app)` turns on what the environment asks for (see docs/operations.md);
`cloudmcp serve` calls it, and so should a Lambda handler or a host app that mounts
the MCP app. Each feature's module is imported only when that feature is on, so a
Lambda function with metrics off never loads prometheus_client or OpenTelemetry.
"""

from __future__ import annotations

import atexit
import logging
import os
import weakref
from typing import TYPE_CHECKING, Any, cast

import msgspec

from cloudmcp.ops.config import OpsConfig, Platform

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp
    from cloudmcp.ops.observer import Sink, StateSink
    from cloudmcp.ops.storewatch import StoreRecorder
    from cloudmcp.state.store import Store

__all__ = ["Ops", "OpsConfig", "install", "install_on_lambda"]

log = logging.getLogger("cloudmcp.ops")
_installed: weakref.WeakKeyDictionary[MCPApp, Ops] = weakref.WeakKeyDictionary()


class Ops(msgspec.Struct):
    """What `install` turned on for an app."""

    config: OpsConfig
    metrics: Any = None
    sinks: tuple[Any, ...] = ()

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


def install(
    app: MCPApp, *, platform: Platform | None = None, config: OpsConfig | None = None
) -> Ops:
    """Add metrics, access logs and tracing to `app`, as configured; idempotent.

    Call it before building the HTTP app (`app.http_app()`), which reads `app.routes`.
    """
    if app in _installed:
        return _installed[app]
    config = config or OpsConfig.from_env(platform=platform)
    from cloudmcp.ops.logs import AccessLog, configure_logging

    configure_logging(config)
    ops = Ops(config)
    sinks: list[Any] = []
    if config.metrics:
        sinks += _metrics_sinks(app, config, ops)
    if config.access_log:
        sinks.append(AccessLog(config))
    recorders = [s for s in sinks if hasattr(s, "store_operation")]
    if recorders:
        _watch_store(app, cast("list[StoreRecorder]", recorders))
    if config.tracing:
        from cloudmcp.ops.tracing import Tracing, configured_provider

        app.tracer = Tracing(configured_provider(app.name))
    if config.platform != "lambda":
        from cloudmcp.ops.shutdown import exit_cleanly_on_sigterm

        exit_cleanly_on_sigterm()
    if sinks:
        from cloudmcp.ops.observer import OpsObserver

        # Sinks that count per request what the engine counted (EMF); Prometheus reads
        # the engine's counters itself when it flushes.
        state = [s for s in sinks if hasattr(s, "cache_lookup")]
        observer = OpsObserver(app, cast("list[Sink]", sinks), cast("list[StateSink]", state))
        app.observers.append(observer)
        atexit.register(ops.flush)
    ops.sinks = tuple(sinks)
    _installed[app] = ops
    return ops


def install_on_lambda(app: MCPApp) -> Ops | None:
    """`install(app, platform="lambda")` inside a Lambda runtime; nothing elsewhere, so
    running a Lambda handler locally (tests, `cloudmcp lambda invoke`) prints no EMF."""
    if "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
        return None
    return install(app, platform="lambda")


def _metrics_sinks(app: MCPApp, config: OpsConfig, ops: Ops) -> list[Any]:
    if config.platform == "lambda":
        from cloudmcp.ops.emf import EmfSink

        return [EmfSink(config.emf_namespace, app.name)]
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
    try:
        from cloudmcp.ops import metrics
    except ImportError:
        log.warning("metrics are on, prometheus_client is missing: pip install 'cloudmcp[metrics]'")
        return []
    figures = metrics.process_metrics()
    metrics.describe_app(figures, app, config.platform)
    app.routes.setdefault("/metrics", metrics.metrics_route(figures, ops.flush))
    # At exit, after `ops.flush` has written the last counts into the shared files
    # (hooks run last-registered first), this worker's live gauges leave them.
    if folder:
        atexit.register(metrics.on_worker_exit)
    ops.metrics = figures
    return [metrics.PrometheusSink(figures, app)]


def _watch_store(app: MCPApp, recorders: list[StoreRecorder]) -> None:
    """Time the store's operations; only possible before the engine takes the store."""
    if app._engine is not None:
        log.debug("ops.install after the engine started: store operations are not timed")
        return
    from cloudmcp.ops.storewatch import WatchedStore
    from cloudmcp.state import open_store

    store = app._store or open_store(app.settings)
    watched = WatchedStore(store, recorders, timed=store.backend != "memory")
    app._store = cast("Store", watched)
