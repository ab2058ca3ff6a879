"""Test an app in-process, in either protocol era, with no network and no server.

```python
from cloudmcp.testing import TestClient

async def test_lookup() -> None:
    async with TestClient(app) as client:                 # 2026-07-28, stateless
        result = await client.call_tool("lookup", {"sku": "A1"})
        assert result["structuredContent"]["on_hand"] == 12

    async with TestClient(app, era="legacy") as client:   # an initialize handshake
        assert [t["name"] for t in await client.list_tools()] == ["lookup", "restock"]
```

Requests go through the whole server (Host/Origin checks, authentication, the engine,
observers) exactly as a real client's would. Questions a tool asks the client
(`ctx.elicit`, `ctx.sample`, `ctx.list_roots`) are answered by `answer(method, params)`:
on 2026-07-28 as a retry with `inputResponses` and the sealed `requestState`, on a
legacy session as a response to the server's request on the SSE stream. Every
notification the server sends (progress, log messages) is kept in `notifications`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Literal

from cloudmcp.compose import Composable, Service
from cloudmcp.errors import MCPError
from cloudmcp.protocol.transport import Headers, HttpRequest, Responder
from cloudmcp.protocol.versions import LEGACY, STATELESS

#: Answers a server-to-client request: `(method, params) -> result`, sync or async.
Answer = Callable[[str, dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]

CLIENT_INFO = {"name": "cloudmcp-testclient", "version": "1"}
ACCEPT = "application/json, text/event-stream"
#: The param that names a request's target, for the `Mcp-Name` header.
_NAMED = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}


# what clients put on the wire, for tests that check it byte for byte


def stateless_meta(
    capabilities: Mapping[str, Any] | None = None,
    *,
    client: Mapping[str, Any] = CLIENT_INFO,
    version: str = STATELESS,
    **extra: Any,
) -> dict[str, Any]:
    """The `_meta` every 2026-07-28 request carries."""
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": dict(client),
        "io.modelcontextprotocol/clientCapabilities": dict(capabilities or {}),
        **extra,
    }


def stateless_headers(
    method: str, params: Mapping[str, Any] | None = None, *, version: str = STATELESS
) -> dict[str, str]:
    """The headers that mirror a 2026-07-28 request's body (`Mcp-Name` from its target)."""
    headers = {
        "content-type": "application/json",
        "accept": ACCEPT,
        "mcp-protocol-version": version,
        "mcp-method": method,
    }
    target = (params or {}).get(_NAMED.get(method, ""))
    if isinstance(target, str):
        headers["mcp-name"] = _header_value(target)
    return headers


def initialize_request(
    version: str = LEGACY[0],
    capabilities: Mapping[str, Any] | None = None,
    *,
    client: Mapping[str, Any] = CLIENT_INFO,
    request_id: int | str = 0,
) -> dict[str, Any]:
    """The `initialize` request a legacy client opens its session with."""
    params = {
        "protocolVersion": version,
        "capabilities": dict(capabilities or {}),
        "clientInfo": dict(client),
    }
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


class Response:
    """One HTTP answer: its status, headers, and body or SSE messages."""

    def __init__(self, status: int, headers: Headers, body: bytes, messages: list[Any]) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        #: The JSON-RPC messages of an SSE stream, in order (empty for a JSON body).
        self.messages = messages

    def json(self) -> Any:
        return json.loads(self.body)


