"""Raw Streamable HTTP requests for tests that check the wire itself, byte for byte."""

from __future__ import annotations

import json
from typing import Any

import httpx

from cloudmcp.testing import ACCEPT, stateless_headers, stateless_meta
from cloudmcp.testing import initialize_request as _initialize_request

STATELESS = "2026-07-28"
CAPABILITIES = {"sampling": {}, "elicitation": {}, "roots": {}}
CLIENT = {"name": "wire-test", "version": "1"}


def meta(**extra: Any) -> dict[str, Any]:
    return stateless_meta(CAPABILITIES, client=CLIENT, **extra)


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    headers = stateless_headers(method)
    if name is not None:
        headers["mcp-name"] = name
    return headers


def modern(
    client: httpx.Client, url: str, method: str, params: dict[str, Any] | None = None, id: int = 1
) -> httpx.Response:
    """A conformant 2026-07-28 request: headers mirror the body."""
    params = {**(params or {}), "_meta": {**meta(), **(params or {}).get("_meta", {})}}
    body = {"jsonrpc": "2.0", "id": id, "method": method, "params": params}
    return client.post(url, json=body, headers=stateless_headers(method, params))


def initialize(version: str = "2025-11-25", client: str = "wire-test") -> dict[str, Any]:
    """The `initialize` request a legacy client opens its session with."""
    capabilities = {"elicitation": {}, "sampling": {}}
    return _initialize_request(version, capabilities, client={"name": client, "version": "1"})


class Session:
    """A legacy session opened with `initialize`."""

    def __init__(self, client: httpx.Client, url: str, version: str = "2025-11-25") -> None:
        self.client = client
        self.url = url
        self.version = version
        response = client.post(url, json=initialize(version), headers={"accept": ACCEPT})
        response.raise_for_status()
        self.id = response.headers["mcp-session-id"]
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    @property
    def headers(self) -> dict[str, str]:
        return {
            "accept": ACCEPT,
            "mcp-session-id": self.id,
            "mcp-protocol-version": self.version,
        }

    def post(self, body: Any, **headers: str) -> httpx.Response:
        return self.client.post(self.url, json=body, headers={**self.headers, **headers})

    def call(self, method: str, params: dict[str, Any] | None = None, id: int = 1) -> Any:
        response = self.post({"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}})
        if response.headers["content-type"].startswith("application/json"):
            return response.json()
        return events(response.text)[-1]


def events(text: str) -> list[Any]:
    """The JSON messages of an SSE body, in order (priming events carry no data)."""
    messages = []
    for block in text.split("\n\n"):
        data = [line[5:].strip() for line in block.splitlines() if line.startswith("data:")]
        if data and data[0]:
            messages.append(json.loads("\n".join(data)))
    return messages


def event_ids(text: str) -> list[str]:
    return [line[3:].strip() for line in text.splitlines() if line.startswith("id:")]


TASKS = "io.modelcontextprotocol/tasks"


def tasks_request(
    client: httpx.Client,
    url: str,
    method: str,
    params: dict[str, Any],
    *,
    declare: bool = True,
    id: int = 1,
) -> dict[str, Any]:
    """A 2026-07-28 request from a client that declares the tasks extension (unless
    `declare=False`); the JSON-RPC response. `Mcp-Name` carries the tool or the task id."""
    capabilities = {**CAPABILITIES, "extensions": {TASKS: {}}} if declare else CAPABILITIES
    body_meta = meta(**{"io.modelcontextprotocol/clientCapabilities": capabilities})
    body = {"jsonrpc": "2.0", "id": id, "method": method, "params": {**params, "_meta": body_meta}}
    name = params.get("taskId") or params.get("name")
    response = client.post(url, json=body, headers=modern_headers(method, name))
    answer: dict[str, Any] = response.json()
    return answer
