"""JSON Schema 2020-12 from Python type hints, and argument validation against it.

msgspec does both for dataclasses, TypedDict, enums, Literal, Optional and its own
Structs, at C speed. Types it does not know (pydantic models) fall back to pydantic,
which is imported only when a user's own hints already use it.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from cloudmcp.app.content import is_content_type
from cloudmcp.errors import ArgumentError, RegistrationError


class Header:
    """Mirror a tool parameter into an `Mcp-Param-{name}` HTTP header (2026-07-28).

    Use it as `region: Annotated[str, Header("Region")]`; the server checks the header
    against the argument, so gateways can route on it safely.
    """

    def __init__(self, name: str) -> None:
        if not name or not all(c.isalnum() or c == "-" for c in name):
            raise ValueError(f"invalid x-mcp-header name: {name!r}")
        self.name = name


def _to_builtins(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if dump is not None:  # a pydantic model
        return dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def to_builtins(value: Any) -> Any:
    """`value` as JSON-ready builtins (dataclasses, Structs, enums, pydantic models...)."""
    return msgspec.to_builtins(value, enc_hook=_to_builtins)


def _pydantic_adapter(tp: Any) -> Any:
    from pydantic import TypeAdapter  # only when a user's hints need it

    return TypeAdapter(tp)


def _schema_of(tp: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """(schema, $defs, pydantic adapter or None) for one type."""
    try:
        (schema,), defs = msgspec.json.schema_components([tp], ref_template="#/$defs/{name}")
        return schema, defs, None
    except (TypeError, ValueError):
        adapter = _pydantic_adapter(tp)
        schema = adapter.json_schema(ref_template="#/$defs/{model}")
        defs = schema.pop("$defs", {})
        return schema, defs, adapter


def _type_name(tp: Any) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _msgspec_type(tp: Any) -> bool:
    """Whether msgspec can check values against `tp` (pydantic models are theirs to check)."""
    try:
        msgspec.json.schema(tp)
    except (TypeError, ValueError):
        return False
    return True


def is_context(tp: Any) -> bool:
    """Whether a parameter's annotation asks for the `Context` (`Context | None` does too)."""
    from cloudmcp.app.context import Context

    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(is_context(arg) for arg in typing.get_args(tp))
    return isinstance(tp, type) and issubclass(tp, Context)


class Signature(msgspec.Struct, kw_only=True):
    """What a function takes from a JSON-RPC request, and what it gives back."""

    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    #: The parameter that receives the `Context`, if any.
    context_param: str | None
    #: `x-mcp-header` name -> argument name, for header/body checks.
    headers: dict[str, str]
    wraps_result: bool
    #: The declared return type, when results are checked against it (msgspec types).
    _returns: Any
    _struct: type[msgspec.Struct]
    _adapters: dict[str, Any]
    _fields: tuple[str, ...]

    def parse(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments; raises `ArgumentError`."""
        try:
            parsed = msgspec.convert(arguments, self._struct, strict=False)
        except msgspec.ValidationError as exc:
            raise ArgumentError(str(exc)) from None
        kwargs = {name: getattr(parsed, name) for name in self._fields}
        for name, adapter in self._adapters.items():
            if name in kwargs:
                try:
                    kwargs[name] = adapter.validate_python(kwargs[name])
                except ValueError as exc:  # pydantic.ValidationError
                    raise ArgumentError(f"{name}: {exc}") from None
        return kwargs

    def structure(self, value: Any) -> Any:
        """The `structuredContent` for a return value, per the output schema; raises
        `ArgumentError` when the value is not of the declared return type (clients check
        `structuredContent` against `outputSchema`)."""
        data = to_builtins(value)
        if self._returns is not None:
            try:
                msgspec.convert(data, self._returns, strict=False)
            except msgspec.ValidationError as exc:
                raise ArgumentError(f"the result does not match the declared type: {exc}") from None
        return {"result": data} if self.wraps_result else data


def signature_of(fn: Callable[..., Any], *, name: str) -> Signature:
    """What `fn` takes and gives; raises `RegistrationError` naming the function and the
    parameter whose type hint has no JSON Schema."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # a hint naming something that does not exist
        raise RegistrationError(f"{name}: cannot read its type hints: {exc}") from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    defs: dict[str, Any] = {}
    fields: list[Any] = []
    adapters: dict[str, Any] = {}
    headers: dict[str, str] = {}
    context_param = None
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        tp = hints.get(param.name, Any)
        if is_context(tp):
            context_param = param.name
            continue
        try:
            schema, param_defs, adapter = _schema_of(tp)
        except Exception as exc:
            raise RegistrationError(
                f"{name}: parameter {param.name!r}: no JSON Schema for {_type_name(tp)} "
                f"({_first_line(exc)})"
            ) from None
        defs.update(param_defs)
        for marker in getattr(tp, "__metadata__", ()):
            if isinstance(marker, Header):
                schema["x-mcp-header"] = marker.name
                headers[marker.name] = param.name
        if adapter is not None:
            adapters[param.name] = adapter
            tp = Any
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
            fields.append((param.name, tp))
        else:
            if param.default is not None:
                schema.setdefault("default", to_builtins(param.default))
            fields.append((param.name, tp, param.default))
        properties[param.name] = schema
    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    if defs:
        input_schema["$defs"] = defs
    returns = hints.get("return", inspect.Signature.empty)
    try:
        output_schema, wraps = _output_schema(returns)
    except Exception as exc:
        raise RegistrationError(
            f"{name}: return type: no JSON Schema for {_type_name(returns)} ({_first_line(exc)})"
        ) from None
    checked = output_schema is not None and _msgspec_type(returns)
    return Signature(
        input_schema=input_schema,
        output_schema=output_schema,
        context_param=context_param,
        headers=headers,
        wraps_result=wraps,
        _returns=returns if checked else None,
        _struct=msgspec.defstruct(f"{name}_arguments", fields),
        _adapters=adapters,
        _fields=tuple(f[0] for f in fields),
    )


_UNSTRUCTURED = (str, type(None), inspect.Signature.empty, Any)


def _output_schema(tp: Any) -> tuple[dict[str, Any] | None, bool]:
    """The `outputSchema` for a return annotation, and whether results are wrapped.

    Text and content blocks are unstructured. An object type is the schema as is; any
    other type is wrapped as `{"result": ...}`, since structured content is an object.
    """
    if tp in _UNSTRUCTURED or is_content_type(tp):
        return None, False
    schema, defs, _ = _schema_of(tp)
    name = schema.get("$ref", "").rpartition("/")[2]
    if name in defs:  # the type itself: inline it, keeping its definition if others refer to it
        schema = dict(defs[name])
        if f'#/$defs/{name}"' not in msgspec.json.encode(defs).decode():
            del defs[name]
    if schema.get("type") != "object":
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        wraps = True
    else:
        wraps = False
    if defs:
        schema["$defs"] = defs
    return schema, wraps
