"""Prompts: message templates a user picks, with string arguments."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import msgspec

from cloudmcp.app.content import Content, to_content_list
from cloudmcp.app.context import Context
from cloudmcp.protocol.errors import invalid_params


class Prompt(msgspec.Struct, kw_only=True):
    name: str
    fn: Callable[..., Any]
    description: str
    title: str | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    scopes: tuple[str, ...] = ()
    context_param: str | None = None
    arguments: list[dict[str, Any]] = []
    definition: dict[str, Any] = {}

    def __post_init__(self) -> None:
        definition: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.title:
            definition["title"] = self.title
        if self.arguments:
            definition["arguments"] = self.arguments
        if self.icons:
            definition["icons"] = self.icons
        if self.meta:
            definition["_meta"] = self.meta
        self.definition = definition

    def missing(self, given: dict[str, Any]) -> list[str]:
        return [a["name"] for a in self.arguments if a.get("required") and a["name"] not in given]

    async def get(self, arguments: dict[str, str], ctx: Context) -> dict[str, Any]:
        """The `GetPromptResult` for `arguments` (checked: -32602 for missing ones)."""
        missing = self.missing(arguments)
        if missing:
            raise invalid_params(f"Missing required arguments: {', '.join(missing)}")
        known = {a["name"] for a in self.arguments}
        kwargs: dict[str, Any] = {k: v for k, v in arguments.items() if k in known}
        if self.context_param:
            kwargs[self.context_param] = ctx
        value = self.fn(**kwargs)
        if inspect.isawaitable(value):
            value = await value
        result: dict[str, Any] = {"messages": messages(value)}
        if self.description:
            result["description"] = self.description
        return result


def messages(value: Any) -> list[dict[str, Any]]:
    """`PromptMessage`s from a string, content, message dicts, or a list of these."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict) and "role" in item:
            content = item["content"]
            if isinstance(content, Content | str):
                content = (to_content_list(content) or [{}])[0]
            out.append({"role": item["role"], "content": content})
        else:
            for block in to_content_list(item) or []:
                out.append({"role": "user", "content": block})
    return out


def prompt_arguments(fn: Callable[..., Any], skip: str | None) -> list[dict[str, Any]]:
    arguments = []
    for param in inspect.signature(fn).parameters.values():
        if param.name == skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        arguments.append({"name": param.name, "required": param.default is inspect.Parameter.empty})
    return arguments
