"""Framework objects as the JSON the wire carries."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any


def dump(model: Any) -> dict[str, Any]:
    """A framework's pydantic model as the JSON object the wire carries."""
    data: dict[str, Any] = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return data


def call_tool_result(value: Any) -> dict[str, Any]:
    """The `CallToolResult` for what a framework's tool call gave its low-level server: a
    result object, content blocks, structured content alone, or both as a pair."""
    if isinstance(value, tuple):
        unstructured, structured = value
        return {"content": [dump(b) for b in unstructured], "structuredContent": structured}
    if isinstance(value, dict):
        text = json.dumps(value, indent=2)
        return {"content": [{"type": "text", "text": text}], "structuredContent": value}
    if hasattr(value, "model_dump"):
        return dump(value)
    return {"content": [dump(block) for block in value]}


def resource_contents(uri: str, items: Iterable[Any]) -> list[dict[str, Any]]:
    """`contents` for the SDK's `ReadResourceContents` (`content`, `mime_type`, `meta`)."""
    contents = []
    for item in items:
        entry: dict[str, Any] = {"uri": uri}
        if isinstance(item.content, bytes):
            entry["mimeType"] = item.mime_type or "application/octet-stream"
            entry["blob"] = base64.b64encode(item.content).decode()
        else:
            entry["mimeType"] = item.mime_type or "text/plain"
            entry["text"] = item.content
        if getattr(item, "meta", None):
            entry["_meta"] = item.meta
        contents.append(entry)
    return contents


__all__ = ["call_tool_result", "dump", "resource_contents"]
