"""Which scopes a request needs, read from the tool, prompt or resource it names.

Checked at the HTTP layer, before the engine runs anything, so a caller short of a
scope gets the 403 `insufficient_scope` challenge the MCP authorization spec asks for
(and an OAuth client can step up), in either protocol era. The engine's own checks stay
as a second line: they hide what a caller may not use from every list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.errors import MCPError

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

#: Methods that name one primitive, and the param that names it.
_TARGET = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "resources/subscribe": "uri",
}


def _primitive_scopes(app: MCPApp, method: str, target: str) -> tuple[str, ...]:
    if method == "tools/call":
        tool = app.tools.get(target)
        return tool.scopes if tool is not None else ()
    if method == "prompts/get":
        prompt = app.prompts.get(target)
        return prompt.scopes if prompt is not None else ()
    resource = app.resources.get(target)
    if resource is not None:
        return resource.scopes
    for template in app.templates:
        if template.match(target) is not None:
            return template.scopes
    return ()


def needed_scopes(app: MCPApp, body: bytes) -> tuple[str, ...]:
    """Every scope the JSON-RPC request(s) in `body` need; () when nothing is named or the
    body is not JSON-RPC (the engine answers that)."""
    if not app.has_scopes or not body:
        return ()
    try:
        decoded = jsonrpc.decode(body)
    except MCPError:
        return ()
    messages: list[Any] = decoded if isinstance(decoded, list) else [decoded]
    needed: dict[str, None] = {}
    for message in messages:
        if not isinstance(message, dict):
            continue
        key = _TARGET.get(message.get("method"))  # type: ignore[arg-type]
        params = message.get("params")
        if key is None or not isinstance(params, dict):
            continue
        target = params.get(key)
        if isinstance(target, str):
            needed.update(dict.fromkeys(_primitive_scopes(app, message["method"], target)))
    return tuple(needed)
