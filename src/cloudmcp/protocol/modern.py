"""The stateless 2026-07-28 revision: every request stands alone.

A request carries its version, capabilities and identity in `_meta`, and the HTTP
headers mirror the body so intermediaries can route on them; the server checks that
they agree. Input from the client comes by Multi Round-Trip Requests: the server
answers `input_required`, and the client retries with `inputResponses` and the
sealed `requestState`.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.context import CAPABILITY_FOR, Context, InputRequired
from cloudmcp.protocol.errors import (
    INTERNAL_ERROR,
    MCPError,
    header_mismatch,
    invalid_params,
    invalid_request,
    method_not_found,
    missing_capability,
    unsupported_version,
)
from cloudmcp.protocol.features import CACHEABLE, MAY_REQUIRE_INPUT, Method
from cloudmcp.protocol.streams import ResponseStream
from cloudmcp.protocol.transport import (
    KEEPALIVE,
    SSE_HEADERS,
    Accept,
    HttpRequest,
    Responder,
    sse_event,
)
from cloudmcp.protocol.versions import MODERN, SUPPORTED

if TYPE_CHECKING:
    from cloudmcp.protocol.engine import Engine

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
META_SERVER = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION = "io.modelcontextprotocol/subscriptionId"

#: Methods whose `Mcp-Name` header mirrors a body field.
NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
#: subscriptions/listen filter fields, and the notification each lets through.
LIST_CHANGED = {
    "toolsListChanged": ("tools", "notifications/tools/list_changed"),
    "promptsListChanged": ("prompts", "notifications/prompts/list_changed"),
    "resourcesListChanged": ("resources", "notifications/resources/list_changed"),
}
_ENCODED = ("=?base64?", "?=")


def decode_header(value: str) -> str:
    """A header value with the `=?base64?…?=` sentinel decoded; 400 when it is malformed."""
    value = value.strip(" \t")
    if value.startswith(_ENCODED[0]) and value.endswith(_ENCODED[1]) and len(value) > 11:
        try:
            return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise header_mismatch(f"malformed base64 header value {value!r}") from None
    if not (value.isascii() and value.isprintable()) and any(
        (ord(c) < 0x20 and c != "\t") or ord(c) > 0x7E for c in value
    ):
        raise header_mismatch("header value has characters outside visible ASCII")
    return value


def _header_text(value: Any) -> str | None:
    """A body value as its header would carry it (None: no header expected)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Exchange:
    """MRTR: answers come from the retry; an unanswered ask ends the round."""

    def __init__(self, stream: ResponseStream, capabilities: dict[str, Any], answers: Any) -> None:
        self.stream = stream
        self.capabilities = capabilities
        self.answers: dict[str, Any] = answers
        self.used: dict[str, Any] = {}

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.stream.send(jsonrpc.notification(method, params))

    async def close_stream(self) -> None:
        """Streams are not resumable in this revision: closing one would cancel the call."""

    async def ask(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        missing = [
            CAPABILITY_FOR[r["method"]]
            for r in requests.values()
            if CAPABILITY_FOR.get(r["method"]) not in self.capabilities
        ]
        if missing:
            raise missing_capability(*dict.fromkeys(missing))
        answered = {k: self.answers[k] for k in requests if _valid_answer(self.answers.get(k))}
        self.used.update(answered)
        unanswered = {k: r for k, r in requests.items() if k not in answered}
        if unanswered:
            raise InputRequired(unanswered)
        return answered


def _valid_answer(answer: Any) -> bool:
    return isinstance(answer, dict)


class Modern:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def post(
        self, request: HttpRequest, message: dict[str, Any], accept: Accept, responder: Responder
    ) -> None:
        request_id = message.get("id")
        try:
            if "method" not in message:
                raise invalid_request("clients send no responses in this protocol revision")
            if request_id is None:  # a notification: accepted, nothing to answer
                await responder.respond(202, [], b"")
                return
            await self._request(request, message, accept, responder)
        except MCPError as exc:
            await self.engine.reply_error(request, responder, request_id, exc)

    def _check(self, request: HttpRequest, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The request's `_meta` once headers and body agree; raises the spec's errors."""
        meta = params.get("_meta")
        if (
            not isinstance(meta, dict)
            or not isinstance(meta.get(META_VERSION), str)
            or not isinstance(meta.get(META_CAPABILITIES), dict)
        ):
            raise MCPError(
                -32602,
                f"Invalid params: _meta must carry {META_VERSION} and {META_CAPABILITIES}",
                status=400,
            )
        headers = request.headers
        version = meta[META_VERSION]
        header_version = headers.get("mcp-protocol-version")
        if header_version is None:
            raise header_mismatch("the MCP-Protocol-Version header is required")
        if header_version.strip() != version:
            raise header_mismatch(
                f"MCP-Protocol-Version header {header_version!r} does not match body {version!r}"
            )
        if version != MODERN:
            raise unsupported_version(version, SUPPORTED)
        header_method = headers.get("mcp-method")
        if header_method is None:
            raise header_mismatch("the Mcp-Method header is required")
        if header_method.strip(" \t") != method:
            raise header_mismatch(f"Mcp-Method header {header_method!r} does not match {method!r}")
        field = NAMED.get(method)
        if field is not None:
            name_header = headers.get("mcp-name")
            if name_header is None:
                raise header_mismatch("the Mcp-Name header is required for " + method)
            if decode_header(name_header) != params.get(field):
                raise header_mismatch(f"Mcp-Name header does not match params.{field}")
        return meta

    def _check_params_headers(self, request: HttpRequest, params: dict[str, Any]) -> None:
        tool = self.engine.app.tools.get(params.get("name"))  # type: ignore[arg-type]
        if tool is None or not tool.signature.headers:
            return
        arguments = params.get("arguments")
        arguments = arguments if isinstance(arguments, dict) else {}
        for header, argument in tool.signature.headers.items():
            expected = _header_text(arguments.get(argument))
            sent = request.headers.get(f"mcp-param-{header.lower()}")
            if expected is None:
                continue
            if sent is None:
                raise header_mismatch(f"the Mcp-Param-{header} header is required")
            if decode_header(sent) != expected:
                raise header_mismatch(f"Mcp-Param-{header} header does not match {argument!r}")

    async def _request(
        self, request: HttpRequest, message: dict[str, Any], accept: Accept, responder: Responder
    ) -> None:
        engine = self.engine
        method: str = message["method"]
        params = message.get("params") or {}
        info = request.info
        info.method, info.version = method, MODERN
        name = params.get(NAMED.get(method, "name"))
        info.name = name if isinstance(name, str) else None
        meta = self._check(request, method, params)
        handler = engine.features.methods.get(method)
        if handler is None and method not in ("server/discover", "subscriptions/listen"):
            raise method_not_found(method, status=404)
        if method == "tools/call":
            self._check_params_headers(request, params)
        request_id = message["id"]
        if method == "server/discover":
            await self._finish(responder, accept, request_id, method, engine.discover())
            return
        if method == "subscriptions/listen":
            await self._listen(request_id, params, responder)
            return
        assert handler is not None  # nosec B101 - for mypy: checked above, None is 404
        capabilities = meta[META_CAPABILITIES]
        stream = ResponseStream(responder, accept, [])
        answers: dict[str, Any] = {}
        if method in MAY_REQUIRE_INPUT:
            answers = self._answers(request, method, params)
        exchange = _Exchange(stream, capabilities, answers)
        log_level = meta.get(META_LOG_LEVEL)
        ctx = Context(
            request_id=request_id,
            method=method,
            protocol_version=MODERN,
            client_capabilities=capabilities,
            client_info=meta.get(META_CLIENT),
            meta=meta,
            exchange=exchange,
            principal=request.principal,
            deadline=request.deadline,
            platform=request.platform,
            log_level=log_level if isinstance(log_level, str) else None,
        )
        with responder.cancelled_on_disconnect():  # closing the stream cancels the request
            await self._run(request, handler, params, ctx, exchange, stream)

    async def _run(
        self,
        request: HttpRequest,
        handler: Method,
        params: dict[str, Any],
        ctx: Context,
        exchange: _Exchange,
        stream: ResponseStream,
    ) -> None:
        engine, method, request_id, info = self.engine, ctx.method, ctx.request_id, request.info
        try:
            result = await engine.run(handler, params, ctx)
        except InputRequired as needed:
            if method not in MAY_REQUIRE_INPUT:  # the spec allows asking on three methods only
                error = MCPError(INTERNAL_ERROR, f"{method} cannot ask the client for input")
                await stream.finish(jsonrpc.error(request_id, error))
                return
            state = engine.keyring.seal(
                {"q": _fingerprint(request, method, params), "r": exchange.used},
                engine.settings.state_ttl,
            )
            interim = {
                "resultType": "input_required",
                "inputRequests": needed.requests,
                "requestState": state,
            }
            await stream.finish(jsonrpc.result(request_id, interim))
            return
        except MCPError as exc:
            info.error = exc.code
            await stream.finish(jsonrpc.error(request_id, exc), exc.status)
            return
        info.tool_error = result.get("isError") is True
        cacheable = method in CACHEABLE and "requestState" not in params
        await stream.finish(jsonrpc.result(request_id, self.decorate(result, cacheable)))

    def _answers(self, request: HttpRequest, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Answers gathered so far: from the sealed state, then from this retry."""
        answers: dict[str, Any] = {}
        if "requestState" in params:
            state = self.engine.keyring.open(params["requestState"])
            if state.get("q") != _fingerprint(request, method, params):
                raise invalid_params("requestState belongs to a different request")
            answers.update(state.get("r") or {})
        if "inputResponses" in params:
            responses = params["inputResponses"]
            if not isinstance(responses, dict):
                raise invalid_params('"inputResponses" must be an object')
            answers.update(responses)
        return answers

    def decorate(self, result: dict[str, Any], cacheable: bool) -> dict[str, Any]:
        result["resultType"] = "complete"
        result["_meta"] = {**(result.get("_meta") or {}), META_SERVER: self.engine.server_info}
        if cacheable:
            result.setdefault("ttlMs", self.engine.settings.list_ttl_ms)
            result.setdefault("cacheScope", self.engine.cache_scope)
        return result

    async def _finish(
        self,
        responder: Responder,
        accept: Accept,
        request_id: Any,
        method: str,
        result: dict[str, Any],
    ) -> None:
        stream = ResponseStream(responder, accept, [])
        await stream.finish(jsonrpc.result(request_id, self.decorate(result, method in CACHEABLE)))

    async def _listen(self, request_id: Any, params: dict[str, Any], responder: Responder) -> None:
        """`subscriptions/listen`: an open stream of the change notifications asked for."""
        wanted = params.get("notifications") or {}
        if not isinstance(wanted, dict):
            raise invalid_params('"notifications" must be an object')
        engine = self.engine
        capabilities = engine.features.capabilities()
        granted: dict[str, Any] = {}
        allowed: set[str] = set()
        for field, (capability, notification) in LIST_CHANGED.items():
            if wanted.get(field) is True and capability in capabilities:
                granted[field] = True
                allowed.add(notification)
        uris = wanted.get("resourceSubscriptions")
        logs = {engine.keys.notifications: await engine.store.tail(engine.keys.notifications)}
        if isinstance(uris, list) and "resources" in capabilities:
            uris = [uri for uri in uris if isinstance(uri, str)]
            granted["resourceSubscriptions"] = uris
            allowed.add("notifications/resources/updated")
            for uri in uris:
                key = engine.keys.resource(uri)
                logs[key] = await engine.store.tail(key)
        tag = {META_SUBSCRIPTION: request_id}
        await responder.start_stream(SSE_HEADERS)
        ack = {"_meta": tag, "notifications": granted}
        await responder.write(
            _event(jsonrpc.notification("notifications/subscriptions/acknowledged", ack))
        )
        with responder.cancelled_on_disconnect():
            while not responder.closed and not engine.closing:
                events = await engine.read_events(logs, timeout=engine.settings.sse_keepalive)
                if not events and not engine.closing:
                    await responder.write(KEEPALIVE)
                for event in events:
                    logs[event.log] = event.id
                    note = jsonrpc.decode(event.data)
                    if note.get("method") not in allowed:
                        continue
                    note["params"] = {**(note.get("params") or {}), "_meta": tag}
                    await responder.write(_event(note))
            # The server ends the subscription: say so with a result, then close.
            closing = {"resultType": "complete", "_meta": tag}
            await responder.write(_event(jsonrpc.result(request_id, closing)))
            await responder.end_stream()


def _event(message: dict[str, Any]) -> bytes:
    return sse_event(jsonrpc.encode(message))


def _fingerprint(request: HttpRequest, method: str, params: dict[str, Any]) -> str:
    """Binds sealed state to one request: its method, target, arguments and caller."""
    import hashlib  # MRTR only: kept off the cold path of every other request

    target = {k: params.get(k) for k in ("name", "uri", "arguments")}
    principal = getattr(request.principal, "id", request.principal)
    digest = hashlib.sha256(jsonrpc.encode_canonical([method, target, str(principal)]))
    return digest.hexdigest()[:32]
