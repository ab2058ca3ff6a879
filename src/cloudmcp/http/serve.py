"""`cloudmcp serve`: run an app over Streamable HTTP with uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


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
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--path", default="/mcp", help="the MCP endpoint's path (default /mcp)")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())
    parser.add_argument(
        "--graceful-timeout",
        type=float,
        default=float(os.environ.get("GRACEFUL_TIMEOUT", "8")),
        help="seconds in-flight requests get to finish on SIGTERM",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from cloudmcp.app.loader import AppNotFound, load_app

    try:
        app = load_app(args.target)
    except AppNotFound as exc:
        print(f"cloudmcp serve: {exc}", file=sys.stderr)
        return 2
    app.bind_host = args.host
    from cloudmcp import ops

    # Metrics, logs and tracing as the environment asks; before http_app reads the routes.
    try:
        installed = ops.install(app)
    except ValueError as exc:  # a malformed switch (LOG_FORMAT, ACCESS_LOG_SAMPLE_RATE, ...)
        print(f"cloudmcp serve: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app.http_app(args.path),
        **installed.uvicorn_options(),
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
    return 0
