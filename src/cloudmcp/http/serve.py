"""`cloudmcp serve`: run an app over Streamable HTTP with uvicorn."""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shlex
import shutil
import sys
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cloudmcp.errors import ConfigurationError
from cloudmcp.startup import (
    LOG_LEVELS,
    check_settings,
    option_or_env,
    refuse,
    start_up_warnings,
)

if TYPE_CHECKING:
    from cloudmcp.application import MCPApp
    from cloudmcp.http.asgi import HttpApp
    from cloudmcp.ops import OpsConfig
    from cloudmcp.settings import Settings

#: How a worker process learns what its parent was asked to serve.
_WORKER_ENV = ("CLOUDMCP_SERVE_TARGET", "CLOUDMCP_SERVE_PATH", "CLOUDMCP_SERVE_HOST")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve an MCPApp over Streamable HTTP",
        description="Serve an MCPApp at /mcp. With no target, serves the built-in example. "
        "Every option falls back to the environment variable named in its help, then to "
        "its default; every setting is checked before the server starts.",
    )
    parser.add_argument(
        "target", nargs="?", help="module:attr or path/to/file.py[:attr] (default: the example)"
    )
    # Read in run(), not here: a malformed variable must not break `--help` or other commands.
    parser.add_argument(
        "--host",
        help="the address to listen on ($HOST; default 127.0.0.1, or 0.0.0.0 when $PORT is "
        "set, as in a container or on Cloud Run)",
    )
    parser.add_argument("--port", type=int, help="the port to listen on ($PORT; default 8000)")
    parser.add_argument("--path", default="/mcp", help="the MCP endpoint's path (default /mcp)")
    parser.add_argument(
        "--log-level",
        help=f"{', '.join(LOG_LEVELS)} ($LOG_LEVEL; default info)",
    )
    parser.add_argument(
        "--graceful-timeout",
        type=float,
        help="seconds in-flight requests get to finish on SIGTERM ($GRACEFUL_TIMEOUT; default 8)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="processes serving the port, one per core; more than one needs REDIS_URL "
        "($WORKERS; default 1)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        help="seconds a connection gets to send a request's headers, then it is closed "
        "($HEADER_TIMEOUT; default 10; 0: no limit)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        help="seconds a request gets to send its body after its headers "
        "($BODY_TIMEOUT; default 60; 0: no limit)",
    )
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="serve the stdio MCP server run by the command after --: "
        "cloudmcp serve --stdio -- npx -y PACKAGE (or set CLOUDMCP_STDIO)",
    )
    parser.set_defaults(run=run)


