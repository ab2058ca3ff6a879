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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudmcp.app.context import CAPABILITY_FOR, Context
from cloudmcp.app.registry import Registry, task_support
from cloudmcp.errors import Deferred, InputRequired, MCPError
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.call import Call
from cloudmcp.protocol.closing import Closing
from cloudmcp.protocol.errors import (
    header_mismatch,
    internal_error,
    invalid_params,
    method_not_found,
    missing_capability,
    unsupported_version,
)
from cloudmcp.protocol.features import Features
from cloudmcp.protocol.streams import ResponseStream
from cloudmcp.protocol.tasks import EXTENSION, declared, not_declared
from cloudmcp.protocol.transport import (
    KEEPALIVE,
    SSE_HEADERS,
    Accept,
    HttpRequest,
    Responder,
    principal_id,
    sse_event,
)
from cloudmcp.protocol.versions import STATELESS, SUPPORTED
from cloudmcp.settings import Settings
from cloudmcp.state.keys import Keys
from cloudmcp.state.store import Store

if TYPE_CHECKING:  # built on first use, off the cold path
    from cloudmcp.protocol.sealing import KeyRing
    from cloudmcp.protocol.tasks.methods import TaskMethods

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
META_SERVER = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION = "io.modelcontextprotocol/subscriptionId"

