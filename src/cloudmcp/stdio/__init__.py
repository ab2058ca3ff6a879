"""Any stdio MCP server behind cloudmcp: `cloudmcp serve --stdio -- COMMAND ARGS...`.

`StdioApp` runs the command as a pool of child processes and serves what they offer
over Streamable HTTP, in both protocol eras, with the whole of cloudmcp's edge. On
AWS Lambda, `cloudmcp.aws_lambda.handler` serves the command `CLOUDMCP_STDIO` names.
"""

from __future__ import annotations

from cloudmcp.stdio.bridge import StdioApp, StdioConfig, command_from_env

__all__ = ["StdioApp", "StdioConfig", "command_from_env"]
