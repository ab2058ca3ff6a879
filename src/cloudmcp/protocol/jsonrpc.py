"""JSON-RPC 2.0 messages on the wire: one codec, and the shapes MCP sends."""

from __future__ import annotations

from typing import Any

import msgspec

from cloudmcp.errors import MCPError
from cloudmcp.protocol.errors import invalid_request, parse_error

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_canonical = msgspec.json.Encoder(order="sorted")

RequestId = str | int


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def encode_canonical(value: Any) -> bytes:
    """One encoding per value, whatever the key order: for digests and cache keys."""
    return _canonical.encode(value)


def decode(body: bytes) -> Any:
    """The parsed body; raises a -32700 `MCPError` for anything that is not JSON."""
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise parse_error(str(exc)) from None


def result(request_id: RequestId, value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


def error(request_id: RequestId | None, exc: MCPError) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "error": exc.to_error()}
    if request_id is not None:
        message["id"] = request_id
    return message


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def request(request_id: RequestId, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def check_message(message: Any) -> None:
    """Raise -32600 unless `message` is a JSON-RPC 2.0 request, notification or response."""
    if not isinstance(message, dict):
        raise invalid_request("a JSON-RPC message must be an object")
    if message.get("jsonrpc") != "2.0":
        raise invalid_request('"jsonrpc" must be "2.0"')
    if "method" in message:
        if not isinstance(message["method"], str):
            raise invalid_request('"method" must be a string')
        if "id" in message and not is_request_id(message["id"]):
            raise invalid_request('"id" must be a string or an integer')
        params = message.get("params")
        if params is not None and not isinstance(params, dict):
            raise invalid_request('"params" must be an object')
    elif "result" in message or "error" in message:
        if not is_request_id(message.get("id")):
            raise invalid_request('a response needs a string or integer "id"')
    else:
        raise invalid_request('a request needs a "method"')


def is_request_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
