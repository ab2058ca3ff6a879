"""The server the official MCP conformance suite expects, written with cloudmcp.

Serve it with `cloudmcp serve examples/conformance/server.py` and point the suite at it:

    conformance server --url http://127.0.0.1:8000/mcp --requirements 2025-11-25
    conformance server --url http://127.0.0.1:8000/mcp --requirements 2026-07-28

Names, texts and shapes follow the suite's scenarios (modelcontextprotocol/conformance,
`src/scenarios/server/`). Every function works in both protocol eras: where a tool asks the
client for input, a legacy session gets a server-to-client request on its SSE stream and a
2026-07-28 client gets an `InputRequiredResult` to answer and retry.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from cloudmcp import (
    Audio,
    Context,
    EmbeddedResource,
    Header,
    Image,
    MCPApp,
    TextContent,
    ToolError,
)
from cloudmcp.errors import MCPError

app = MCPApp("cloudmcp-conformance", version="1.0.0")

# A 1x1 red PNG and a minimal WAV file.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
WAV = base64.b64decode("UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=")


def _form(**properties: dict[str, Any]) -> dict[str, Any]:
    """A flat elicitation schema whose every property is required."""
    return {"type": "object", "properties": properties, "required": list(properties)}


def _elicit(message: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": "elicitation/create",
        "params": {"message": message, "requestedSchema": schema},
    }


def _sample(text: str, max_tokens: int) -> dict[str, Any]:
    messages = [{"role": "user", "content": {"type": "text", "text": text}}]
    return {
        "method": "sampling/createMessage",
        "params": {"messages": messages, "maxTokens": max_tokens},
    }


def _answer(response: dict[str, Any], field: str) -> str:
    """A field of an accepted elicitation's content, or "unknown"."""
    value = (response.get("content") or {}).get(field)
    return value if isinstance(value, str) else "unknown"


# ---------------------------------------------------------------------------------------------
# Tools: content types. `test_simple_text` comes first: header-validation probes call tools[0].


@app.tool(description="Tests simple text content response")
async def test_simple_text() -> str:
    return "This is a simple text response for testing."


@app.tool(description="Tests image content response")
async def test_image_content() -> Image:
    return Image(data=PNG, mime_type="image/png")


@app.tool(description="Tests audio content response")
async def test_audio_content() -> Audio:
    return Audio(data=WAV, mime_type="audio/wav")


@app.tool(description="Tests embedded resource content response")
async def test_embedded_resource() -> EmbeddedResource:
    return EmbeddedResource(
        uri="test://embedded-resource",
        text="This is an embedded resource content.",
        mime_type="text/plain",
    )


@app.tool(description="Tests response with multiple content types (text, image, resource)")
async def test_multiple_content_types() -> list[TextContent | Image | EmbeddedResource]:
    return [
        TextContent("Multiple content types test:"),
        Image(data=PNG, mime_type="image/png"),
        EmbeddedResource(
            uri="test://mixed-content-resource",
            text=json.dumps({"test": "data", "value": 123}, separators=(",", ":")),
            mime_type="application/json",
        ),
    ]


@app.tool(description="Tests error response handling")
async def test_error_handling() -> str:
    raise ToolError("This tool intentionally returns an error for testing")


# ---------------------------------------------------------------------------------------------
# Tools: notifications while running.


async def _pause() -> None:
    await asyncio.sleep(0.05)


@app.tool(description="Tests tool that emits log messages during execution")
async def test_tool_with_logging(ctx: Context) -> str:
    await ctx.log("info", "Tool execution started")
    await _pause()
    await ctx.log("info", "Tool processing data")
    await _pause()
    await ctx.log("info", "Tool execution completed")
    return "Tool with logging executed successfully"


@app.tool(description="Tests tool that reports progress notifications")
async def test_tool_with_progress(ctx: Context) -> str:
    for step in (0, 50, 100):
        if step:
            await _pause()
        await ctx.report_progress(step, total=100, message=f"Completed step {step} of 100")
    return str(ctx.progress_token)


@app.tool(description="Diagnostic logging tool: logs only when the client asked for a log level")
async def test_logging_tool(ctx: Context) -> str:
    await ctx.log("info", "Diagnostic trace logging activated")
    return "Logging evaluated"


@app.tool(description="Diagnostic tool whose response streams progress before its result")
async def test_streaming_elicitation(ctx: Context) -> str:
    await ctx.report_progress(50, total=100)
    return "Streaming complete"


