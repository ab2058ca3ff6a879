"""Requests of both protocol eras, as a client sends them."""

from __future__ import annotations

from typing import Any

import httpx

STATELESS = "2026-07-28"
LEGACY = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
META = {
    "io.modelcontextprotocol/protocolVersion": STATELESS,
    "io.modelcontextprotocol/clientInfo": {"name": "ops-tests", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def modern(
    client: httpx.Client, url: str, method: str, params: dict[str, Any] | None = None, **extra: Any
) -> httpx.Response:
    params = {**(params or {}), "_meta": {**META, **extra.pop("meta", {})}}
    headers = {
        "content-type": "application/json",
        "accept": ACCEPT,
        "mcp-protocol-version": STATELESS,
        "mcp-method": method,
        **extra.pop("headers", {}),
    }
    if method in ("tools/call", "prompts/get"):
        headers["mcp-name"] = params["name"]
    elif method == "resources/read" and isinstance(params.get("uri"), str):
        headers["mcp-name"] = params["uri"]
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return client.post(url, json=body, headers=headers)


def call_tool(client: httpx.Client, url: str, name: str, **arguments: Any) -> httpx.Response:
    return modern(client, url, "tools/call", {"name": name, "arguments": arguments})


class Session:
    """A legacy (2025-11-25) session."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client = client
        self.url = url
        self.next_id = 0
        init = self.send(
            "initialize",
            {
                "protocolVersion": LEGACY,
                "capabilities": {},
                "clientInfo": {"name": "ops-tests", "version": "1"},
            },
            session=False,
        )
        assert init.status_code == 200, init.text
        self.id = init.headers["mcp-session-id"]
        self.send("notifications/initialized", notify=True)

    def headers(self) -> dict[str, str]:
        return {"mcp-session-id": self.id, "mcp-protocol-version": LEGACY}

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        notify: bool = False,
        session: bool = True,
    ) -> httpx.Response:
        self.next_id += 1
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        if not notify:
            body["id"] = self.next_id
        headers = {"content-type": "application/json", "accept": ACCEPT}
        if session:
            headers.update(self.headers())
        return self.client.post(self.url, json=body, headers=headers)

    def call(self, name: str, **arguments: Any) -> httpx.Response:
        return self.send("tools/call", {"name": name, "arguments": arguments})

    def close(self) -> httpx.Response:
        return self.client.delete(self.url, headers=self.headers())
