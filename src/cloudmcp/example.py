"""The production example: what `cloudmcp serve` runs with no target.

Two tools that do real work: `process_data` transforms, validates or analyzes a JSON
document, and `health_check` reports on the running server.
"""

from __future__ import annotations

import math
import platform
import re
import statistics
from collections import Counter
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, TypedDict

import msgspec

from cloudmcp import Context, MCPApp, ToolError
from cloudmcp.ops.uptime import uptime

app = MCPApp(
    "cloudmcp-example",
    "0.1.0",
    title="cloudmcp example server",
    instructions=(
        "process_data transforms, validates or analyzes JSON data; "
        "health_check reports the server's status."
    ),
)

_first_call = True


class Operation(StrEnum):
    transform = "transform"
    validate = "validate"
    analyze = "analyze"


class Processed(TypedDict):
    operation: str
    result: Any


#: Values (objects, arrays, strings, numbers...) one document may hold: every operation
#: walks each once, and transform copies them, so this bounds time and memory per call.
MAX_VALUES = 200_000
#: Problems validate lists; past that it says how many more there were.
MAX_PROBLEMS = 100
#: Characters of a value or an enum a problem quotes.
MAX_QUOTED = 60

_WORD_BOUNDARY = re.compile(r"[\s\-.]+|(?<=[a-z0-9])(?=[A-Z])")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+\.\d+")


class TooLarge(ToolError):
    def __init__(self) -> None:
        super().__init__(f"data holds more than {MAX_VALUES} values; send less at a time")


def _walk(data: Any) -> Iterator[tuple[Any, int]]:
    """Every value in `data` with its depth, depth first, without recursion (a deeply nested
    document must not exhaust the stack); `TooLarge` past MAX_VALUES."""
    stack = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise TooLarge()
        yield value, depth
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in reversed(value.values()))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in reversed(value))


def snake_case(key: str) -> str:
    parts = [part for part in _WORD_BOUNDARY.split(key.strip()) if part]
    return "_".join(part.lower() for part in parts)


def _clean(text: str) -> Any:
    text = " ".join(text.split())
    # int() of more digits than Python converts would raise: such a string stays a string.
    if len(text) <= 4000 and _INTEGER.fullmatch(text):
        return int(text)
    if len(text) <= 4000 and _DECIMAL.fullmatch(text):
        return float(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def transform(data: Any) -> Any:
    """Normalise keys to snake_case and values: trimmed strings, numeric strings as numbers."""
    root: list[Any] = [None]
    # (value to copy, the container its copy goes into, the key or index there)
    stack: list[tuple[Any, Any, Any]] = [(data, root, 0)]
    seen = 0
    while stack:
        value, into, at = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise TooLarge()
        if isinstance(value, dict):
            copy: Any = {}
            for key, item in value.items():
                name = snake_case(str(key))
                copy[name] = None  # keeps the order of keys
                stack.append((item, copy, name))
        elif isinstance(value, list):
            copy = [None] * len(value)
            stack.extend((item, copy, index) for index, item in enumerate(value))
        elif isinstance(value, str):
            copy = _clean(value)
        else:
            copy = value
        into[at] = copy
    return root[0]


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 3] + "..."


def _canonical(value: Any) -> Any:
    """A hashable stand-in for a JSON value that tells true from 1 and 1 from "1"."""
    if isinstance(value, dict | list):
        return (type(value).__name__, msgspec.json.encode(value, order="sorted"))
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        return ("number", value)  # 1 and 1.0 are the same JSON number
    return ("string" if isinstance(value, str) else "null", value)


