"""Health checks: liveness at `/health`, readiness at `/ready`, and a deep check at
`/health/deep` that answers `tools/list` in-process through the engine.

The server routes these before authentication and before the engine's Host and
Origin checks: a load balancer or Cloud Run probe calls them with whatever Host it
likes and no credentials.
"""

from __future__ import annotations

import platform
import time
from typing import TYPE_CHECKING, Any

from cloudmcp.ops.uptime import uptime
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.transport import JSON, Headers, HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.app.registry import Registry
    from cloudmcp.protocol.engine import Engine

#: A deep check slower than this is reported, not failed: the server still answers.
DEEP_SLOW_SECONDS = 1.0


async def health_report(registry: Registry, engine: Engine) -> dict[str, Any]:
    store_ok = await engine.store.ping()
    return {
        "status": "healthy" if store_ok else "degraded",
        "server": registry.name,
        "version": registry.version,
        "uptime_seconds": round(uptime(), 3),
        "environment": engine.settings.environment,
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "store": engine.store.backend,
        "store_reachable": store_ok,
        # "shared", or "per-process fallback" while the store is unreachable.
        "rate_limits": engine.limiter.mode,
        "closing": engine.closing.closing,
    }


async def health_response(registry: Registry, engine: Engine, *, ready: bool) -> tuple[int, bytes]:
    """Liveness (200 unless the app cannot run at all) or readiness (503 while the store
    is unreachable or the server is shutting down, so no new traffic comes here)."""
    try:
        report = await health_report(registry, engine)
    except Exception as exc:  # the store cannot even be asked: restart us
        return 503, jsonrpc.encode({"status": "unhealthy", "error": type(exc).__name__})
    if ready:
        ok = report["store_reachable"] and not report["closing"]
        report["status"] = "ready" if ok else "not ready"
        return (200 if ok else 503), jsonrpc.encode(report)
    return 200, jsonrpc.encode(report)


class _Captured(Responder):
    """Keeps the engine's answer in memory."""

    def __init__(self) -> None:
        self.body = b""
        self.chunks: list[bytes] = []

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status = status
        self.body = body

    async def start_stream(self, headers: Headers) -> None:
        self.status = 200

    async def write(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    async def end_stream(self) -> None:
        pass


DEEP_REQUEST = {
    "jsonrpc": "2.0",
    "id": "health",
    "method": "tools/list",
    "params": {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "cloudmcp-health", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    },
}


async def deep_check(engine: Engine) -> dict[str, Any]:
    """`tools/list` through the 2026-07-28 request path, without the network.

    It goes in below the server's Host/Origin check (a probe's Host is arbitrary) and
    below authentication (the check has no principal, so scoped tools are simply not listed).
    """
    request = HttpRequest(
        "POST",
        {
            "content-type": JSON,
            "accept": JSON,
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": "tools/list",
        },
        jsonrpc.encode(DEEP_REQUEST),
        path="/health/deep",
    )
    captured = _Captured()
    started = time.perf_counter()
    try:
        await engine.handle(request, captured)
    except Exception as exc:  # what the engine would turn into a 500
        return {"method": "tools/list", "ok": False, "error": type(exc).__name__}
    seconds = time.perf_counter() - started
    check: dict[str, Any] = {"method": "tools/list", "ms": round(seconds * 1000, 3)}
    try:
        answer = jsonrpc.decode(captured.body)
        tools = answer["result"]["tools"]
    except (ValueError, KeyError, TypeError):
        check.update(ok=False, status=captured.status, error=_error_text(captured.body))
        return check
    check.update(ok=captured.status == 200, tools=len(tools), slow=seconds > DEEP_SLOW_SECONDS)
    return check


def _error_text(body: bytes) -> str:
    try:
        return str(jsonrpc.decode(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return "no JSON-RPC answer"


async def deep_response(registry: Registry, engine: Engine) -> tuple[int, bytes]:
    try:
        report = await health_report(registry, engine)
        check = await deep_check(engine)
    except Exception as exc:
        return 503, jsonrpc.encode({"status": "unhealthy", "error": type(exc).__name__})
    report["tools_list"] = check
    healthy = check["ok"] and report["store_reachable"]
    report["status"] = "healthy" if healthy else "unhealthy"
    return (200 if healthy else 503), jsonrpc.encode(report)


class Health:
    """The routes `/health`, `/health/deep` and `/ready` of one served app."""

    def __init__(self, registry: Registry, engine: Engine) -> None:
        self.registry = registry
        self.engine = engine

    async def route(self, request: HttpRequest, responder: Responder) -> None:
        path = "/" + request.path.strip("/")
        if path == "/health/deep":
            status, body = await deep_response(self.registry, self.engine)
        else:
            ready = path == "/ready"
            status, body = await health_response(self.registry, self.engine, ready=ready)
        headers = [("content-type", JSON), ("cache-control", "no-store")]
        await responder.respond(status, headers, body)
