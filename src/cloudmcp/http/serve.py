"""`cloudmcp serve`: run an app over Streamable HTTP with uvicorn."""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudmcp.http.asgi import HttpApp
    from cloudmcp.ops import OpsConfig

#: How a worker process learns what its parent was asked to serve.
_WORKER_ENV = ("CLOUDMCP_SERVE_TARGET", "CLOUDMCP_SERVE_PATH", "CLOUDMCP_SERVE_HOST")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve an MCPApp over Streamable HTTP",
        description="Serve an MCPApp at /mcp. With no target, serves the built-in example.",
    )
    parser.add_argument(
        "target", nargs="?", help="module:attr or path/to/file.py[:attr] (default: the example)"
    )
    # Cloud Run sets PORT and expects every interface; locally, stay on loopback.
    in_container = "PORT" in os.environ
    parser.add_argument(
        # In a container the platform's proxy must reach us; elsewhere stay on loopback.
        "--host",
        default=os.environ.get("HOST", "0.0.0.0" if in_container else "127.0.0.1"),  # nosec B104
    )
    # String defaults go through `type` like arguments: a malformed variable is a usage error.
    parser.add_argument("--port", type=int, default=os.environ.get("PORT") or "8000")
    parser.add_argument("--path", default="/mcp", help="the MCP endpoint's path (default /mcp)")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())
    parser.add_argument(
        "--graceful-timeout",
        type=float,
        default=os.environ.get("GRACEFUL_TIMEOUT") or "8",
        help="seconds in-flight requests get to finish on SIGTERM",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.environ.get("WORKERS") or "1",
        help="processes serving the port, one per core (more than one needs REDIS_URL)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cloudmcp import ops
    from cloudmcp.errors import AppNotFound
    from cloudmcp.loader import load_app

    try:
        app = load_app(args.target)
        # Metrics, logs and tracing as the environment asks; before http_app reads the routes.
        config = ops.OpsConfig.from_env()
    # Not found, or a malformed switch (LOG_FORMAT, ACCESS_LOG_SAMPLE_RATE, ...).
    except (AppNotFound, ValueError) as exc:
        return _refuse(str(exc))
    if args.workers < 1:
        return _refuse(f"--workers {args.workers}: expected 1 or more")
    if args.workers == 1:
        http_app = app.http_app(args.path, bind_host=args.host, operations=config)
        _uvicorn(args, http_app, ops.Ops(config).uvicorn_options())
        return 0
    if not app.settings.redis_url:
        # Sessions, SSE history, caches and rate limits would each live in one worker,
        # and a session's next request lands on any of them.
        return _refuse(f"--workers {args.workers} needs REDIS_URL: workers share state there")
    return _run_workers(args, config, sealed_by_one_ring=not app.settings.state_keys)


def _refuse(message: str) -> int:
    print(f"cloudmcp serve: {message}", file=sys.stderr)
    return 2


def _run_workers(args: argparse.Namespace, config: OpsConfig, *, sealed_by_one_ring: bool) -> int:
    """Serve the port from `args.workers` processes, each building the app itself
    (`worker_app`), under uvicorn's supervisor, which restarts a worker that dies."""
    from cloudmcp.ops import Ops, logs

    logs.configure_logging(config)  # the supervisor's own lines, in the workers' format
    os.environ.update(zip(_WORKER_ENV, (args.target or "", args.path, args.host), strict=True))
    if sealed_by_one_ring:
        # Without STATE_KEYS each process seals MRTR requestState with a key of its own,
        # and a retry landing on another worker could not open it: give them one.
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        os.environ["STATE_KEYS"] = f"workers:{key}"
    made_folder = None
    if config.metrics and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every worker writes its counts there, and a scrape, whichever worker takes it,
        # adds them all up.
        made_folder = tempfile.mkdtemp(prefix="cloudmcp-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made_folder
    options = {**Ops(config).uvicorn_options(), "factory": True, "workers": args.workers}
    try:
        _uvicorn(args, f"{__name__}:worker_app", options)
    finally:
        if made_folder:
            shutil.rmtree(made_folder, ignore_errors=True)
    return 0


def worker_app() -> HttpApp:
    """The ASGI app of one worker of `cloudmcp serve --workers N`."""
    from cloudmcp.loader import load_app
    from cloudmcp.ops import OpsConfig

    target, path, host = (os.environ[name] for name in _WORKER_ENV)
    app = load_app(target or None)
    return app.http_app(path, bind_host=host, operations=OpsConfig.from_env())


def _uvicorn(args: argparse.Namespace, app: Any, options: dict[str, Any]) -> None:
    import uvicorn

    uvicorn.run(
        app,
        **options,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        timeout_graceful_shutdown=args.graceful_timeout,
        server_header=False,
        # Forwarded headers are honoured by the app itself, and only from trusted proxies.
        proxy_headers=False,
    )
