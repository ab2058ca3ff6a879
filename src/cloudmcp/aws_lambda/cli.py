"""`cloudmcp lambda invoke` and `cloudmcp lambda serve`: the Lambda handler, run locally."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmcp.startup import check_settings, option_or_env, refuse

if TYPE_CHECKING:
    from cloudmcp.aws_lambda.direct import LambdaHandler

STATELESS = "2026-07-28"
#: What `invoke` sends with no --body: a 2026-07-28 tools/list.
DEFAULT_BODY = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/list",
    "params": {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": STATELESS,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    },
}
#: The body field each 2026-07-28 method mirrors in its `Mcp-Name` header.
_NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def register(commands: Any) -> None:
    from cloudmcp.aws_lambda.local import EVENT_KINDS

    parser = commands.add_parser(
        "lambda",
        help="run the AWS Lambda handler locally",
        description="Run an MCPApp's AWS Lambda handler locally, with real event shapes.",
    )
    sub = parser.add_subparsers(dest="lambda_command", metavar="COMMAND", required=True)
    target_help = "module:attr or path/to/file.py[:attr] (default: $CLOUDMCP_APP, else the example)"

    invoke = sub.add_parser(
        "invoke",
        help="invoke the handler with one event and print its response",
        description="Invoke the handler once with a generated or saved event; print the "
        "response. Exits 1 when the status is 400 or more.",
    )
    invoke.add_argument(
        "--event",
        default="http-api-v2",
        metavar="KIND|FILE",
        help=f"an event kind ({', '.join(EVENT_KINDS)}) or a JSON event file "
        "(default: http-api-v2)",
    )
    invoke.add_argument("--body", help="the JSON-RPC body (default: a 2026-07-28 tools/list)")
    invoke.add_argument("--method", default="POST", help="HTTP method (default POST)")
    invoke.add_argument("--path", default="/mcp", help="the request path (default /mcp)")
    invoke.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header (repeatable)",
    )
    invoke.add_argument("--target", help=target_help)
    invoke.set_defaults(run=run_invoke)

    serve = sub.add_parser(
        "serve",
        help="serve HTTP locally, each request through the handler as a Lambda event",
        description="Serve HTTP on a local port; each request becomes an event of the "
        "chosen kind and goes through the Lambda handler, one invocation at a time.",
    )
    serve.add_argument("target", nargs="?", help=target_help)
    serve.add_argument(
        "--event",
        default="http-api-v2",
        choices=EVENT_KINDS,
        help="the event kind requests become (default: http-api-v2)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address (default 127.0.0.1)")
    # Read in run_serve, not here: a malformed PORT must not break `--help` or other commands.
    serve.add_argument("--port", type=int, help="the port ($PORT; default 8000)")
    serve.add_argument("--path", default="/mcp", help="the MCP endpoint's path (default /mcp)")
    serve.add_argument(
        "--timeout", type=float, default=30.0, help="the function's timeout in seconds"
    )
    serve.add_argument("--log-level", help="uvicorn's log level ($LOG_LEVEL; default info)")
    serve.set_defaults(run=run_serve)


def _handler(target: str | None, path: str, bind_host: str | None = None) -> LambdaHandler:
    from cloudmcp.aws_lambda import lambda_handler
    from cloudmcp.loader import load_app

    app = load_app(target or os.environ.get("CLOUDMCP_APP") or None)
    # A local server keeps the Host/Origin checks `cloudmcp serve` has where it binds.
    return lambda_handler(app, path, bind_host=bind_host)


def _headers(options: list[str]) -> list[tuple[str, str]]:
    headers = []
    for option in options:
        name, colon, value = option.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"--header {option!r}: expected 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def mcp_headers(body: Any) -> list[tuple[str, str]]:
    """The headers an MCP client sends with `body`: content type, accept, and for a
    2026-07-28 request the version, method and name headers mirroring the body."""
    headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ]
    if not isinstance(body, dict):
        return headers
    params = body.get("params") or {}
    meta = params.get("_meta") if isinstance(params, dict) else None
    if isinstance(meta, dict) and "io.modelcontextprotocol/protocolVersion" in meta:
        method = str(body.get("method", ""))
        headers.append(
            ("mcp-protocol-version", str(meta["io.modelcontextprotocol/protocolVersion"]))
        )
        headers.append(("mcp-method", method))
        field = _NAMED.get(method)
        if field is not None and isinstance(params.get(field), str):
            headers.append(("mcp-name", params[field]))
    return headers


def _merge(defaults: list[tuple[str, str]], given: list[tuple[str, str]]) -> list[tuple[str, str]]:
    names = {name.lower() for name, _ in given}
    return [pair for pair in defaults if pair[0].lower() not in names] + given


def _set_body_and_headers(
    event: dict[str, Any], body: bytes, headers: list[tuple[str, str]]
) -> None:
    """Put a new body and headers into a saved event, in the event's own form."""
    import base64

    if event.get("isBase64Encoded"):
        event["body"] = base64.b64encode(body).decode("ascii")
    else:
        event["body"] = body.decode("utf-8")
    for name, value in headers:
        if isinstance(event.get("multiValueHeaders"), dict):
            event["multiValueHeaders"][name] = [value]
        if isinstance(event.get("headers"), dict) or "multiValueHeaders" not in event:
            event.setdefault("headers", {})[name] = value


def run_invoke(args: argparse.Namespace) -> int:
    from cloudmcp.aws_lambda.local import EVENT_KINDS, LocalContext, make_event
    from cloudmcp.errors import AppNotFound

    try:
        check_settings()
        given = _headers(args.header)
        body: Any = _json_option("--body", args.body) if args.body is not None else DEFAULT_BODY
        data = json.dumps(body, separators=(",", ":")).encode()
        if args.event in EVENT_KINDS:
            headers = _merge(mcp_headers(body), given)
            event = make_event(args.event, args.method.upper(), args.path, headers, data)
        else:
            event = json.loads(Path(args.event).read_text())
            if args.body is not None:
                _set_body_and_headers(event, data, _merge(mcp_headers(body), given))
            elif given:
                _set_body_and_headers(event, _saved_body(event), given)
        handler = _handler(args.target, "/mcp")
    except (ValueError, OSError, AppNotFound) as exc:
        print(f"cloudmcp lambda invoke: {exc}", file=sys.stderr)
        return 2
    response = handler(event, LocalContext())
    print(json.dumps(response, indent=2))
    return 0 if int(response.get("statusCode", 500)) < 400 else 1


def _json_option(option: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{option} {text!r}: not JSON ({exc})") from None


def _saved_body(event: dict[str, Any]) -> bytes:
    import base64

    raw = event.get("body") or ""
    return base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()


def run_serve(args: argparse.Namespace) -> int:
    from cloudmcp.aws_lambda.devserver import serve
    from cloudmcp.errors import AppNotFound

    def make_handler() -> LambdaHandler:
        return _handler(args.target, args.path, bind_host=args.host)

    try:
        check_settings()
        args.port = option_or_env(args.port, "PORT", os.environ, 8000, int, 0, 65535)
        args.log_level = (args.log_level or os.environ.get("LOG_LEVEL") or "info").lower()
    except ValueError as exc:
        return refuse("cloudmcp lambda serve", exc)
    try:
        serve(
            make_handler,
            args.event,
            host=args.host,
            port=args.port,
            timeout=args.timeout,
            log_level=args.log_level,
        )
    except AppNotFound as exc:
        print(f"cloudmcp lambda serve: {exc}", file=sys.stderr)
        return 2
    return 0
