"""The floor: a bare ASGI app that parses a JSON-RPC body and answers it, no framework.

It does the least any Python MCP server must do for a `tools/call`: read the body,
decode JSON, dispatch on method and tool name, encode the result. No validation,
no sessions, no header checks. Its throughput is the ceiling for a Python server
under the same uvicorn settings.
"""

import json
from typing import Any


def call_tool(name: str, args: dict[str, Any]) -> dict[str, Any]:
    if name == "echo":
        text = str(args["text"])
    elif name == "add":
        text = str(args["a"] + args["b"])
    else:
        raise KeyError(name)
    return {"content": [{"type": "text", "text": text}], "isError": False}


def answer(message: dict[str, Any]) -> dict[str, Any]:
    params = message.get("params") or {}
    reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message.get("id")}
    try:
        if message["method"] != "tools/call":
            raise KeyError(message["method"])
        reply["result"] = call_tool(params["name"], params.get("arguments") or {})
    except KeyError as exc:
        reply["error"] = {"code": -32601, "message": f"not found: {exc}"}
    return reply


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        event = await receive()
        body += event.get("body", b"")
        more = event.get("more_body", False)
    payload = json.dumps(answer(json.loads(body))).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
