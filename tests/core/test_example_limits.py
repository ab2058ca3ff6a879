"""The example's `process_data` on large and hostile documents: work and memory grow in
proportion to the input (measured by counting, never by the clock), deep nesting is no
problem, oversized documents are refused, and the call leaves the event loop free."""

from __future__ import annotations

import asyncio
import sys
import tracemalloc
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from cloudmcp import ToolError, example
from cloudmcp.example import MAX_PROBLEMS, MAX_VALUES, analyze, transform, validate


def lines_run(work: Callable[[], Any]) -> int:
    """Lines of src/cloudmcp/example.py executed by `work()`."""
    count = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if frame.f_code.co_filename != example.__file__:
            return None
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


def peak_memory(work: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def wide(n: int) -> list[dict[str, Any]]:
    return [{"name": f"item {i}", "size": i, "tags": ["a", None]} for i in range(n)]


def deep(n: int) -> Any:
    data: Any = {"leaf": 1}
    for i in range(n):
        data = {"next": data, "i": i} if i % 2 else [data]
    return data


def schema_against(n: int) -> dict[str, Any]:
    """A schema as large as the data: n allowed values, n required keys, n properties."""
    return {
        "type": "array",
        "items": {
            "type": "object",
            "required": [f"key{i}" for i in range(n)],
            "properties": {f"key{i}": {"type": "string"} for i in range(n)}
            | {"name": {"enum": [f"allowed {i}" for i in range(n)]}},
        },
    }


OPERATIONS: dict[str, Callable[[int], Any]] = {
    "validate with a schema as large as the data": lambda n: validate(wide(n), schema_against(n)),
    "validate deep": lambda n: validate(deep(n), {"type": "object"}),
    "hygiene wide": lambda n: validate(wide(n), None),
    "hygiene deep": lambda n: validate(deep(n), None),
    "analyze": lambda n: analyze(wide(n)),
    "analyze deep": lambda n: analyze(deep(n)),
    "transform": lambda n: transform(wide(n)),
    "transform deep": lambda n: transform(deep(n)),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_work_grows_linearly(operation: str) -> None:
    run = OPERATIONS[operation]
    small, large = lines_run(lambda: run(500)), lines_run(lambda: run(2000))
    # Four times the input: four times the work, give or take; quadratic would be 16.
    assert large <= 5 * small, (small, large)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_memory_grows_linearly(operation: str) -> None:
    run = OPERATIONS[operation]
    small, large = peak_memory(lambda: run(1000)), peak_memory(lambda: run(4000))
    assert large <= 6 * small, (small, large)


class Counted(str):
    """A string that counts how often it is compared for equality."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        Counted.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_enum_membership_is_not_a_scan() -> None:
    n = 3000
    Counted.compared = 0
    data = [Counted(f"value {i}") for i in range(n)]
    problems = validate(data, {"items": {"enum": [f"allowed {i}" for i in range(n)]}})
    assert Counted.compared <= n  # a scan of the enum for each would be n * n
    assert len(problems) == MAX_PROBLEMS + 1 and problems[-1] == f"... and {n - 100} more problems"


def test_problems_do_not_repeat_the_enum() -> None:
    enum = [f"allowed value number {i}" for i in range(10_000)]
    problems = validate(["nope"] * 1000, {"items": {"enum": enum}})
    assert sum(map(len, problems)) < 100 * 200
    assert problems[0] == "$[0]: 'nope' is not one of the 10000 allowed values"
    assert validate("x", {"enum": ["y", 1]}) == ["$: 'x' is not one of ['y', 1]"]
    assert validate(True, {"enum": [1]}) == ["$: True is not one of [1]"]
    assert validate(1.0, {"enum": [1]}) == []
    assert validate({"a": [1]}, {"enum": [{"a": [1]}]}) == []


def test_deep_nesting_and_large_documents() -> None:
    nested = deep(50_000)  # far deeper than Python's recursion limit
    assert analyze(nested)["max_depth"] == 50_001
    assert validate(nested, None) == []
    assert analyze(transform(nested)) == analyze(nested)  # == itself would recurse
    with pytest.raises(ToolError, match=f"more than {MAX_VALUES} values"):
        analyze(list(range(MAX_VALUES + 1)))
    with pytest.raises(ToolError, match="values"):
        validate(list(range(MAX_VALUES + 1)), {"type": "array", "items": {}})
    # More digits than int() converts: the string stays a string.
    assert transform("9" * 5000) == "9" * 5000


async def test_a_large_call_leaves_the_event_loop_free() -> None:
    """Other requests are served while process_data works: the loop keeps turning."""
    tool = example.app.tools["process_data"]
    turns = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    before = turns
    await tool.run({"data": wide(30_000), "operation": example.Operation.analyze})
    during = turns - before
    done.set()
    await ticking
    assert during > 0
