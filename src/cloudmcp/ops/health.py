"""Health checks: liveness at `/health`, readiness at `/ready`."""

from __future__ import annotations

import platform
import time
from typing import TYPE_CHECKING, Any

from cloudmcp.protocol import jsonrpc

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

STARTED = time.monotonic()


async def health_report(app: MCPApp) -> dict[str, Any]:
    engine = app.engine
    store_ok = await engine.store.ping()
    return {
        "status": "healthy" if store_ok else "degraded",
        "server": app.name,
        "version": app.version,
        "uptime_seconds": round(time.monotonic() - STARTED, 3),
        "environment": app.settings.environment,
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "store": engine.store.backend,
        "store_reachable": store_ok,
    }


async def health_response(app: MCPApp, *, ready: bool) -> tuple[int, bytes]:
    report = await health_report(app)
    if ready:
        ok = report["store_reachable"] and not app.engine.closing
        report["status"] = "ready" if ok else "not ready"
        return (200 if ok else 503), jsonrpc.encode(report)
    return 200, jsonrpc.encode(report)
