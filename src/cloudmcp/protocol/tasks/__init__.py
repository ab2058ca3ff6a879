"""The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663), durable across instances.

A client that declares the extension in a request's `_meta` may get a task instead of a
result for a `tools/call`, then polls `tasks/get`, answers questions with `tasks/update`
and may `tasks/cancel`, on any instance. The record of each task lives in the `Store`
(`state/tasks.py`) before its id is returned; the work runs on whichever instance claims
it (`worker.py`), under a lease another instance takes over when it runs out.

    methods.py   create a task; tasks/get, tasks/update, tasks/cancel
    worker.py    claim, run, renew, park, finish, hand back; the sweep
    exchange.py  what a tool's Context talks to inside a task
"""

from __future__ import annotations

from typing import Any

from cloudmcp.errors import MCPError
from cloudmcp.protocol.errors import MISSING_REQUIRED_CLIENT_CAPABILITY

EXTENSION = "io.modelcontextprotocol/tasks"


def declared(capabilities: dict[str, Any]) -> bool:
    """Whether this request's client capabilities declare the tasks extension."""
    extensions = capabilities.get("extensions")
    return isinstance(extensions, dict) and isinstance(extensions.get(EXTENSION), dict)


def not_declared(what: str) -> MCPError:
    """-32021 for a request that needs the extension its client did not declare."""
    return MCPError(
        MISSING_REQUIRED_CLIENT_CAPABILITY,
        f"Missing required client capability: extension {EXTENSION} ({what})",
        {"requiredCapabilities": {"extensions": {EXTENSION: {}}}},
        status=400,
    )


__all__ = ["EXTENSION", "declared", "not_declared"]