#: Resources one `subscriptions/listen` stream may follow: each costs a log read.
MAX_SUBSCRIPTIONS = 100
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
        #: Whether `ctx.defer()` makes the call a task (the client declared tasks).
        self.may_defer = False

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.stream.send(jsonrpc.notification(method, params))

    async def close_stream(self) -> None:
        """Streams are not resumable in this revision: closing one would cancel the call."""

    async def defer(self) -> None:
        if self.may_defer:
            raise Deferred()

    async def ask(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        missing = [
            CAPABILITY_FOR[r["method"]]
            for r in requests.values()
            if CAPABILITY_FOR.get(r["method"]) not in self.capabilities
        ]
        if missing:
            raise missing_capability(*dict.fromkeys(missing))
        answered = {k: self.answers[k] for k in requests if isinstance(self.answers.get(k), dict)}
        self.used.update(answered)
        unanswered = {k: r for k, r in requests.items() if k not in answered}
        if unanswered:
            raise InputRequired(unanswered)
        return answered


class Stateless:
    """Serves 2026-07-28 requests: each stands alone."""

    def __init__(
        self,
        registry: Registry,
        features: Features,
        store: Store,
        keys: Keys,
        settings: Settings,
        closing: Closing,
        *,
        keyring: Callable[[], KeyRing],
        tasks: Callable[[], TaskMethods],
        cache_scope: str,
    ) -> None:
        self.registry = registry
        self.features = features
        self.store = store
        self.keys = keys
        self.settings = settings
        self.closing = closing
        #: The MRTR `requestState` key ring, built on first use.
        self.keyring = keyring
        #: The tasks extension, built on first use.
        self.tasks = tasks
        self.cache_scope = cache_scope

    async def serve(
        self, request: HttpRequest, call: Call, accept: Accept, responder: Responder
    ) -> None:
        """Answer one request; raises `MCPError` for what is refused before it runs."""
        meta = self._check(request, call)
        if not call.spec.stateless:
            raise method_not_found(call.method, status=404)
        if call.method == "tools/call":
            self._check_params_headers(request, call)
        if call.method == "subscriptions/listen":
            await self._listen(call, responder)
            return
        stream = ResponseStream(responder, accept, [], info=request.info)
        if call.method == "server/discover":
            await stream.finish(jsonrpc.result(call.id, self.decorate(self.discover(), True)))
            return
        capabilities = meta[META_CAPABILITIES]
        if call.spec.kind == "task":
            if not declared(capabilities):
                raise not_declared(call.method)
            result = await self.tasks().serve(call, request.principal)
            await stream.finish(jsonrpc.result(call.id, self.decorate(result, False)))
            return
        answers = self._answers(request, call) if call.spec.asks else {}
        exchange = _Exchange(stream, capabilities, answers)
        log_level = meta.get(META_LOG_LEVEL)
        ctx = Context(
            request_id=call.id,
            method=call.method,
            protocol_version=STATELESS,
            client_capabilities=capabilities,
            client_info=meta.get(META_CLIENT),
            meta=meta,
            exchange=exchange,
            principal=request.principal,
            deadline=request.deadline,
            platform=request.platform,
            log_level=log_level if isinstance(log_level, str) else None,
        )
        tool = call.tool
        if tool is not None and task_support(tool) != "forbidden" and _may_call(tool, ctx):
            if not declared(capabilities):
                if task_support(tool) == "required":
                    raise not_declared(f"tool {call.target} runs only as a task")
            elif getattr(tool, "defer", "start") == "explicit":
                exchange.may_defer = True
            else:
                await stream.finish(await self._task(request, call, ctx, answers))
                return
        with responder.cancelled_on_disconnect():  # closing the stream cancels the request
            await self._run(request, call, ctx, exchange, stream)

    async def _task(
        self, request: HttpRequest, call: Call, ctx: Context, answers: dict[str, Any]
    ) -> bytes:
        """Answer a `tools/call` with a new task, its tool to run to the end as that task."""
        result = await self.tasks().create(
            call,
            request.principal,
            ctx.meta,
            ctx.client_capabilities,
            client_info=ctx.client_info,
            log_level=ctx.log_level,
            answers=answers,
        )
        result["_meta"] = {META_SERVER: self.registry.server_info}
        return jsonrpc.encode(jsonrpc.result(call.id, result))

    def discover(self) -> dict[str, Any]:
        capabilities = self.registry.capabilities()
        if self.registry.has_tasks:
            capabilities["extensions"] = {EXTENSION: {}}
        result: dict[str, Any] = {
            "supportedVersions": list(SUPPORTED),
            "capabilities": capabilities,
        }
        if self.registry.instructions:
            result["instructions"] = self.registry.instructions
        return result

    def _check(self, request: HttpRequest, call: Call) -> dict[str, Any]:
        """The request's `_meta` once headers and body agree; raises the spec's errors."""
        meta = call.params.get("_meta")
        if (
            not isinstance(meta, dict)
            or not isinstance(meta.get(META_VERSION), str)
            or not isinstance(meta.get(META_CAPABILITIES), dict)
        ):
            raise invalid_params(
                f"_meta must carry {META_VERSION} and {META_CAPABILITIES}", status=400
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
        if version != STATELESS:
            raise unsupported_version(version, SUPPORTED)
        header_method = headers.get("mcp-method")
        if header_method is None:
            raise header_mismatch("the Mcp-Method header is required")
        if header_method.strip(" \t") != call.method:
            raise header_mismatch(
                f"Mcp-Method header {header_method!r} does not match {call.method!r}"
            )
        field = call.spec.target if call.spec.stateless else None
        if field is not None:
            name_header = headers.get("mcp-name")
            if name_header is None:
                raise header_mismatch("the Mcp-Name header is required for " + call.method)
            if decode_header(name_header) != call.params.get(field):
                raise header_mismatch(f"Mcp-Name header does not match params.{field}")
        return meta

    def _check_params_headers(self, request: HttpRequest, call: Call) -> None:
        tool = call.tool
        if tool is None or not tool.headers:
            return
        arguments = call.params.get("arguments")
        arguments = arguments if isinstance(arguments, dict) else {}
        for header, argument in tool.headers.items():
            expected = _header_text(arguments.get(argument))
            sent = request.headers.get(f"mcp-param-{header.lower()}")
            if expected is None:
                continue
            if sent is None:
                raise header_mismatch(f"the Mcp-Param-{header} header is required")
            if decode_header(sent) != expected:
                raise header_mismatch(f"Mcp-Param-{header} header does not match {argument!r}")

    async def _run(
        self,
        request: HttpRequest,
        call: Call,
        ctx: Context,
        exchange: _Exchange,
        stream: ResponseStream,
    ) -> None:
        try:
            result = await self.features.run(call, ctx)
        except InputRequired as needed:
            if not call.spec.asks:  # the spec allows asking on three methods only
                error = internal_error(f"{call.method} cannot ask the client for input")
                await stream.fail(call.id, error)
                return
            state = self.keyring().seal(
                {"q": _fingerprint(request, call), "r": exchange.used},
                self.settings.state_ttl,
            )
            interim = {
                "resultType": "input_required",
                "inputRequests": needed.requests,
                "requestState": state,
            }
            await stream.finish(jsonrpc.result(call.id, interim))
            return
        except Deferred:  # the tool goes on as a task, with the answers it had so far
            await stream.finish(await self._task(request, call, ctx, exchange.answers))
            return
        except MCPError as exc:
            await stream.fail(call.id, exc)
            return
        request.info.tool_error = result.get("isError") is True
        cacheable = call.spec.cacheable and "requestState" not in call.params
        answer = self.features.encode(call, self.decorate(result, cacheable), self._complete)
        await stream.finish(answer)

    def _answers(self, request: HttpRequest, call: Call) -> dict[str, Any]:
        """Answers gathered so far: from the sealed state, then from this retry."""
        answers: dict[str, Any] = {}
        params = call.params
        if "requestState" in params:
            state = self.keyring().open(params["requestState"])
            if state.get("q") != _fingerprint(request, call):
                raise invalid_params("requestState belongs to a different request")
            answers.update(state.get("r") or {})
        if "inputResponses" in params:
            responses = params["inputResponses"]
            if not isinstance(responses, dict):
                raise invalid_params('"inputResponses" must be an object')
            answers.update(responses)
        return answers

    def _complete(self, result: dict[str, Any]) -> dict[str, Any]:
        return self.decorate(result, False)

    def decorate(self, result: dict[str, Any], cacheable: bool) -> dict[str, Any]:
        result["resultType"] = "complete"
        result["_meta"] = {**(result.get("_meta") or {}), META_SERVER: self.registry.server_info}
        if cacheable:
            result.setdefault("ttlMs", self.settings.list_ttl_ms)
            result.setdefault("cacheScope", self.cache_scope)
        return result

    async def _listen(self, call: Call, responder: Responder) -> None:
        """`subscriptions/listen`: an open stream of the change notifications asked for."""
        wanted = call.params.get("notifications") or {}
        if not isinstance(wanted, dict):
            raise invalid_params('"notifications" must be an object')
        capabilities = self.registry.capabilities()
        granted: dict[str, Any] = {}
        allowed: set[str] = set()
        for field, (capability, notification) in LIST_CHANGED.items():
            if wanted.get(field) is True and capability in capabilities:
                granted[field] = True
                allowed.add(notification)
        uris = wanted.get("resourceSubscriptions")
        if isinstance(uris, list) and len(uris) > MAX_SUBSCRIPTIONS:
            raise invalid_params(f"at most {MAX_SUBSCRIPTIONS} resourceSubscriptions per stream")
        store, keys = self.store, self.keys
        logs = {keys.notifications: await store.tail(keys.notifications)}
        if isinstance(uris, list) and "resources" in capabilities:
            uris = [uri for uri in uris if isinstance(uri, str)]
            granted["resourceSubscriptions"] = uris
            allowed.add("notifications/resources/updated")
            for uri in uris:
                key = keys.resource(uri)
                logs[key] = await store.tail(key)
        tag = {META_SUBSCRIPTION: call.id}
        await responder.start_stream(SSE_HEADERS)
        ack = {"_meta": tag, "notifications": granted}
        await responder.write(
            _event(jsonrpc.notification("notifications/subscriptions/acknowledged", ack))
        )
        closing = self.closing
        with responder.cancelled_on_disconnect():
            while not responder.closed and not closing.closing:
                events = await closing.read(logs, timeout=self.settings.sse_keepalive)
                if not events and not closing.closing:
                    await responder.write(KEEPALIVE)
                for event in events:
                    logs[event.log] = event.id
                    note = jsonrpc.decode(event.data)
                    if note.get("method") not in allowed:
                        continue
                    note["params"] = {**(note.get("params") or {}), "_meta": tag}
                    await responder.write(_event(note))
            # The server ends the subscription: say so with a result, then close.
            done = {"resultType": "complete", "_meta": tag}
            await responder.write(_event(jsonrpc.result(call.id, done)))
            await responder.end_stream()


def _may_call(tool: Any, ctx: Context) -> bool:
    """Whether the caller holds the tool's scopes: a task is made only for a call that
    may run (the others get the request path's "unknown tool")."""
    scopes = tool.scopes
    return not scopes or set(scopes) <= set(getattr(ctx.principal, "scopes", None) or ())


def _event(message: dict[str, Any]) -> bytes:
    return sse_event(jsonrpc.encode(message))


def _fingerprint(request: HttpRequest, call: Call) -> str:
    """Binds sealed state to one request: its method, target, arguments and caller."""
    import hashlib  # MRTR only: kept off the cold path of every other request

    params = call.params
    target = {k: params.get(k) for k in ("name", "uri", "arguments")}
    principal = principal_id(request.principal)
    digest = hashlib.sha256(jsonrpc.encode_canonical([call.method, target, str(principal)]))
    return digest.hexdigest()[:32]