@app.tool(
    description=(
        "Tests SSE polling (SEP-1699): closes the SSE stream mid-call; the result arrives "
        "after the client reconnects with Last-Event-ID"
    )
)
async def test_reconnection(ctx: Context) -> str:
    await ctx.close_stream()
    await _pause()
    return (
        "Reconnection test completed successfully. If you received this, the client properly "
        "reconnected after stream closure."
    )


# ---------------------------------------------------------------------------------------------
# Tools: asking the client (sampling, elicitation, roots).


@app.tool(description="Tests server-initiated sampling (LLM completion request)")
async def test_sampling(prompt: str, ctx: Context) -> str:
    result = await ctx.sample(
        messages=[{"role": "user", "content": {"type": "text", "text": prompt}}], max_tokens=100
    )
    text = (result.get("content") or {}).get("text", "No response")
    return f"LLM response: {text}"


@app.tool(description="Tests server-initiated elicitation (user input request)")
async def test_elicitation(message: str, ctx: Context) -> str:
    result = await ctx.elicit(
        message,
        _form(
            username={"type": "string", "description": "User's response"},
            email={"type": "string", "description": "User's email address"},
        ),
    )
    return f"User response: action={result.action}, content={json.dumps(result.content or {})}"


@app.tool(description="Tests elicitation with default values per SEP-1034")
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": {"type": "boolean", "description": "Verification status", "default": True},
        },
        "required": [],
    }
    result = await ctx.elicit("Please review and update the form fields with defaults", schema)
    return (
        f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"
    )


def _choices(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"const": value, "title": title} for value, title in pairs]


@app.tool(description="Tests elicitation with enum schema improvements per SEP-1330")
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    options = ["option1", "option2", "option3"]
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Select one option",
                "enum": options,
            },
            "titledSingle": {
                "type": "string",
                "description": "Select one option with titles",
                "oneOf": _choices(
                    ("value1", "First Option"),
                    ("value2", "Second Option"),
                    ("value3", "Third Option"),
                ),
            },
            "legacyEnum": {
                "type": "string",
                "description": "Select one option (legacy)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array",
                "description": "Select multiple options",
                "minItems": 1,
                "maxItems": 3,
                "items": {"type": "string", "enum": options},
            },
            "titledMulti": {
                "type": "array",
                "description": "Select multiple options with titles",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "anyOf": _choices(
                        ("value1", "First Choice"),
                        ("value2", "Second Choice"),
                        ("value3", "Third Choice"),
                    )
                },
            },
        },
        "required": [],
    }
    result = await ctx.elicit("Please select options from the enum fields", schema)
    return (
        f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"
    )


# Multi-round-trip requests (SEP-2322). Each `ctx.ask` is one round trip; its keys name the
# entries of the client's `inputRequests` / `inputResponses` maps.


@app.tool(description="MRTR: asks the user for their name with one elicitation")
async def test_input_required_result_elicitation(ctx: Context) -> str:
    answers = await ctx.ask(
        {"user_name": _elicit("What is your name?", _form(name={"type": "string"}))}
    )
    return f"Hello, {_answer(answers['user_name'], 'name')}!"


@app.tool(description="MRTR: asks the client's model one question")
async def test_input_required_result_sampling(ctx: Context) -> str:
    answers = await ctx.ask({"capital_question": _sample("What is the capital of France?", 100)})
    content = answers["capital_question"].get("content") or {}
    return f"Sampling result: {content.get('text', 'no response')}"


@app.tool(description="MRTR: asks the client for its roots")
async def test_input_required_result_list_roots(ctx: Context) -> str:
    roots = await ctx.list_roots()
    return f"Found {len(roots)} root(s)"


@app.tool(description="MRTR: a confirmation whose round trip carries requestState")
async def test_input_required_result_request_state(ctx: Context) -> str:
    answers = await ctx.ask({"confirm": _elicit("Please confirm", _form(ok={"type": "boolean"}))})
    if (answers["confirm"].get("content") or {}).get("ok") is not True:
        raise ToolError("not confirmed")
    return "state-ok: requestState validated"


