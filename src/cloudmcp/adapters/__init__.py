"""Serve an app written for another Python MCP framework through cloudmcp's engine.

`adapt(obj)` recognises the framework by the object's type, read off its class and its
bases by module and name, so a native `MCPApp` never imports any framework. Each
framework has one module that lists and calls the app's tools, resources and prompts
through that framework's public API and gives its request context a session that talks
back to the client through cloudmcp's `Context`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudmcp.application import MCPApp

#: (module, qualified name) of a framework's server class -> the module that adapts it.
FRAMEWORKS: dict[tuple[str, str], str] = {
    ("mcp.server.fastmcp.server", "FastMCP"): "cloudmcp.adapters.sdk_v1",
    ("mcp.server.mcpserver.server", "MCPServer"): "cloudmcp.adapters.sdk_v2",
    ("fastmcp.server.server", "FastMCP"): "cloudmcp.adapters.fastmcp",
}


def framework_of(obj: Any) -> str | None:
    """The adapter module for `obj`, or None when no framework made it."""
    for cls in type(obj).__mro__:
        module = FRAMEWORKS.get((cls.__module__, cls.__qualname__))
        if module is not None:
            return module
    return None


def adapt(obj: Any) -> MCPApp | None:
    """An `MCPApp` serving `obj`, when another framework made it; None otherwise."""
    module = framework_of(obj)
    if module is None:
        return None
    app: MCPApp = importlib.import_module(module).adapt(obj)
    return app


__all__ = ["FRAMEWORKS", "adapt", "framework_of"]
