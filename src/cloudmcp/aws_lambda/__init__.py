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


def lambda_handler(
    app: Composable, path: str = "/mcp", *, bind_host: str | None = None
) -> LambdaHandler:
    """A Lambda function handler serving `app` at `path`, in direct mode."""
    from cloudmcp.aws_lambda.direct import LambdaHandler

    read_secrets()
    return LambdaHandler(app, path, bind_host=bind_host)


def asgi_handler(app: Any, *, api_gateway_base_path: str = "/") -> AsgiHandler:
    """A Lambda function handler running the ASGI `app` under Mangum (`cloudmcp[lambda-asgi]`)."""
    from cloudmcp.aws_lambda.asgi import AsgiHandler

    read_secrets()
    return AsgiHandler(app, api_gateway_base_path=api_gateway_base_path)


def default_handler() -> LambdaHandler:
    """The handler for `CLOUDMCP_APP`, served at `CLOUDMCP_PATH` (default `/mcp`)."""
    from cloudmcp.loader import load_app

    read_secrets()  # before the app module runs: it may read settings at import
    app = load_app(os.environ.get("CLOUDMCP_APP") or None)
    return lambda_handler(app, os.environ.get("CLOUDMCP_PATH") or "/mcp")


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        # `handler` is made on first lookup, once: importing the package for
        # `lambda_handler` must not load the default app.
        if name == "handler":
            made = globals()["handler"] = default_handler()
            return made
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
