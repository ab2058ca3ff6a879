"""A request parsed once at the door: the `Call` every later step reads.

Right after decoding, a JSON-RPC request becomes a `Call`: its id, method, era, the
tool, prompt or resource it names (resolved in the registry once), and its params.
The scope check, the rate limiter, the header checks, the time limit, the feature that
serves it and the observers all read the same value.

`METHODS` is the one table of methods: which era serves each, which param names its
target, whether it may ask the client for input, and whether clients may cache it.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from cloudmcp.app.registry import PromptEntry, Registry, ResourceEntry, ToolEntry
from cloudmcp.protocol.jsonrpc import RequestId

#: "stateless" is the 2026-07-28 revision's name in code, logs and metrics.
Era = Literal["stateless", "legacy"]

Entry = ToolEntry | ResourceEntry | PromptEntry


class Method(msgspec.Struct, frozen=True, kw_only=True):
    """What the protocol says about one method."""

    stateless: bool = True
    legacy: bool = True
    #: The param that names a tool, prompt or resource.
    target: str | None = None
    #: What the target names: "tool", "prompt", "resource" or "task".
    kind: str | None = None
    #: May answer with an `InputRequiredResult` (2026-07-28).
    asks: bool = False
    #: Results carry `ttlMs` and `cacheScope` (2026-07-28).
    cacheable: bool = False

    def served_in(self, era: Era) -> bool:
        return self.stateless if era == "stateless" else self.legacy


_LEGACY_ONLY = Method(stateless=False)

METHODS: dict[str, Method] = {
    "initialize": _LEGACY_ONLY,
    "ping": _LEGACY_ONLY,
    "logging/setLevel": _LEGACY_ONLY,
    "resources/subscribe": Method(stateless=False, target="uri", kind="resource"),
    "resources/unsubscribe": Method(stateless=False, target="uri", kind="resource"),
    "server/discover": Method(legacy=False, cacheable=True),
    "subscriptions/listen": Method(legacy=False),
    "tools/list": Method(cacheable=True),
    "tools/call": Method(target="name", kind="tool", asks=True),
    "resources/list": Method(cacheable=True),
    "resources/templates/list": Method(cacheable=True),
    "resources/read": Method(target="uri", kind="resource", asks=True, cacheable=True),
    "prompts/list": Method(cacheable=True),
    "prompts/get": Method(target="name", kind="prompt", asks=True),
    "completion/complete": Method(),
    # The tasks extension (SEP-2663): `Mcp-Name` carries the task id. Its removed
    # `tasks/result` and `tasks/list` stay unknown: -32601.
    "tasks/get": Method(legacy=False, target="taskId", kind="task"),
    "tasks/update": Method(legacy=False, target="taskId", kind="task"),
    "tasks/cancel": Method(legacy=False, target="taskId", kind="task"),
}

_UNKNOWN = Method(stateless=False, legacy=False)


class Call(msgspec.Struct, kw_only=True):
    """One JSON-RPC request, as the engine serves it."""

    id: RequestId
    method: str
    params: dict[str, Any]
    era: Era
    #: The method's row in `METHODS` (a row serving no era for an unknown method).
    spec: Method
    #: The tool or prompt name, or resource URI, the request names (as sent).
    target: str | None = None
    #: The registered entry `target` names, by what the method names.
    tool: ToolEntry | None = None
    resource: ResourceEntry | None = None
    prompt: PromptEntry | None = None
    #: A resource template's variables for `target`.
    variables: dict[str, Any] | None = None

    @property
    def known(self) -> bool:
        return self.spec.served_in(self.era)

    @property
    def entry(self) -> Entry | None:
        return self.tool or self.resource or self.prompt

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the named entry needs (none when it names nothing known)."""
        entry = self.entry
        return entry.scopes if entry is not None else ()


def parse(message: dict[str, Any], era: Era, registry: Registry) -> Call:
    """The `Call` for a checked JSON-RPC request (`jsonrpc.check_message`)."""
    method: str = message["method"]
    params = message.get("params") or {}
    spec = METHODS.get(method, _UNKNOWN)
    call = Call(id=message["id"], method=method, params=params, era=era, spec=spec)
    kind = spec.kind
    if kind is not None:
        target = params.get(spec.target)
        if isinstance(target, str):
            call.target = target
            if kind == "tool":
                call.tool = registry.tools.get(target)
            elif kind == "prompt":
                call.prompt = registry.prompts.get(target)
            elif kind == "resource":
                found = registry.find_resource(target)
                if found is not None:
                    call.resource, call.variables = found
    return call


__all__ = ["METHODS", "Call", "Era", "Method", "parse"]
