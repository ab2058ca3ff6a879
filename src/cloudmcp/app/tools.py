"""Tools: functions a model may call, with schemas from their type hints."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from cloudmcp.app.content import ToolResult, blocks, to_content_list
from cloudmcp.app.context import Context
from cloudmcp.app.schema import Signature, signature_of, to_builtins
from cloudmcp.errors import ArgumentError, RegistrationError, ToolError

TaskSupport = Literal["forbidden", "optional", "required"]


class Tool(msgspec.Struct, kw_only=True):
    name: str
    fn: Callable[..., Any]
    signature: Signature
    description: str
    title: str | None = None
    annotations: dict[str, Any] | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    #: Seconds a result may be served from the shared cache, keyed by the arguments and
    #: the caller (`True`: `CACHE_TTL`).
    cache_ttl: float | None = None
    #: Calls allowed per principal as `count/seconds` (e.g. `10/60`), across every instance.
    rate_limit: str | None = None
    #: OAuth scopes the caller needs.
    scopes: tuple[str, ...] = ()
    #: Seconds a call may run, instead of the TOOL_TIMEOUT default (Lambda's remaining
    #: time still caps it).
    timeout: float | None = None
    #: Run a synchronous function in a worker thread instead of on the event loop.
    thread: bool = False
    #: Whether a call may run as a task (the 2026-07-28 tasks extension), for clients that
    #: declare it: "forbidden" (never), "optional" (when the client declared tasks),
    #: "required" (clients that did not are refused with -32021).
    task: TaskSupport = "forbidden"
    #: When a call becomes a task: at the start, or where the tool awaits `ctx.defer()`
    #: ("explicit"; what runs before it, questions to the client included, runs in the
    #: request).
    defer: Literal["start", "explicit"] = "start"
    #: The tool as `tools/list` shows it, built once.
    definition: dict[str, Any] = {}
    #: 2026-07-28 `Mcp-Param-{Header}` -> the argument it mirrors.
    headers: dict[str, str] = {}
    is_async: bool = False

    def __post_init__(self) -> None:
        if self.task not in ("forbidden", "optional", "required"):
            raise RegistrationError(
                f"{self.name}: task must be 'forbidden', 'optional' or 'required'"
            )
        if self.defer not in ("start", "explicit"):
            raise RegistrationError(f"{self.name}: defer must be 'start' or 'explicit'")
        self.is_async = inspect.iscoroutinefunction(self.fn)
        self.definition = self._definition()
        self.headers = self.signature.headers

    def _definition(self) -> dict[str, Any]:
        definition: dict[str, Any] = {"name": self.name}
        if self.title:
            definition["title"] = self.title
        definition["description"] = self.description
        definition["inputSchema"] = self.signature.input_schema
        if self.signature.output_schema is not None:
            definition["outputSchema"] = self.signature.output_schema
        if self.annotations:
            definition["annotations"] = self.annotations
        if self.icons:
            definition["icons"] = self.icons
        if self.meta:
            definition["_meta"] = self.meta
        return definition

    async def call(self, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """The `CallToolResult`: arguments checked against the signature, the function
        run, its value converted. A mismatch or a `ToolError` is a result the model sees."""
        try:
            kwargs = self.signature.parse(arguments)
        except ArgumentError as exc:
            # 2025-11-25: invalid arguments are a tool error the model can correct.
            return error_result(f"Invalid arguments for tool {self.name}: {exc}")
        if self.signature.context_param:
            kwargs[self.signature.context_param] = ctx
        try:
            value = await self.run(kwargs)
        except (ToolError, ArgumentError) as exc:
            return error_result(str(exc))
        try:
            return self.result(value)
        except ArgumentError as exc:  # our bug to report, not the model's to fix
            return error_result(f"Tool {self.name} returned an invalid result: {exc}")

    async def run(self, kwargs: dict[str, Any]) -> Any:
        if self.is_async:
            return await self.fn(**kwargs)
        if self.thread:
            import asyncio

            return await asyncio.to_thread(self.fn, **kwargs)
        return self.fn(**kwargs)

    def result(self, value: Any) -> dict[str, Any]:
        """The `CallToolResult` for what the function returned."""
        if isinstance(value, ToolResult):
            result: dict[str, Any] = {"content": blocks(value.content)}
            if value.structured is not None:
                result["structuredContent"] = to_builtins(value.structured)
            if value.is_error:
                result["isError"] = True
            if value.meta:
                result["_meta"] = value.meta
            return result
        if self.signature.output_schema is None:
            content = to_content_list(value)
            if content is not None:
                return {"content": content}
        structured = self.signature.structure(value)
        from cloudmcp.protocol.jsonrpc import encode  # the codec lives with the wire

        text = encode(structured["result"] if self.signature.wraps_result else structured)
        result = {"content": [{"type": "text", "text": text.decode()}]}
        if self.signature.output_schema is not None:
            result["structuredContent"] = structured
        return result


def error_result(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}


def make_tool(
    fn: Callable[..., Any],
    name: str | None = None,
    *,
    input_schema: dict[str, Any] | None = None,
    **options: Any,
) -> Tool:
    """A tool for `fn`; `input_schema` publishes a hand-written schema instead of the
    derived one (arguments are still checked against the signature)."""
    name = name or fn.__name__
    description = options.pop("description", None) or inspect.getdoc(fn) or name
    signature = signature_of(fn, name=name)
    if input_schema is not None:
        signature.input_schema = input_schema
    return Tool(name=name, fn=fn, signature=signature, description=description, **options)
