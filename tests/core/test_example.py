"""The production example, served the way a user runs it: `python -m cloudmcp serve`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import mcp
import pytest
from cloudmcp_serving import free_port, run_server

from cloudmcp.example import analyze, snake_case, transform, validate


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m cloudmcp serve` with no target, on the port given by PORT, as on Cloud Run."""
    port = free_port()
    log = tmp_path_factory.mktemp("example") / "server.log"
    env = {"PORT": str(port), "HOST": "127.0.0.1", "ENVIRONMENT": "test"}
    command = [sys.executable, "-m", "cloudmcp", "serve"]
    for served in run_server(command, port, log, path="/mcp", env=env):
        yield served.url


async def _call(url: str, mode: str, name: str, arguments: dict[str, Any]) -> Any:
    async with mcp.Client(url, mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool(name, arguments)
    assert not result.is_error, result
    return result.structured_content


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_process_data_over_the_wire(url: str, mode: str) -> None:
    data = {"First Name": " Ada ", "Age": "36", "scores": [1, 2, "3.5"]}
    transformed = await _call(url, mode, "process_data", {"data": data, "operation": "transform"})
    assert transformed == {
        "operation": "transform",
        "result": {"first_name": "Ada", "age": 36, "scores": [1, 2, 3.5]},
    }
    schema = {
        "type": "object",
        "required": ["id"],
        "properties": {"age": {"type": "integer", "minimum": 0}},
    }
    checked = await _call(
        url, mode, "process_data", {"data": {"age": -1}, "operation": "validate", "schema": schema}
    )
    assert checked["result"] == {
        "valid": False,
        "problems": ["$: missing required property 'id'", "$.age: -1 is less than 0"],
    }
    analyzed = await _call(
        url, mode, "process_data", {"data": [1, 2, 3, {"x": 4}], "operation": "analyze"}
    )
    assert analyzed["result"]["numbers"]["count"] == 4
    assert analyzed["result"]["numbers"]["mean"] == 2.5
    assert analyzed["result"]["max_depth"] == 2


async def test_bad_operation_is_a_tool_error(url: str) -> None:
    async with mcp.Client(url, mode="2026-07-28") as client:
        result = await client.call_tool("process_data", {"data": 1, "operation": "explode"})
    assert result.is_error
    assert "operation" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_health_check_tool(url: str, mode: str) -> None:
    report = await _call(url, mode, "health_check", {})
    assert report["status"] == "healthy"
    assert report["state_backend"] == "memory"
    assert report["environment"] == "test"
    assert report["protocol_version"] == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert report["uptime_seconds"] > 0


def test_transform_validate_analyze() -> None:
    assert snake_case("userID") == "user_id"
    assert snake_case("Order-Total amount") == "order_total_amount"
    assert transform({"A B": ["  x  y ", "false", "-2", "1.50"]}) == {
        "a_b": ["x y", False, -2, 1.5]
    }
    assert validate({"": None}, None) == ["$: blank key", "$.: null value"]
    assert validate("x", {"type": "string", "enum": ["y"], "maxLength": 0}) == [
        "$: 'x' is not one of ['y']",
        "$: longer than 0",
    ]
    assert validate(True, {"type": "integer"}) == ["$: expected integer, got bool"]
    report = analyze({"a": [1.5, None, "s"], "b": {"c": True}})
    assert report["types"] == {"dict": 2, "list": 1, "float": 1, "NoneType": 1, "str": 1, "bool": 1}
    assert report["numbers"]["sum"] == 1.5