def _resolve(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """Each option as given, else from its environment variable, else its default; checked."""
    from cloudmcp.http.deadlines import BODY_TIMEOUT, HEADER_TIMEOUT

    # A container's platform must reach it; the Host check stays on (auth/hosts.py).
    wildcard = "0.0.0.0" if env.get("PORT") else "127.0.0.1"  # nosec B104
    args.host = args.host or env.get("HOST") or wildcard
    args.port = option_or_env(args.port, "PORT", env, 8000, int, 0, 65535)
    args.log_level = (args.log_level or env.get("LOG_LEVEL") or "info").lower()
    if args.log_level not in LOG_LEVELS:
        raise ConfigurationError(
            f"--log-level {args.log_level!r}: expected one of {', '.join(LOG_LEVELS)}"
        )
    args.graceful_timeout = option_or_env(
        args.graceful_timeout, "GRACEFUL_TIMEOUT", env, 8.0, float, 0
    )
    args.workers = option_or_env(args.workers, "WORKERS", env, 1, int, 1)
    args.header_timeout = option_or_env(
        args.header_timeout, "HEADER_TIMEOUT", env, HEADER_TIMEOUT, float, 0
    )
    args.body_timeout = option_or_env(
        args.body_timeout, "BODY_TIMEOUT", env, BODY_TIMEOUT, float, 0
    )


def run(args: argparse.Namespace) -> int:
    from cloudmcp import ops
    from cloudmcp.errors import AppNotFound
    from cloudmcp.loader import load_app

    try:
        check_settings()
        _resolve(args, os.environ)
        app = _stdio_app(args) or load_app(args.target)
        # Metrics, logs and tracing as the environment asks; before http_app reads the routes.
        config = ops.OpsConfig.from_env()
    # Not found, or a malformed switch (LOG_FORMAT, ACCESS_LOG_SAMPLE_RATE, ...).
    except (AppNotFound, ValueError) as exc:
        return refuse("cloudmcp serve", exc)
    if args.workers > 1 and not app.settings.redis_url:
        # Sessions, SSE history, caches and rate limits would each live in one worker,
        # and a session's next request lands on any of them.
        return refuse(
            "cloudmcp serve", f"--workers {args.workers} needs REDIS_URL: workers share state there"
        )
    _prepare_process(args)
    if args.workers == 1:
        http_app = app.http_app(args.path, bind_host=args.host, operations=config)
        _announce(args, http_app.service.settings)
        _uvicorn(args, http_app, ops.Ops(config).uvicorn_options())
        return 0
    return _run_workers(args, config, sealed_by_one_ring=not app.settings.state_keys)


def _prepare_process(args: argparse.Namespace) -> None:
    """Deadlines for every worker (they read them from the environment), and as many open
    connections as the system lets this process have."""
    from cloudmcp.http.deadlines import DeadlineProtocol

    os.environ["HEADER_TIMEOUT"] = f"{args.header_timeout:g}"
    os.environ["BODY_TIMEOUT"] = f"{args.body_timeout:g}"
    DeadlineProtocol.header_timeout = args.header_timeout
    DeadlineProtocol.body_timeout = args.body_timeout
    raise_open_files_limit()


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard limit (often 1024 and 1048576): each
    connection holds one. The new soft limit."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):  # macOS caps the soft limit lower than "unlimited"
        return soft
    return wanted


def _announce(args: argparse.Namespace, settings: Settings) -> None:
    """One line with the URL an MCP client connects to, and a warning for what would
    start but misbehave later."""
    import logging

    from cloudmcp.auth.hosts import WILDCARD_BINDS

    log = logging.getLogger("cloudmcp")
    host = args.host
    everywhere = host in WILDCARD_BINDS
    shown = "127.0.0.1" if everywhere else f"[{host}]" if ":" in host else host
    where = " (listening on every interface)" if everywhere else ""
    log.info("MCP endpoint: http://%s:%s%s%s", shown, args.port, args.path, where)
    for warning in start_up_warnings(settings, os.environ):
        log.warning(warning)


def _stdio_app(args: argparse.Namespace) -> MCPApp | None:
    """The app bridging a stdio server, when `--stdio -- COMMAND...` or `CLOUDMCP_STDIO`
    asks for one (the command then reaches `--workers` processes through the latter)."""
    trailing: list[str] = getattr(args, "trailing", [])
    if args.stdio != bool(trailing) or (trailing and args.target):
        raise ValueError("--stdio takes the server's command after --: --stdio -- COMMAND ARGS...")
    if not trailing and (args.target or not os.environ.get("CLOUDMCP_STDIO")):
        return None
    from cloudmcp.stdio import StdioApp, command_from_env

    if trailing:
        os.environ["CLOUDMCP_STDIO"] = shlex.join(trailing)
    return StdioApp(command_from_env() or [])


def _run_workers(args: argparse.Namespace, config: OpsConfig, *, sealed_by_one_ring: bool) -> int:
    """Serve the port from `args.workers` processes, each building the app itself
    (`worker_app`), under uvicorn's supervisor, which restarts a worker that dies."""
    from cloudmcp.ops import Ops, logs

    logs.configure_logging(config)  # the supervisor's own lines, in the workers' format
    _announce(args, check_settings())
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
    if not target and os.environ.get("CLOUDMCP_STDIO"):
        from cloudmcp.stdio import StdioApp, command_from_env

        app: MCPApp = StdioApp(command_from_env() or [])
    else:
        app = load_app(target or None)
    return app.http_app(path, bind_host=host, operations=OpsConfig.from_env())


def _uvicorn(args: argparse.Namespace, app: Any, options: dict[str, Any]) -> None:
    import uvicorn

    from cloudmcp.http.deadlines import DeadlineProtocol

    uvicorn.run(
        app,
        **options,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=DeadlineProtocol,
        timeout_graceful_shutdown=args.graceful_timeout,
        server_header=False,
        # Forwarded headers are honoured by the app itself, and only from trusted proxies.
        proxy_headers=False,
    )