@app.tool(description="MRTR: elicitation, sampling and roots in one round trip")
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    answers = await ctx.ask(
        {
            "user_name": _elicit("What is your name?", _form(name={"type": "string"})),
            "greeting": _sample("Generate a greeting", 50),
            "client_roots": {"method": "roots/list", "params": {}},
        }
    )
    greeting = (answers["greeting"].get("content") or {}).get("text", "Hello there!")
    roots = answers["client_roots"].get("roots") or []
    return (
        f"Name: {_answer(answers['user_name'], 'name')}; Greeting: {greeting}; Roots: {len(roots)}"
    )


@app.tool(description="MRTR: two rounds of elicitation, one after the other")
async def test_input_required_result_multi_round(ctx: Context) -> str:
    first = await ctx.ask(
        {"step1": _elicit("Step 1: What is your name?", _form(name={"type": "string"}))}
    )
    second = await ctx.ask(
        {"step2": _elicit("Step 2: What is your favorite color?", _form(color={"type": "string"}))}
    )
    name, color = _answer(first["step1"], "name"), _answer(second["step2"], "color")
    return f"Multi-round complete for {name} who likes {color}"


@app.tool(description="MRTR: requestState is sealed, so a tampered one is rejected")
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    await ctx.ask({"confirm": _elicit("Please confirm", _form(ok={"type": "boolean"}))})
    return "integrity-ok: state verified"


@app.tool(description="MRTR: asks only for what the client's capabilities allow")
async def test_input_required_result_capabilities(ctx: Context) -> str:
    requests: dict[str, dict[str, Any]] = {}
    if "elicitation" in ctx.client_capabilities:
        requests["elicit_input"] = _elicit("Elicitation input", _form(value={"type": "string"}))
    if "sampling" in ctx.client_capabilities:
        requests["sample_input"] = _sample("Sample request", 50)
    if not requests:
        return "No supported capabilities declared"
    answers = await ctx.ask(requests)
    return f"capabilities-ok: received {','.join(answers)}"


@app.tool(description="Test tool requiring sampling")
async def test_missing_capability(ctx: Context) -> str:
    ctx.require_capability("sampling")
    return "Success"


# ---------------------------------------------------------------------------------------------
# Tools: list-change triggers for subscriptions/listen (2026-07-28) and the GET stream (legacy).


@app.tool(description="Signals that the tool list changed")
async def test_trigger_tool_change() -> str:
    await app.notify_list_changed("tools")
    return "Mutation triggered"


@app.tool(description="Signals that the prompt list changed")
async def test_trigger_prompt_change() -> str:
    await app.notify_list_changed("prompts")
    return "Mutation triggered"


# ---------------------------------------------------------------------------------------------
# Tools: schemas.

# SEP-1613 / SEP-2106: the full JSON Schema 2020-12 vocabulary survives tools/list verbatim.
JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@dataclass
class Address:
    street: str | None = None
    city: str | None = None


@app.tool(
    description="Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
    input_schema=JSON_SCHEMA_2020_12,
)
async def json_schema_2020_12_tool(
    name: str | None = None,
    address: Address | None = None,
    contactMethod: Literal["phone", "email"] | None = None,  # the schema's own spelling
    phone: str | None = None,
    email: str | None = None,
) -> str:
    given = {
        "name": name,
        "address": vars(address) if address else None,
        "contactMethod": contactMethod,
        "phone": phone,
        "email": email,
    }
    args = {key: value for key, value in given.items() if value is not None}
    return f"JSON Schema 2020-12 tool called with: {json.dumps(args)}"


@app.tool(description="Echoes a region that is mirrored in the Mcp-Param-Region header (SEP-2243)")
async def test_header_param(region: Annotated[str, Header("Region")]) -> str:
    return f"Region: {region}"


# ---------------------------------------------------------------------------------------------
# Tools: the tasks extension (SEP-2663). A client that declares the extension gets a task for
# the tools that may run as one; `tasks/get` then reports its status and inlines the result.


@app.tool(description="Greets by name; never runs as a task")
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@app.tool(
    description="Works for `seconds` seconds; a task for clients that declare tasks",
    task="optional",
)
async def slow_compute(seconds: int = 1, label: str = "") -> str:
    await asyncio.sleep(max(0, min(seconds, 3600)))  # a cancellation stops it here
    return f"Computed {label or 'result'} after {seconds}s"


@app.tool(description="Runs only as a task, and ends with a tool error", task="required")
async def failing_job() -> str:
    await asyncio.sleep(1)
    raise ToolError("The job failed")


