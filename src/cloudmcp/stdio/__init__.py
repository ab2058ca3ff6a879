"""Any stdio MCP server behind cloudmcp: `cloudmcp serve --stdio -- COMMAND ARGS...`.

`StdioApp` runs the command as a pool of child processes and serves what they offer
over Streamable HTTP, in both protocol eras, with the whole of cloudmcp's edge. On
AWS Lambda, set `CLOUDMCP_STDIO` to the command line (see `lambda_handler`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudmcp.stdio.bridge import StdioApp, StdioConfig, command_from_env

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cloudmcp.aws_lambda.direct import LambdaHandler

__all__ = ["StdioApp", "StdioConfig", "command_from_env", "lambda_handler"]


def lambda_handler(argv: Sequence[str], path: str = "/mcp") -> LambdaHandler:
    """A Lambda handler serving the stdio server `argv`. Its first child starts in the
    function's init phase and, with the rest of the pool, lives across warm invocations."""
    from cloudmcp.aws_lambda import lambda_handler as make

    # One request at a time reaches an execution environment: one child is enough.
    app = StdioApp(argv, StdioConfig.from_env(pool_size=1))
    handler = make(app, path)
    handler.loop.run_until_complete(app.start())
    return handler