class _Responder(Responder):
    """Keeps the answer in memory; hands each SSE message to `on_message` as it comes."""

    def __init__(self, on_message: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.on_message = on_message
        self.headers: Headers = []
        self.body = b""
        self.messages: list[Any] = []
        self._pending = b""

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def start_stream(self, headers: Headers) -> None:
        self.status, self.headers = 200, headers

    async def write(self, chunk: bytes) -> None:
        self._pending += chunk
        while b"\n\n" in self._pending:
            event, self._pending = self._pending.split(b"\n\n", 1)
            data = b"\n".join(
                line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")
            )
            if data:
                message = json.loads(data)
                self.messages.append(message)
                await self.on_message(message)

    async def end_stream(self) -> None:
        pass

    def response(self) -> Response:
        return Response(self.status, self.headers, self.body, self.messages)


class TestClient:
    """An in-process MCP client of an app (an `MCPApp`); use `async with`."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: Composable,
        *,
        era: Literal["stateless", "legacy"] = "stateless",
        version: str | None = None,
        capabilities: Mapping[str, Any] | None = None,
        answer: Answer | None = None,
        headers: Mapping[str, str] | None = None,
        path: str = "/mcp",
        host: str = "localhost",
    ) -> None:
        self.app = app
        self.era = era
        self.version = version or (STATELESS if era == "stateless" else LEGACY[0])
        self.capabilities = dict(
            capabilities
            if capabilities is not None
            else ({"elicitation": {}, "sampling": {}, "roots": {}} if answer else {})
        )
        self.answer = answer
        #: Headers every request carries (a credential, say).
        self.headers = {"host": host, **{k.lower(): v for k, v in (headers or {}).items()}}
        self.path = path
        #: Every notification the server sent, in order.
        self.notifications: list[dict[str, Any]] = []
        #: The legacy session's id, once `initialize` opened one.
        self.session_id: str | None = None
        self._service: Service | None = None
        self._lifespan: Any = None
        self._ids = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TestClient:
        self._lifespan = self.app.lifespan()
        await self._lifespan.__aenter__()
        self._service = self.app.compose()
        if self.era == "legacy":
            await self._initialize()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.session_id is not None:
            await self.http("DELETE", headers=self._session_headers())
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._lifespan.__aexit__(kind, error, traceback)

    # the wire

    async def http(
        self, method: str, body: Any = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """One HTTP request to the MCP endpoint, as raw as a test needs."""
        if self._service is None or self._service.closed:
            self._service = self.app.compose()
        data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body)
        sent = {**self.headers, **{k.lower(): v for k, v in (headers or {}).items()}}
        if body is not None:
            sent.setdefault("content-type", "application/json")
        request = HttpRequest(method, sent, data if isinstance(data, bytes) else data.encode())
        request.path = self.path
        responder = _Responder(self._on_message)
        await self._service.server.handle(request, responder, self.path)
        return responder.response()

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request; its result. A JSON-RPC error raises `MCPError` (its `code`,
        `message`, `data`, and the HTTP status); input asked for is answered by `answer`."""
        params = dict(params or {})
        while True:
            response = await self.http(
                "POST", self._message(method, params), headers=self._headers(method, params)
            )
            reply = _reply(response)
            if "error" in reply:
                error = reply["error"]
                raise MCPError(
                    error.get("code", 0),
                    error.get("message", ""),
                    error.get("data"),
                    status=response.status,
                )
            result: dict[str, Any] = reply["result"]
            if result.get("resultType") != "input_required":
                return result
            params["inputResponses"] = {
                key: await self._answer(asked["method"], asked.get("params") or {})
                for key, asked in result["inputRequests"].items()
            }
            params["requestState"] = result["requestState"]

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> Response:
        message = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        return await self.http("POST", message, headers=self._headers(method, params or {}))

    # MCP, by name

    async def discover(self) -> dict[str, Any]:
        return await self.request("server/discover")

    async def ping(self) -> dict[str, Any]:
        return await self.request("ping")

    async def list_tools(self) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = (await self.request("tools/list"))["tools"]
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": arguments or {}})

    async def list_resources(self) -> list[dict[str, Any]]:
        resources: list[dict[str, Any]] = (await self.request("resources/list"))["resources"]
        return resources

    async def list_resource_templates(self) -> list[dict[str, Any]]:
        result = await self.request("resources/templates/list")
        templates: list[dict[str, Any]] = result["resourceTemplates"]
        return templates

    async def read_resource(self, uri: str) -> list[dict[str, Any]]:
        contents: list[dict[str, Any]] = (await self.request("resources/read", {"uri": uri}))[
            "contents"
        ]
        return contents

    async def list_prompts(self) -> list[dict[str, Any]]:
        prompts: list[dict[str, Any]] = (await self.request("prompts/list"))["prompts"]
        return prompts

    async def get_prompt(
        self, name: str, arguments: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return await self.request("prompts/get", {"name": name, "arguments": arguments or {}})

    async def complete(self, ref: dict[str, Any], argument: str, value: str) -> dict[str, Any]:
        params = {"ref": ref, "argument": {"name": argument, "value": value}}
        completion: dict[str, Any] = (await self.request("completion/complete", params))[
            "completion"
        ]
        return completion

    # what goes on the wire, per era

    def _message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._ids += 1
        if self.era == "stateless":
            extra = params.get("_meta") or {}
            meta = stateless_meta(self.capabilities, version=self.version, **extra)
            params = {**params, "_meta": meta}
        return {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}

    def _headers(self, method: str, params: dict[str, Any]) -> dict[str, str]:
        if self.era == "legacy":
            return {"accept": ACCEPT, **self._session_headers()}
        headers = stateless_headers(method, params, version=self.version)
        target = params.get("name")
        if method == "tools/call":  # arguments a tool mirrors into Mcp-Param-* headers
            tool = getattr(self.app, "tools", {}).get(target)
            arguments = params.get("arguments") or {}
            for header, argument in getattr(tool, "headers", {}).items():
                if arguments.get(argument) is not None:
                    value = _param_text(arguments[argument])
                    headers[f"mcp-param-{header.lower()}"] = _header_value(value)
        return headers

    def _session_headers(self) -> dict[str, str]:
        headers = {"mcp-protocol-version": self.version}
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
        return headers

    async def _initialize(self) -> None:
        self._ids += 1
        message = initialize_request(self.version, self.capabilities, request_id=self._ids)
        response = await self.http("POST", message, headers={"accept": ACCEPT})
        reply = _reply(response)
        if "error" in reply:
            raise MCPError(
                reply["error"]["code"], reply["error"]["message"], status=response.status
            )
        self.session_id = response.headers["mcp-session-id"]
        await self.notify("notifications/initialized")

    async def _on_message(self, message: dict[str, Any]) -> None:
        if "id" in message and "method" in message:  # a legacy server-to-client request
            task = asyncio.get_running_loop().create_task(self._respond(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif "method" in message:
            self.notifications.append(message)

    async def _respond(self, request: dict[str, Any]) -> None:
        try:
            body: dict[str, Any] = {
                "jsonrpc": "2.0",
                "id": request["id"],
                "result": await self._answer(request["method"], request.get("params") or {}),
            }
        except MCPError as exc:
            body = {"jsonrpc": "2.0", "id": request["id"], "error": exc.to_error()}
        await self.http("POST", body, headers={"accept": ACCEPT, **self._session_headers()})

    async def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.answer is None:
            raise MCPError(-32601, f"this TestClient answers no {method}: pass answer=...")
        answer = self.answer(method, params)
        if not isinstance(answer, dict):
            answer = await answer
        return answer


def _reply(response: Response) -> dict[str, Any]:
    """The JSON-RPC response in an answer: its body, or the last message of its stream."""
    if response.messages:
        replies = [m for m in response.messages if "result" in m or "error" in m]
        if replies:
            reply: dict[str, Any] = replies[-1]
            return reply
    if not response.body:
        raise MCPError(-32603, f"no JSON-RPC response (HTTP {response.status})")
    body: dict[str, Any] = response.json()
    return body


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _header_value(value: str) -> str:
    """A header carries visible ASCII; anything else goes base64-encoded (2026-07-28)."""
    if value.isascii() and value.isprintable():
        return value
    import base64

    return "=?base64?" + base64.b64encode(value.encode()).decode() + "?="


__all__ = [
    "Answer",
    "Response",
    "TestClient",
    "initialize_request",
    "stateless_headers",
    "stateless_meta",
]