@app.tool(description="Runs only as a task, and ends with a JSON-RPC error", task="required")
async def protocol_error_job() -> str:
    await asyncio.sleep(0.2)
    raise MCPError(-32603, "The job hit an internal error")


@app.tool(description="Runs as a task that asks the user to confirm first", task="required")
async def confirm_delete(filename: str, ctx: Context) -> str:
    answer = await ctx.elicit(
        f"Delete {filename}?", _form(confirm={"type": "boolean", "description": "Delete it?"})
    )
    if answer.action != "accept" or not (answer.content or {}).get("confirm"):
        return f"Kept {filename}"
    return f"Deleted {filename}"


@app.tool(description="Runs as a task that asks two questions at once", task="required")
async def multi_input(ctx: Context) -> str:
    answers = await ctx.ask(
        {
            "first_name": _elicit("Your first name?", _form(name={"type": "string"})),
            "favorite_color": _elicit("Your favorite color?", _form(color={"type": "string"})),
        }
    )
    name = _answer(answers["first_name"], "name")
    return f"{name} likes {_answer(answers['favorite_color'], 'color')}"


@app.tool(
    description="Asks for a name in the request (MRTR), then goes on as a task",
    task="required",
    defer="explicit",
)
async def test_tool_with_task(ctx: Context) -> str:
    answers = await ctx.ask(
        {"user_name": _elicit("What is your name?", _form(name={"type": "string"}))}
    )
    await ctx.defer()
    return f"Hello from the task, {_answer(answers['user_name'], 'name')}!"


# ---------------------------------------------------------------------------------------------
# Resources.


@app.resource(
    "test://static-text",
    name="static-text",
    title="Static Text Resource",
    description="A static text resource for testing",
    mime_type="text/plain",
)
def static_text() -> str:
    return "This is the content of the static text resource."


@app.resource(
    "test://static-binary",
    name="static-binary",
    title="Static Binary Resource",
    description="A static binary resource (image) for testing",
    mime_type="image/png",
)
def static_binary() -> bytes:
    return PNG


@app.resource(
    "test://watched-resource",
    name="watched-resource",
    title="Watched Resource",
    description="A resource clients can subscribe to",
    mime_type="text/plain",
)
def watched_resource() -> str:
    return "Watched resource content"


@app.resource(
    "test://template/{id}/data",
    name="template",
    title="Resource Template",
    description="A resource template with parameter substitution",
    mime_type="application/json",
)
def template_data(id: str) -> str:
    return json.dumps(
        {"id": id, "templateTest": True, "data": f"Data for ID: {id}"}, separators=(",", ":")
    )


# ---------------------------------------------------------------------------------------------
# Prompts.


@app.prompt(description="A simple prompt without arguments")
def test_simple_prompt() -> str:
    return "This is a simple prompt for testing."


@app.prompt(
    description="A prompt with required arguments",
    arguments=[
        {"name": "arg1", "description": "First test argument"},
        {"name": "arg2", "description": "Second test argument"},
    ],
)
def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@app.prompt(
    description="A prompt that includes an embedded resource",
    arguments=[{"name": "resourceUri", "description": "URI of the resource to embed"}],
)
def test_prompt_with_embedded_resource(resourceUri: str) -> list[dict[str, Any]]:
    resource = EmbeddedResource(
        uri=resourceUri, text="Embedded resource content for testing.", mime_type="text/plain"
    )
    return [
        {"role": "user", "content": resource},
        {"role": "user", "content": "Please process the embedded resource above."},
    ]


@app.prompt(description="A prompt that includes image content")
def test_prompt_with_image() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": Image(data=PNG, mime_type="image/png")},
        {"role": "user", "content": "Please analyze the image above."},
    ]


@app.prompt(description="MRTR: prompt that requires elicitation input")
async def test_input_required_result_prompt(ctx: Context) -> str:
    answers = await ctx.ask(
        {
            "user_context": _elicit(
                "What context should the prompt use?", _form(context={"type": "string"})
            )
        }
    )
    return f"Prompt with context: {_answer(answers['user_context'], 'context')}"


# ---------------------------------------------------------------------------------------------
# Completions.

CITIES = ("paris", "park", "party", "test", "testing")


@app.completion("ref/prompt", "test_prompt_with_arguments")
def complete_prompt_argument(argument: str, value: str, context: dict[str, Any]) -> list[str]:
    """Suggestions for either argument: the known words that start with what was typed."""
    return [city for city in CITIES if city.startswith(value.lower())]
