"""The `Registry`: what a server offers (tools, resources, templates, prompts and
completions), with no I/O and no knowledge of how it is served.

The engine reads entries through the protocols below. Native functions registered with
the decorators become `Tool`, `Resource` and `Prompt`; an adapter for another framework
or a stdio bridge may register entries of its own that follow the same protocols.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, Protocol, TypeVar

from cloudmcp.app.context import Context
from cloudmcp.app.prompts import Prompt, prompt_arguments
from cloudmcp.app.resources import Resource, compile_template
from cloudmcp.app.schema import is_context
from cloudmcp.app.tools import TaskSupport, make_tool
from cloudmcp.errors import RegistrationError

F = TypeVar("F", bound=Callable[..., Any])

#: `fn(argument, value, context)`: the completion values, sync or async.
Completion = Callable[[Any, str, dict[str, Any]], "list[str] | Awaitable[list[str]]"]


class ToolEntry(Protocol):
    """A tool as the engine serves it."""

    name: str
    #: The object `tools/list` shows.
    definition: dict[str, Any]
    #: OAuth scopes the caller needs.
    scopes: tuple[str, ...]
    #: Calls allowed per principal as `count/seconds`, across every instance.
    rate_limit: str | None
    #: Seconds a call may run (None: `TOOL_TIMEOUT`).
    timeout: float | None
    #: Seconds a result may be served from the shared cache (None: never cached).
    cache_ttl: float | None

    @property
    def headers(self) -> Mapping[str, str]:
        """2026-07-28 `Mcp-Param-{Header}` -> the argument it mirrors."""
        ...

    # Optional, read with getattr (entries written before tasks lack them):
    # `task` ("forbidden" | "optional" | "required") and `defer` ("start" | "explicit"),
    # as on `Tool`.

    async def call(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """The `CallToolResult`. `ToolError` is a failure the model sees; `MCPError` and
        `InputRequired` propagate; anything else is logged and reported as a tool error."""
        ...


class ResourceEntry(Protocol):
    """A resource, or a resource template, as the engine serves it."""

    #: The URI, or the URI template.
    uri: str
    definition: dict[str, Any]
    scopes: tuple[str, ...]

    @property
    def is_template(self) -> bool: ...

    def match(self, uri: str) -> dict[str, Any] | None:
        """The template's variables for `uri`, or None when it does not match."""
        ...

    async def read(self, uri: str, variables: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
        """The `contents` of `resources/read`."""
        ...


class PromptEntry(Protocol):
    """A prompt as the engine serves it."""

    name: str
    definition: dict[str, Any]
    scopes: tuple[str, ...]

    async def get(self, arguments: dict[str, str], ctx: Context) -> dict[str, Any]:
        """The `GetPromptResult`; `MCPError` (-32602) for missing arguments."""
        ...


def task_support(tool: ToolEntry) -> TaskSupport:
    """Whether `tool` may run as a task; "forbidden" for entries that do not say."""
    support: TaskSupport = getattr(tool, "task", "forbidden")
    return support


def _context_param(fn: Callable[..., Any]) -> str | None:
    """The parameter that asks for the `Context`, if any."""
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except Exception as exc:  # an annotation that names nothing importable
        raise RegistrationError(f"{fn.__name__}: cannot read its type hints: {exc}") from None
    return next((name for name, hint in hints.items() if is_context(hint)), None)


class Registry:
    """What a server offers, by name. Registering a name twice is refused."""

    def __init__(
        self,
        name: str,
        version: str = "0.1.0",
        *,
        title: str | None = None,
        instructions: str | None = None,
        website_url: str | None = None,
        icons: list[dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.title = title
        self.instructions = instructions
        self.website_url = website_url
        self.icons = icons
        self.tools: dict[str, ToolEntry] = {}
        self.resources: dict[str, ResourceEntry] = {}
        self.templates: list[ResourceEntry] = []
        self.prompts: dict[str, PromptEntry] = {}
        self.completions: dict[tuple[str, str], Completion] = {}

    # entries

    def add_tool(self, tool: ToolEntry) -> None:
        if tool.name in self.tools:
            raise RegistrationError(f"a tool named {tool.name!r} is registered already")
        self.tools[tool.name] = tool

    def add_resource(self, resource: ResourceEntry) -> None:
        taken = (
            any(t.uri == resource.uri for t in self.templates)
            if resource.is_template
            else resource.uri in self.resources
        )
        if taken:
            raise RegistrationError(f"a resource {resource.uri!r} is registered already")
        if resource.is_template:
            self.templates.append(resource)
        else:
            self.resources[resource.uri] = resource

    def add_prompt(self, prompt: PromptEntry) -> None:
        if prompt.name in self.prompts:
            raise RegistrationError(f"a prompt named {prompt.name!r} is registered already")
        self.prompts[prompt.name] = prompt

    def add_completion(self, ref_type: str, name: str, fn: Completion) -> None:
        if ref_type not in ("ref/prompt", "ref/resource"):
            raise RegistrationError(f"unknown completion reference type {ref_type!r}")
        if (ref_type, name) in self.completions:
            raise RegistrationError(f"completions for {ref_type} {name!r} are registered already")
        self.completions[(ref_type, name)] = fn

    def find_resource(self, uri: str) -> tuple[ResourceEntry, dict[str, Any]] | None:
        """The resource `uri` names, with its template variables."""
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.templates:
            variables = template.match(uri)
            if variables is not None:
                return template, variables
        return None

    @property
    def has_scopes(self) -> bool:
        entries: list[ToolEntry | ResourceEntry | PromptEntry] = [
            *self.tools.values(),
            *self.resources.values(),
            *self.templates,
            *self.prompts.values(),
        ]
        return any(e.scopes for e in entries)

    @property
    def server_info(self) -> dict[str, Any]:
        """The `Implementation` object clients see as `serverInfo`."""
        info: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.title:
            info["title"] = self.title
        if self.website_url:
            info["websiteUrl"] = self.website_url
        if self.icons:
            info["icons"] = self.icons
        return info

    @property
    def has_tasks(self) -> bool:
        """Whether some tool may run as a task."""
        return any(task_support(t) != "forbidden" for t in self.tools.values())

    def capabilities(self) -> dict[str, Any]:
        """The server capabilities what is registered calls for."""
        capabilities: dict[str, Any] = {}
        if self.tools:
            capabilities["tools"] = {"listChanged": True}
        if self.resources or self.templates:
            capabilities["resources"] = {"subscribe": True, "listChanged": True}
        if self.prompts:
            capabilities["prompts"] = {"listChanged": True}
        if self.completions:
            capabilities["completions"] = {}
        return capabilities

    # decorators

    def tool(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        input_schema: dict[str, Any] | None = None,
        cache_ttl: float | None = None,
        rate_limit: str | None = None,
        scopes: tuple[str, ...] | list[str] = (),
        thread: bool = False,
        timeout: float | None = None,
        task: TaskSupport = "forbidden",
        defer: Literal["start", "explicit"] = "start",
    ) -> Callable[[F], F]:
        """Register a function as a tool. Its schemas come from its type hints;
        `input_schema` publishes a hand-written schema instead (arguments are still
        checked against the signature). `task` says whether a call may run as a task
        for clients that declare the tasks extension, and `defer` when it becomes one
        (docs/tasks.md)."""

        def register(fn: F) -> F:
            tool = make_tool(
                fn,
                name,
                title=title,
                description=description,
                annotations=annotations,
                icons=icons,
                meta=meta,
                cache_ttl=cache_ttl,
                rate_limit=rate_limit,
                scopes=tuple(scopes),
                thread=thread,
                timeout=timeout,
                task=task,
                defer=defer,
                input_schema=input_schema,
            )
            self.add_tool(tool)
            return fn

        return register

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        scopes: tuple[str, ...] | list[str] = (),
    ) -> Callable[[F], F]:
        """Register a function as a resource; `{name}` parts of `uri` make a template
        whose values the function receives as arguments."""

        def register(fn: F) -> F:
            pattern, variables = compile_template(uri) if "{" in uri else (None, ())
            self.add_resource(
                Resource(
                    uri=uri,
                    name=name or fn.__name__,
                    fn=fn,
                    title=title,
                    description=description or inspect.getdoc(fn),
                    mime_type=mime_type,
                    size=size,
                    annotations=annotations,
                    icons=icons,
                    meta=meta,
                    scopes=tuple(scopes),
                    context_param=_context_param(fn),
                    pattern=pattern,
                    variables=variables,
                )
            )
            return fn

        return register

    def prompt(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        arguments: list[dict[str, Any]] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        scopes: tuple[str, ...] | list[str] = (),
    ) -> Callable[[F], F]:
        """Register a function as a prompt; its parameters are the prompt's arguments
        (`arguments` adds descriptions: `[{"name": ..., "description": ...}]`)."""

        def register(fn: F) -> F:
            context_param = _context_param(fn)
            derived = prompt_arguments(fn, context_param)
            described = {a["name"]: a for a in arguments or []}
            self.add_prompt(
                Prompt(
                    name=name or fn.__name__,
                    fn=fn,
                    description=description or inspect.getdoc(fn) or (name or fn.__name__),
                    title=title,
                    icons=icons,
                    meta=meta,
                    scopes=tuple(scopes),
                    context_param=context_param,
                    arguments=[{**a, **described.get(a["name"], {})} for a in derived],
                )
            )
            return fn

        return register

    def completion(self, ref_type: str, name: str) -> Callable[[F], F]:
        """Register completions for a prompt's arguments (`"ref/prompt", name`) or a
        template's variables (`"ref/resource", uri_template`):
        `fn(argument, value, context) -> list[str]`, sync or async."""
        if ref_type not in ("ref/prompt", "ref/resource"):
            raise RegistrationError(f"unknown completion reference type {ref_type!r}")

        def register(fn: F) -> F:
            self.add_completion(ref_type, name, fn)
            return fn

        return register


__all__ = [
    "Completion",
    "PromptEntry",
    "Registry",
    "ResourceEntry",
    "ToolEntry",
    "task_support",
]
