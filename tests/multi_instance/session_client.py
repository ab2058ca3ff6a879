"""Just enough of a Streamable HTTP client, async, to watch streams across instances."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from wire import ACCEPT, meta, modern_headers

VERSION = "2025-11-25"


def headers(session_id: str, **extra: str) -> dict[str, str]:
    return {
        "accept": ACCEPT,
        "content-type": "application/json",
        "mcp-session-id": session_id,
        "mcp-protocol-version": VERSION,
        **extra,
    }


def request(method: str, params: dict[str, Any] | None = None, id: int | str = 1) -> Any:
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}}


def tool(name: str, arguments: dict[str, Any] | None = None, id: int | str = 1, **m: Any) -> Any:
    params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
    if m:
        params["_meta"] = m
    return request("tools/call", params, id)


async def initialize(client: httpx.AsyncClient, url: str) -> str:
    init = request(
        "initialize",
        {
            "protocolVersion": VERSION,
            "capabilities": {"elicitation": {}, "sampling": {}},
            "clientInfo": {"name": "multi-instance-test", "version": "1"},
        },
        id=0,
    )
    response = await client.post(url, json=init, headers={"accept": ACCEPT})
    response.raise_for_status()
    session_id = response.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await client.post(url, json=note, headers=headers(session_id))).status_code == 202
    return session_id


async def post(client: httpx.AsyncClient, url: str, session_id: str, body: Any) -> httpx.Response:
    return await client.post(url, json=body, headers=headers(session_id))


def result(response: httpx.Response) -> Any:
    """The last JSON-RPC message of a JSON or SSE response."""
    if response.headers["content-type"].startswith("application/json"):
        return response.json()
    return [message for _, message in parse(response.text)][-1]


def parse(text: str) -> list[tuple[str | None, Any]]:
    """(id, message) of each SSE event that carries data."""
    found = []
    for block in text.split("\n\n"):
        event_id, data = None, []
        for line in block.splitlines():
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data and data[0]:
            found.append((event_id, json.loads("\n".join(data))))
    return found


async def events(response: httpx.Response) -> AsyncIterator[tuple[str | None, Any]]:
    """(id, message) of each SSE event as it arrives on a streamed response."""
    event_id: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line:
            if data and data[0]:
                yield event_id, json.loads("\n".join(data))
            event_id, data = None, []


async def modern_call(
    client: httpx.AsyncClient, url: str, name: str, arguments: dict[str, Any], **params: Any
) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": meta(), **params},
    }
    return await client.post(url, json=body, headers=modern_headers("tools/call", name))
