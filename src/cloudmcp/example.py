"""The production example: what `cloudmcp serve` runs with no target.

Two tools that do real work: `process_data` transforms, validates or analyzes a JSON
document, and `health_check` reports on the running server.
"""

from __future__ import annotations

import math
import platform
import re
import statistics
import time
from collections import Counter
from enum import StrEnum
from typing import Any, TypedDict

from cloudmcp import Context, MCPApp

app = MCPApp(
    "cloudmcp-example",
    "0.1.0",
    title="cloudmcp example server",
    instructions=(
        "process_data transforms, validates or analyzes JSON data; "
        "health_check reports the server's status."
    ),
)

STARTED = time.monotonic()
_first_call = True


class Operation(StrEnum):
    transform = "transform"
    validate = "validate"
    analyze = "analyze"


class Processed(TypedDict):
    operation: str
    result: Any


_WORD_BOUNDARY = re.compile(r"[\s\-.]+|(?<=[a-z0-9])(?=[A-Z])")


def snake_case(key: str) -> str:
    parts = [part for part in _WORD_BOUNDARY.split(key.strip()) if part]
    return "_".join(part.lower() for part in parts)


def transform(data: Any) -> Any:
    """Normalise keys to snake_case and values: trimmed strings, numeric strings as numbers."""
    if isinstance(data, dict):
        return {snake_case(str(key)): transform(value) for key, value in data.items()}
    if isinstance(data, list):
        return [transform(item) for item in data]
    if isinstance(data, str):
        text = " ".join(data.split())
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if re.fullmatch(r"-?\d+\.\d+", text):
            return float(text)
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return text
    return data


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def validate(data: Any, schema: dict[str, Any] | None, path: str = "$") -> list[str]:
    """Problems with `data` against a JSON Schema subset (type, required, properties,
    items, enum, minimum/maximum, minLength/maxLength); with no schema, JSON hygiene."""
    if schema is None:
        return _hygiene(data, path)
    problems: list[str] = []
    expected = schema.get("type")
    if expected is not None:
        kinds = expected if isinstance(expected, list) else [expected]
        ok = any(
            isinstance(data, _TYPES.get(kind, ()))
            and not (kind in ("integer", "number") and isinstance(data, bool))
            for kind in kinds
        )
        if not ok:
            return [f"{path}: expected {' or '.join(kinds)}, got {type(data).__name__}"]
    if "enum" in schema and data not in schema["enum"]:
        problems.append(f"{path}: {data!r} is not one of {schema['enum']}")
    if isinstance(data, int | float) and not isinstance(data, bool):
        if "minimum" in schema and data < schema["minimum"]:
            problems.append(f"{path}: {data} is less than {schema['minimum']}")
        if "maximum" in schema and data > schema["maximum"]:
            problems.append(f"{path}: {data} is more than {schema['maximum']}")
    if isinstance(data, str):
        if len(data) < schema.get("minLength", 0):
            problems.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(data) > schema["maxLength"]:
            problems.append(f"{path}: longer than {schema['maxLength']}")
    if isinstance(data, dict):
        for key in schema.get("required", []):
            if key not in data:
                problems.append(f"{path}: missing required property {key!r}")
        for key, subschema in schema.get("properties", {}).items():
            if key in data:
                problems.extend(validate(data[key], subschema, f"{path}.{key}"))
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(data):
            problems.extend(validate(item, schema["items"], f"{path}[{index}]"))
    return problems


def _hygiene(data: Any, path: str) -> list[str]:
    problems = []
    if isinstance(data, dict):
        if not data:
            problems.append(f"{path}: empty object")
        for key, value in data.items():
            if not str(key).strip():
                problems.append(f"{path}: blank key")
            problems.extend(_hygiene(value, f"{path}.{key}"))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            problems.extend(_hygiene(item, f"{path}[{index}]"))
    elif isinstance(data, float) and not math.isfinite(data):
        problems.append(f"{path}: non-finite number")
    elif data is None:
        problems.append(f"{path}: null value")
    return problems


def analyze(data: Any) -> dict[str, Any]:
    """Counts, types, depth, and statistics of every number in the document."""
    types: Counter[str] = Counter()
    numbers: list[float] = []
    keys: Counter[str] = Counter()

    def walk(value: Any, depth: int) -> int:
        types[type(value).__name__] += 1
        if isinstance(value, dict):
            keys.update(str(k) for k in value)
            return max([walk(v, depth + 1) for v in value.values()], default=depth)
        if isinstance(value, list):
            return max([walk(v, depth + 1) for v in value], default=depth)
        if isinstance(value, int | float) and not isinstance(value, bool):
            numbers.append(float(value))
        return depth

    depth = walk(data, 0)
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


@app.tool(annotations={"readOnlyHint": True, "idempotentHint": True})
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
        "uptime_seconds": round(time.monotonic() - STARTED, 3),
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
