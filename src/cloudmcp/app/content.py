"""Content blocks a tool or prompt returns: text, images, audio, resources."""

from __future__ import annotations

import base64
import types
import typing
from typing import Any

import msgspec


class Content(msgspec.Struct):
    """A content block; `to_content()` gives its wire form."""

    def to_content(self) -> dict[str, Any]:
        raise NotImplementedError


def _b64(data: bytes | str) -> str:
    return data if isinstance(data, str) else base64.b64encode(data).decode("ascii")


def _with_common(block: dict[str, Any], annotations: dict[str, Any] | None, meta: Any) -> None:
    if annotations:
        block["annotations"] = annotations
    if meta:
        block["_meta"] = meta


class TextContent(Content):
    text: str
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def to_content(self) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "text", "text": self.text}
        _with_common(block, self.annotations, self.meta)
        return block


class Image(Content):
    """An image; `data` is raw bytes or already base64-encoded text."""

    data: bytes | str
    mime_type: str = "image/png"
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def to_content(self) -> dict[str, Any]:
        block = {"type": "image", "data": _b64(self.data), "mimeType": self.mime_type}
        _with_common(block, self.annotations, self.meta)
        return block


class Audio(Content):
    """Audio; `data` is raw bytes or already base64-encoded text."""

    data: bytes | str
    mime_type: str = "audio/wav"
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def to_content(self) -> dict[str, Any]:
        block = {"type": "audio", "data": _b64(self.data), "mimeType": self.mime_type}
        _with_common(block, self.annotations, self.meta)
        return block


class EmbeddedResource(Content):
    """A resource's contents inline: `text`, or `blob` bytes."""

    uri: str
    text: str | None = None
    blob: bytes | None = None
    mime_type: str | None = None
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def contents(self) -> dict[str, Any]:
        contents: dict[str, Any] = {"uri": self.uri}
        if self.mime_type:
            contents["mimeType"] = self.mime_type
        if self.blob is not None:
            contents["blob"] = _b64(self.blob)
        else:
            contents["text"] = self.text or ""
        return contents

    def to_content(self) -> dict[str, Any]:
        block = {"type": "resource", "resource": self.contents()}
        _with_common(block, self.annotations, self.meta)
        return block


class ResourceLink(Content):
    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    extra: dict[str, Any] = {}

    def to_content(self) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "resource_link", "uri": self.uri, "name": self.name}
        for key, value in (
            ("title", self.title),
            ("description", self.description),
            ("mimeType", self.mime_type),
        ):
            if value is not None:
                block[key] = value
        block.update(self.extra)
        return block


class ToolResult(msgspec.Struct):
    """A whole `CallToolResult`, for a tool that sets every field itself."""

    content: list[Content | str] = []
    structured: Any = None
    is_error: bool = False
    meta: dict[str, Any] | None = None


def _is_block(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Content | ToolResult)


def is_content_type(tp: Any) -> bool:
    """Whether a return annotation is made of content blocks (no structured output).

    `str` is text; a list is content only when it holds content blocks (`list[str]` is data).
    """
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return is_content_type(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return all(is_content_type(arg) for arg in typing.get_args(tp))
    if origin in (list, tuple):
        items = [arg for arg in typing.get_args(tp) if arg is not Ellipsis]
        parts = [p for item in items for p in (typing.get_args(item) or (item,))]
        return any(_is_block(p) for p in parts) and all(_is_block(p) or p is str for p in parts)
    return tp is str or _is_block(tp)


def blocks(items: list[Content | str]) -> list[dict[str, Any]]:
    """Content blocks for a list of blocks and strings (strings become text)."""
    return [
        {"type": "text", "text": item} if isinstance(item, str) else item.to_content()
        for item in items
    ]


def to_content_list(value: Any) -> list[dict[str, Any]] | None:
    """Content blocks for a plain return value, or None when it is structured data."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    if isinstance(value, Content):
        return [value.to_content()]
    if (
        isinstance(value, list | tuple)
        and any(isinstance(item, Content) for item in value)
        and all(isinstance(item, Content | str) for item in value)
    ):
        return blocks(list(value))
    return None