class _Rule:
    """One schema object, prepared once per call: each value it applies to is then checked in
    constant time, plus time in proportion to the value's own size."""

    def __init__(self, schema: Any) -> None:
        schema = schema if isinstance(schema, dict) else {}
        expected = schema.get("type")
        kinds = expected if isinstance(expected, list) else [] if expected is None else [expected]
        self.kinds = [str(kind) for kind in kinds]
        self.types = tuple(t for kind in self.kinds for t in _TYPES.get(kind, ()))
        self.numeric_only = bool(self.kinds) and all(
            kind in ("integer", "number") for kind in self.kinds
        )
        enum = schema.get("enum")
        self.enum: set[Any] | None = None
        self.enum_has_containers = False
        self.enum_text = ""
        if isinstance(enum, list):
            self.enum = {_canonical(item) for item in enum}
            self.enum_has_containers = any(isinstance(item, dict | list) for item in enum)
            shown = _quoted(enum) if len(enum) <= 5 else f"the {len(enum)} allowed values"
            self.enum_text = f"one of {shown}"
        self.minimum = schema.get("minimum")
        self.maximum = schema.get("maximum")
        self.min_length = schema.get("minLength")
        self.max_length = schema.get("maxLength")
        required = schema.get("required")
        required = required if isinstance(required, list) else []
        self.required = [key for key in required if isinstance(key, str)]
        self.required_set = set(self.required)
        properties = schema.get("properties")
        self.properties: dict[str, Any] = properties if isinstance(properties, dict) else {}
        items = schema.get("items")
        self.items = items if isinstance(items, dict) else None


