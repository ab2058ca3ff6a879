"""cloudmcp on AWS Lambda.

Point the function's handler at `cloudmcp.aws_lambda.handler` and name the app in the
`CLOUDMCP_APP` environment variable (`module:attr` or `path/to/file.py[:attr]`, as
`cloudmcp serve` takes; default: the built-in example). Or, in your own module:

    from cloudmcp.aws_lambda import lambda_handler
    handler = lambda_handler(app)

For your own ASGI routes beside `/mcp` (FastAPI, Starlette), `asgi_handler(asgi_app)`
runs the whole ASGI app under Mangum, its lifespan started once per execution environment.

Importing this package stays cheap (no web server, no pydantic, no Redis client): Lambda
pays for every import on a cold start. `handler` is built when first looked up, which
the Lambda runtime does while it initializes the function.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudmcp.aws_lambda.asgi import AsgiHandler
    from cloudmcp.aws_lambda.direct import LambdaHandler
    from cloudmcp.compose import Composable

    #: The handler for the app named by `CLOUDMCP_APP` (`CLOUDMCP_PATH`: its endpoint).
    handler: LambdaHandler

__all__ = ["asgi_handler", "handler", "lambda_handler", "read_secrets"]


def read_secrets() -> None:
    """Set `<NAME>` from AWS Secrets Manager for each `<NAME>_SECRET_ID` variable, once, before
    settings are read (secrets.py). Without such variables nothing is imported."""
    if any(name.endswith("_SECRET_ID") for name in os.environ):
        from cloudmcp.aws_lambda.secrets import load_secrets

        load_secrets()


def check_settings() -> None:
    """Every setting checked at init (after secrets are read): a bad one is one line in the
    function's log, and the init fails with exit status 2 instead of each request failing;
    settings that start but misbehave later get a warning line."""
    import sys

    from cloudmcp.errors import ConfigurationError
    from cloudmcp.startup import check_settings as check
    from cloudmcp.startup import start_up_warnings

    try:
        settings = check()
    except ConfigurationError as exc:
        print(f"cloudmcp: bad setting: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    for warning in start_up_warnings(settings, os.environ):
        print(f"cloudmcp: warning: {warning}", file=sys.stderr, flush=True)


def lambda_handler(
    app: Composable, path: str = "/mcp", *, bind_host: str | None = None
) -> LambdaHandler:
    """A Lambda function handler serving `app` at `path`, in direct mode."""
    from cloudmcp.aws_lambda.direct import LambdaHandler

    read_secrets()
    check_settings()
    return LambdaHandler(app, path, bind_host=bind_host)


def asgi_handler(app: Any, *, api_gateway_base_path: str = "/") -> AsgiHandler:
    """A Lambda function handler running the ASGI `app` under Mangum (`cloudmcp[lambda-asgi]`)."""
    from cloudmcp.aws_lambda.asgi import AsgiHandler

    read_secrets()
    check_settings()
    return AsgiHandler(app, api_gateway_base_path=api_gateway_base_path)


def default_handler() -> LambdaHandler:
    """The handler for `CLOUDMCP_APP`, served at `CLOUDMCP_PATH` (default `/mcp`)."""
    from cloudmcp.loader import load_app

    read_secrets()  # before the app module runs: it may read settings at import
    check_settings()
    path = os.environ.get("CLOUDMCP_PATH") or "/mcp"
    if os.environ.get("CLOUDMCP_STDIO"):  # a stdio server is served instead of CLOUDMCP_APP
        return stdio_handler(path)
    app = load_app(os.environ.get("CLOUDMCP_APP") or None)
    from cloudmcp.aws_lambda.direct import LambdaHandler

    return LambdaHandler(app, path)


def stdio_handler(path: str = "/mcp") -> LambdaHandler:
    """The handler for the stdio server `CLOUDMCP_STDIO` names (a shell-quoted command).
    Its first child starts in the function's init phase and lives across warm invocations;
    one request at a time reaches an execution environment, so one child is enough."""
    from cloudmcp.aws_lambda.direct import LambdaHandler
    from cloudmcp.stdio import StdioApp, StdioConfig, command_from_env

    app = StdioApp(command_from_env() or [], StdioConfig.from_env(pool_size=1))
    handler = LambdaHandler(app, path)
    handler.loop.run_until_complete(app.start())
    return handler


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        # `handler` is made on first lookup, once: importing the package for
        # `lambda_handler` must not load the default app.
        if name == "handler":
            made = globals()["handler"] = default_handler()
            return made
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
