"""Resources: data a client can read by URI, static or from a URI template."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import msgspec

from cloudmcp.app.content import EmbeddedResource, _b64
from cloudmcp.app.context import Context
from cloudmcp.app.schema import to_builtins

_VARIABLE = re.compile(r"{([A-Za-z0-9_]+)}")


class Resource(msgspec.Struct, kw_only=True):
    uri: str
    name: str
    fn: Callable[..., Any]
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: dict[str, Any] | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    scopes: tuple[str, ...] = ()
    context_param: str | None = None
    #: For a URI template: the compiled matcher and its variable names.
    pattern: re.Pattern[str] | None = None
    variables: tuple[str, ...] = ()
    definition: dict[str, Any] = {}

    def __post_init__(self) -> None:
        key = "uriTemplate" if self.pattern is not None else "uri"
        definition: dict[str, Any] = {key: self.uri, "name": self.name}
        for wire, value in (
            ("title", self.title),
            ("description", self.description),
            ("mimeType", self.mime_type),
            ("size", self.size),
            ("annotations", self.annotations),
            ("icons", self.icons),
            ("_meta", self.meta),
        ):
            if value is not None:
                definition[wire] = value
        self.definition = definition

    @property
    def is_template(self) -> bool:
        return self.pattern is not None

    def match(self, uri: str) -> dict[str, str] | None:
        if self.pattern is None:
            return {} if uri == self.uri else None
        found = self.pattern.fullmatch(uri)
        return found.groupdict() if found else None

    async def read(self, uri: str, variables: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
        kwargs = dict(variables)
        if self.context_param:
            kwargs[self.context_param] = ctx
        value = self.fn(**kwargs)
        if inspect.isawaitable(value):
            value = await value
        return self.contents(uri, value)

    def contents(self, uri: str, value: Any) -> list[dict[str, Any]]:
        items = value if isinstance(value, list) else [value]
        contents = []
        for item in items:
            if isinstance(item, EmbeddedResource):
                contents.append(item.contents())
                continue
            entry: dict[str, Any] = {"uri": uri}
            if self.mime_type:
                entry["mimeType"] = self.mime_type
            if isinstance(item, bytes | bytearray):
                entry["blob"] = _b64(bytes(item))
            elif isinstance(item, str):
                entry["text"] = item
            else:
                from cloudmcp.protocol.jsonrpc import encode

                entry["text"] = encode(to_builtins(item)).decode()
                entry.setdefault("mimeType", "application/json")
            contents.append(entry)
        return contents


def compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A matcher for an RFC 6570 level-1 template: each `{var}` matches one path segment."""
    names = tuple(_VARIABLE.findall(template))
    parts = _VARIABLE.split(template)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(regex), names