class _Problems:
    """Problems found so far: the first MAX_PROBLEMS in words, the rest counted. A path is
    kept as (parent, step) links and spelled out only for a problem that is listed."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self.more = 0

    @property
    def full(self) -> bool:
        return len(self.listed) >= MAX_PROBLEMS

    def add(self, path: Any, text: str, count: int = 1) -> None:
        if self.full:
            self.more += count
            return
        steps = []
        while path is not None:
            path, step = path
            steps.append(step)
        self.listed.append("$" + "".join(reversed(steps)) + ": " + text)
        self.more += count - 1

    def result(self) -> list[str]:
        return self.listed + ([f"... and {self.more} more problems"] if self.more else [])


def validate(data: Any, schema: dict[str, Any] | None) -> list[str]:
    """Problems with `data` against a JSON Schema subset (type, required, properties,
    items, enum, minimum/maximum, minLength/maxLength); with no schema, JSON hygiene.

    Time and memory grow with the size of `data` and `schema` added, not multiplied."""
    if schema is None:
        return _hygiene(data)
    problems = _Problems()
    rules: dict[int, _Rule] = {}  # by id() of the schema object: each prepared once

    def rule_for(node: Any) -> _Rule:
        found = rules.get(id(node))
        if found is None:
            found = rules[id(node)] = _Rule(node)
            keep.append(node)  # ids stay unique while the nodes live
        return found

    keep: list[Any] = []
    stack: list[tuple[Any, _Rule, Any]] = [(data, rule_for(schema), None)]
    seen = 0
    while stack:
        value, rule, path = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise TooLarge()
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if rule.kinds and not (
            isinstance(value, rule.types) and (is_number or not rule.numeric_only)
        ):
            got = type(value).__name__
            problems.add(path, f"expected {' or '.join(rule.kinds)}, got {got}")
            continue
        if rule.enum is not None:
            # An object or array is encoded to be compared only when the enum holds some.
            container = isinstance(value, dict | list)
            if (container and not rule.enum_has_containers) or _canonical(value) not in rule.enum:
                problems.add(path, f"{_quoted(value)} is not {rule.enum_text}")
        if is_number:
            if _compare(value, rule.minimum) < 0:
                problems.add(path, f"{value} is less than {rule.minimum}")
            if _compare(value, rule.maximum) > 0:
                problems.add(path, f"{value} is more than {rule.maximum}")
        elif isinstance(value, str):
            if isinstance(rule.min_length, int) and len(value) < rule.min_length:
                problems.add(path, f"shorter than {rule.min_length}")
            if isinstance(rule.max_length, int) and len(value) > rule.max_length:
                problems.add(path, f"longer than {rule.max_length}")
        elif isinstance(value, dict):
            if rule.required:
                present = sum(1 for key in value if key in rule.required_set)
                missing = len(rule.required_set) - present
                if missing and problems.full:
                    problems.add(path, "", missing)
                elif missing:
                    for key in rule.required:
                        if key not in value:
                            problems.add(path, f"missing required property {_quoted(key)}")
            # Whichever is smaller: the object's keys or the schema's properties.
            if len(value) < len(rule.properties):
                pairs = [(k, rule.properties[k]) for k in value if k in rule.properties]
            else:
                pairs = [(k, s) for k, s in rule.properties.items() if k in value]
            for key, subschema in reversed(pairs):
                stack.append((value[key], rule_for(subschema), (path, f".{key}")))
        elif isinstance(value, list) and rule.items is not None:
            item_rule = rule_for(rule.items)
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], item_rule, (path, f"[{index}]")))
    return problems.result()


def _compare(value: float, bound: Any) -> int:
    """-1, 0 or 1 as `value` is below, at or above `bound`; 0 for no numeric bound."""
    if not isinstance(bound, int | float) or isinstance(bound, bool):
        return 0
    return (value > bound) - (value < bound)


def _hygiene(data: Any) -> list[str]:
    problems = _Problems()
    stack: list[tuple[Any, Any]] = [(data, None)]
    seen = 0
    while stack:
        value, path = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise TooLarge()
        if isinstance(value, dict):
            if not value:
                problems.add(path, "empty object")
            entries = list(value.items())
            for key, _ in entries:
                if not str(key).strip():
                    problems.add(path, "blank key")
            stack.extend((item, (path, f".{key}")) for key, item in reversed(entries))
        elif isinstance(value, list):
            stack.extend((item, (path, f"[{i}]")) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.add(path, "non-finite number")
        elif value is None:
            problems.add(path, "null value")
    return problems.result()


def analyze(data: Any) -> dict[str, Any]:
    """Counts, types, depth, and statistics of every number in the document."""
    types: Counter[str] = Counter()
    numbers: list[float] = []
    keys: Counter[str] = Counter()
    depth = 0
    for value, level in _walk(data):
        types[type(value).__name__] += 1
        if isinstance(value, dict):
            keys.update(str(k) for k in value)
            if value:
                depth = max(depth, level + 1)
        elif isinstance(value, list):
            if value:
                depth = max(depth, level + 1)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            numbers.append(float(value))
    report: dict[str, Any] = {
        "values": sum(types.values()),
        "types": dict(types),
        "max_depth": depth,
        "top_keys": [key for key, _ in keys.most_common(10)],
    }
    if numbers:
        report["numbers"] = {
            "count": len(numbers),
            "min": min(numbers),
            "max": max(numbers),
            "sum": math.fsum(numbers),
            "mean": statistics.fmean(numbers),
            "median": statistics.median(numbers),
            "stdev": statistics.pstdev(numbers),
        }
    return report


# In a worker thread: a large document must not hold up every other request on the loop.
@app.tool(annotations={"readOnlyHint": True, "idempotentHint": True}, thread=True)
def process_data(
    data: Any, operation: Operation, schema: dict[str, Any] | None = None
) -> Processed:
    """Process a JSON document.

    transform: normalise keys to snake_case and clean values; validate: report problems,
    against `schema` when given; analyze: counts, types and numeric statistics.
    """
    if operation is Operation.transform:
        return {"operation": operation.value, "result": transform(data)}
    if operation is Operation.validate:
        problems = validate(data, schema)
        return {
            "operation": operation.value,
            "result": {"valid": not problems, "problems": problems},
        }
    return {"operation": operation.value, "result": analyze(data)}


@app.tool(annotations={"readOnlyHint": True})
async def health_check(ctx: Context) -> dict[str, Any]:
    """Report the server's status, uptime, version, platform and state backend."""
    global _first_call
    cold, _first_call = _first_call, False
    # On AWS Lambda the edge knows whether this is the execution environment's first
    # invocation; the first health_check may well come later than that.
    cold = getattr(ctx.platform, "cold_start", cold)
    engine = app.compose().engine
    report: dict[str, Any] = {
        "status": "healthy" if await engine.store.ping() else "degraded",
        "server": app.name,
        "version": app.version,
        "uptime_seconds": round(uptime(), 3),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "environment": app.settings.environment,
        "state_backend": engine.store.backend,
        "protocol_version": ctx.protocol_version,
        "cold_start": cold,
    }
    lambda_context = ctx.platform
    if lambda_context is not None and hasattr(lambda_context, "aws_request_id"):
        report["lambda"] = {
            "request_id": lambda_context.aws_request_id,
            "function_name": lambda_context.function_name,
            "memory_limit_mb": int(lambda_context.memory_limit_in_mb),
            "remaining_ms": lambda_context.get_remaining_time_in_millis(),
        }
    return report
