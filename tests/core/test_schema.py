"""Schemas from type hints, argument validation, and how return values become results."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import pydantic
import pytest

from cloudmcp import Context, Header, Image, MCPApp, TextContent, ToolResult
from cloudmcp.errors import ArgumentError


class Color(enum.Enum):
    red = "red"
    blue = "blue"


@dataclass
class Point:
    x: float
    y: float = 0.0


class Stock(TypedDict):
    sku: str
    count: int


class Order(pydantic.BaseModel):
    sku: str
    quantity: int = pydantic.Field(ge=1)


app = MCPApp("schemas")


@app.tool(title="Everything", annotations={"readOnlyHint": True})
async def everything(
    name: str,
    color: Color,
    mode: Literal["fast", "slow"],
    point: Point,
    note: str | None = None,
    count: int = 3,
    region: Annotated[str, Header("Region")] = "eu",
    meta: Annotated[str, msgspec.Meta(description="Free text", max_length=5)] = "",
    ctx: Context | None = None,
) -> Stock:
    """Take one of everything."""
    return {"sku": name, "count": count}


@app.tool()
def place(order: Order) -> Order:
    return order


@app.tool()
def numbers(n: int) -> list[int]:
    return list(range(n))


@app.tool()
def picture() -> Image:
    return Image(b"\x89PNG", "image/png")


@app.tool()
def mixed() -> list[TextContent | Image]:
    return [TextContent("a chart:"), Image(b"\x89PNG")]


@app.tool()
def full() -> ToolResult:
    return ToolResult(content=["partial"], structured={"done": 1}, is_error=True)


def definition(name: str) -> dict[str, Any]:
    return app.tools[name].definition


def test_input_schema_from_hints() -> None:
    schema = definition("everything")["inputSchema"]
    props = schema["properties"]
    assert schema["type"] == "object"
    assert schema["required"] == ["name", "color", "mode", "point"]
    assert "ctx" not in props
    assert props["name"] == {"type": "string"}
    assert props["mode"] == {"enum": ["fast", "slow"]}
    assert props["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert props["count"] == {"type": "integer", "default": 3}
    assert props["region"]["x-mcp-header"] == "Region"
    assert props["meta"]["description"] == "Free text" and props["meta"]["maxLength"] == 5
    assert props["color"] == {"$ref": "#/$defs/Color"}
    assert schema["$defs"]["Color"]["enum"] == ["blue", "red"]
    assert schema["$defs"]["Point"]["required"] == ["x"]
    assert definition("everything")["description"] == "Take one of everything."
    assert definition("everything")["title"] == "Everything"
    assert definition("everything")["annotations"] == {"readOnlyHint": True}


def test_output_schemas() -> None:
    stock = definition("everything")["outputSchema"]
    assert stock["type"] == "object"
    assert set(stock["properties"]) == {"sku", "count"}
    assert definition("numbers")["outputSchema"] == {
        "type": "object",
        "properties": {"result": {"type": "array", "items": {"type": "integer"}}},
        "required": ["result"],
    }
    assert "outputSchema" not in definition("picture")
    assert "outputSchema" not in definition("mixed")


def test_pydantic_models_in_and_out() -> None:
    order = definition("place")["inputSchema"]["properties"]["order"]
    assert order["required"] == ["sku", "quantity"]
    assert order["properties"]["quantity"]["minimum"] == 1
    assert definition("place")["outputSchema"]["properties"]["quantity"]["minimum"] == 1
    tool = app.tools["place"]
    kwargs = tool.signature.parse({"order": {"sku": "a", "quantity": 2}})
    assert kwargs["order"] == Order(sku="a", quantity=2)
    assert tool.result(kwargs["order"])["structuredContent"] == {"sku": "a", "quantity": 2}
    with pytest.raises(ArgumentError, match="quantity"):
        tool.signature.parse({"order": {"sku": "a", "quantity": 0}})


def test_arguments_are_validated_and_converted() -> None:
    signature = app.tools["everything"].signature
    kwargs = signature.parse(
        {"name": "n", "color": "red", "mode": "fast", "point": {"x": 1}, "extra": True}
    )
    assert kwargs["color"] is Color.red
    assert kwargs["point"] == Point(1.0, 0.0)
    assert kwargs["count"] == 3 and kwargs["note"] is None
    for bad, where in [
        ({"name": 1, "color": "red", "mode": "fast", "point": {"x": 1}}, "name"),
        ({"name": "n", "color": "green", "mode": "fast", "point": {"x": 1}}, "color"),
        ({"name": "n", "color": "red", "mode": "medium", "point": {"x": 1}}, "mode"),
        ({"name": "n", "color": "red", "mode": "fast", "point": {}}, "x"),
        ({"color": "red", "mode": "fast", "point": {"x": 1}}, "name"),
        (
            {"name": "n", "color": "red", "mode": "fast", "point": {"x": 1}, "meta": "toolong"},
            "meta",
        ),
    ]:
        with pytest.raises(ArgumentError, match=where):
            signature.parse(bad)


def test_results() -> None:
    stock = app.tools["everything"].result({"sku": "a", "count": 1})
    assert stock["structuredContent"] == {"sku": "a", "count": 1}
    assert stock["content"] == [{"type": "text", "text": '{"sku":"a","count":1}'}]
    assert app.tools["numbers"].result([0, 1])["structuredContent"] == {"result": [0, 1]}
    assert app.tools["picture"].result(Image(b"\x89PNG"))["content"] == [
        {"type": "image", "data": "iVBORw==", "mimeType": "image/png"}
    ]
    mixed = app.tools["mixed"].result([TextContent("a chart:"), Image(b"\x89PNG")])
    assert [block["type"] for block in mixed["content"]] == ["text", "image"]
    result = app.tools["full"].result(
        ToolResult(content=["partial"], structured={"done": 1}, is_error=True)
    )
    assert result == {
        "content": [{"type": "text", "text": "partial"}],
        "structuredContent": {"done": 1},
        "isError": True,
    }


def test_header_names_are_checked() -> None:
    with pytest.raises(ValueError, match="x-mcp-header"):
        Header("Bad Name")
