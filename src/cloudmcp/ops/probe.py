"""`cloudmcp probe URL [URL ...]`: a post-deploy smoke test of live MCP endpoints.

For each URL: the health check, `server/discover` (2026-07-28), a legacy session
(`initialize`, `notifications/initialized`, `tools/list`, an optional tool call, and
`DELETE`), each step timed. A table for people, `--json` for CI; exit status 1 when any
step of any URL failed. Standard library only, so it runs inside the production image,
where the dev dependencies are not installed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cloudmcp.errors import ProbeError

STATELESS = "2026-07-28"
LEGACY = "2025-11-25"
CLIENT = {"name": "cloudmcp-probe", "version": "1"}
ACCEPT = "application/json, text/event-stream"


@dataclass
class Step:
    step: str
    ok: bool
    ms: float
    detail: str


@dataclass
class Target:
    url: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "probe",
        help="smoke-test deployed MCP endpoints",
        description="Check live MCP endpoints: health, server/discover, a legacy session, "
        "tools/list and optionally one tool call. Exits 1 if any step fails.",
    )
    parser.add_argument(
        "urls", nargs="+", metavar="URL", help="an MCP endpoint, e.g. https://host/mcp"
    )
    parser.add_argument("--call", metavar="NAME", help="also call this tool")
    parser.add_argument("--args", default="{}", metavar="JSON", help="the tool's arguments")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header with every request (e.g. Authorization); repeatable",
    )
    parser.add_argument(
        "--health-url", help="the health check (default: the URL's origin + /health)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per step (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


# HTTP


def _send(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> Reply:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"not an http(s) URL: {url}")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    except ConnectionRefusedError:
        raise ProbeError(f"cannot connect to {where}: connection refused") from None
    except TimeoutError:
        raise ProbeError(f"no answer from {where} within {timeout:g}s") from None
    except ssl.SSLError as exc:
        raise ProbeError(f"TLS failed with {where}: {exc.reason or exc}") from None
    except OSError as exc:
        raise ProbeError(f"cannot reach {where}: {exc.strerror or exc}") from None
    except http.client.HTTPException as exc:
        raise ProbeError(f"bad HTTP answer from {where}: {type(exc).__name__}") from None
    finally:
        connection.close()
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


def _message(reply: Reply, request_id: int) -> dict[str, Any]:
    """The JSON-RPC response in a JSON body or an SSE stream."""
    kind = reply.headers.get("content-type", "")
    try:
        if kind.startswith("text/event-stream"):
            for block in reply.body.decode().replace("\r\n", "\n").split("\n\n"):
                data = "\n".join(
                    line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")
                )
                if data:
                    message = json.loads(data)
                    if isinstance(message, dict) and message.get("id") == request_id:
                        return message
            raise ProbeError(f"HTTP {reply.status}: the SSE stream held no response")
        message = json.loads(reply.body)
    except (ValueError, UnicodeDecodeError):
        raise ProbeError(f"HTTP {reply.status}: not JSON: {reply.body[:120]!r}") from None
    if not isinstance(message, dict):
        raise ProbeError(f"HTTP {reply.status}: not a JSON-RPC response")
    return message


def _result(reply: Reply, request_id: int) -> dict[str, Any]:
    message = _message(reply, request_id)
    error = message.get("error")
    if isinstance(error, dict):
        raise ProbeError(
            f"HTTP {reply.status}: JSON-RPC error {error.get('code')}: {error.get('message')}"
        )
    if reply.status != 200:
        raise ProbeError(f"HTTP {reply.status}")
    result = message.get("result")
    if not isinstance(result, dict):
        raise ProbeError(f"HTTP {reply.status}: no result")
    return result


# the steps


class Probe:
    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.session: str | None = None
        self.version = LEGACY
        self._ids = 0

    def _rpc(
        self, method: str, params: dict[str, Any], headers: dict[str, str], *, notify: bool = False
    ) -> tuple[Reply, int]:
        self._ids += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notify:
            message["id"] = self._ids
        all_headers = {
            "content-type": "application/json",
            "accept": ACCEPT,
            **headers,
            **self.headers,
        }
        body = json.dumps(message).encode()
        return _send("POST", self.url, all_headers, body, self.timeout), self._ids

    def _session_headers(self) -> dict[str, str]:
        if self.session is None:
            raise ProbeError("no session (initialize failed)")
        return {"mcp-session-id": self.session, "mcp-protocol-version": self.version}

    def health(self, health_url: str) -> str:
        reply = _send("GET", health_url, dict(self.headers), None, self.timeout)
        try:
            report = json.loads(reply.body)
        except ValueError:
            report = {}
        status = report.get("status") if isinstance(report, dict) else None
        if reply.status != 200:
            raise ProbeError(f"HTTP {reply.status}" + (f": {status}" if status else ""))
        server = f" ({report.get('server')} {report.get('version')})" if "server" in report else ""
        return f"{status or 'ok'}{server}"

    def discover(self) -> str:
        meta = {
            "io.modelcontextprotocol/protocolVersion": STATELESS,
            "io.modelcontextprotocol/clientInfo": CLIENT,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        headers = {"mcp-protocol-version": STATELESS, "mcp-method": "server/discover"}
        reply, request_id = self._rpc("server/discover", {"_meta": meta}, headers)
        result = _result(reply, request_id)
        versions = result.get("supportedVersions")
        if not isinstance(versions, list) or STATELESS not in versions:
            raise ProbeError(f"supportedVersions lacks {STATELESS}: {versions}")
        return "versions " + ", ".join(str(v) for v in versions)

    def initialize(self) -> str:
        params = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": CLIENT}
        reply, request_id = self._rpc("initialize", params, {})
        result = _result(reply, request_id)
        self.session = reply.headers.get("mcp-session-id")
        if not self.session:
            raise ProbeError("no Mcp-Session-Id header in the answer")
        self.version = str(result.get("protocolVersion", LEGACY))
        server = result.get("serverInfo") or {}
        return f"{server.get('name')} {server.get('version')}, protocol {self.version}"

    def initialized(self) -> str:
        reply, _ = self._rpc("notifications/initialized", {}, self._session_headers(), notify=True)
        if reply.status != 202:
            raise ProbeError(f"HTTP {reply.status}, expected 202")
        return "202"

    def tools_list(self) -> str:
        reply, request_id = self._rpc("tools/list", {}, self._session_headers())
        tools = _result(reply, request_id).get("tools")
        if not isinstance(tools, list):
            raise ProbeError("no tools array")
        names = [str(t.get("name")) for t in tools if isinstance(t, dict)]
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        return f"{len(names)} tools" + (f": {shown}" if names else "")

    def call(self, name: str, arguments: dict[str, Any]) -> str:
        params = {"name": name, "arguments": arguments}
        reply, request_id = self._rpc("tools/call", params, self._session_headers())
        result = _result(reply, request_id)
        texts = [
            str(c.get("text"))
            for c in result.get("content") or []
            if isinstance(c, dict) and c.get("type") == "text"
        ]
        summary = " ".join(texts).replace("\n", " ")
        summary = summary[:80] + ("..." if len(summary) > 80 else "")
        if result.get("isError") is True:
            raise ProbeError(f"the tool returned isError: {summary}")
        return summary or "ok"

    def close(self) -> str:
        headers = {**self._session_headers(), **self.headers}
        reply = _send("DELETE", self.url, headers, None, self.timeout)
        if reply.status not in (200, 202, 204, 405):
            raise ProbeError(f"HTTP {reply.status}")
        return str(reply.status)


def default_health_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/health"


def probe(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    call: tuple[str, dict[str, Any]] | None = None,
    health_url: str | None = None,
    timeout: float = 10.0,
) -> Target:
    """Run every step against one endpoint; a failed step does not stop the others,
    except that session steps are skipped without a session."""
    target = Target(url)
    runner = Probe(url, headers or {}, timeout)
    steps: list[tuple[str, Any]] = [
        ("health", lambda: runner.health(health_url or default_health_url(url))),
        ("server/discover", runner.discover),
        ("initialize", runner.initialize),
        ("notifications/initialized", runner.initialized),
        ("tools/list", runner.tools_list),
    ]
    if call is not None:
        steps.append((f"tools/call {call[0]}", lambda: runner.call(*call)))
    steps.append(("DELETE session", runner.close))
    for name, action in steps:
        if runner.session is None and name not in ("health", "server/discover", "initialize"):
            target.steps.append(Step(name, False, 0.0, "skipped: no session"))
            continue
        started = time.perf_counter()
        try:
            detail, ok = action(), True
        except ProbeError as exc:
            detail, ok = str(exc), False
        ms = round((time.perf_counter() - started) * 1000, 1)
        target.steps.append(Step(name, ok, ms, detail))
    return target


def _table(targets: list[Target]) -> str:
    lines = []
    for target in targets:
        lines.append(f"{target.url}  {'OK' if target.ok else 'FAILED'}")
        width = max(len(s.step) for s in target.steps)
        for s in target.steps:
            mark = "ok  " if s.ok else "FAIL"
            lines.append(f"  {mark}  {s.step:<{width}}  {s.ms:>8.1f} ms  {s.detail}")
        lines.append("")
    return "\n".join(lines)


def _headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header {value!r}: expected 'Name: value'")
        headers[name.strip().lower()] = content.strip()
    return headers


def run(args: argparse.Namespace) -> int:
    try:
        headers = _headers(args.header)
        try:
            arguments = json.loads(args.args)
        except ValueError as exc:
            raise ValueError(f"--args {args.args!r}: not JSON ({exc})") from None
        if not isinstance(arguments, dict):
            raise ValueError("--args must be a JSON object")
    except ValueError as exc:
        print(f"cloudmcp probe: {exc}", file=sys.stderr)
        return 2
    call = (args.call, arguments) if args.call else None
    targets = [
        probe(url, headers=headers, call=call, health_url=args.health_url, timeout=args.timeout)
        for url in args.urls
    ]
    ok = all(t.ok for t in targets)
    if args.json:
        document = {
            "ok": ok,
            "targets": [
                {"url": t.url, "ok": t.ok, "steps": [asdict(s) for s in t.steps]} for t in targets
            ],
        }
        print(json.dumps(document, indent=2))
    else:
        print(_table(targets))
        if not ok:
            failed = [t.url for t in targets if not t.ok]
            print(f"cloudmcp probe: FAILED: {', '.join(failed)}", file=sys.stderr)
    return 0 if ok else 1
