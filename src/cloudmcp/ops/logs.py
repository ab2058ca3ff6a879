"""Structured logs: one JSON line per request, and JSON for the `cloudmcp` loggers.

Cloud Run's agent reads `severity` and `logging.googleapis.com/trace`; CloudWatch keeps
the line as is, so Logs Insights can query every field. Lines are written straight to
stdout with one flush each: the logging module would cost more per request than the
engine spends on a small call, and a buffered line could sit unseen until shutdown.

Nothing here logs headers, arguments or results, so a token, an API key or an
argument marked secret cannot reach a log line through the access log; app log
records get known secret-looking fields and bearer tokens redacted.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from cloudmcp.ops.config import OpsConfig
from cloudmcp.ops.summary import Summary
from cloudmcp.protocol.transport import HttpRequest, Responder

_encode = msgspec.json.Encoder().encode
# App log records may carry any object as an extra: write what JSON cannot hold as repr().
_encode_any = msgspec.json.Encoder(enc_hook=repr).encode

#: Extra record fields whose values are never written.
SECRET_FIELD = re.compile(
    r"authorization|token|secret|password|passwd|api[_-]?key|cookie|credential", re.I
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
REDACTED = "[redacted]"

# LogRecord attributes that are not extras passed with `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}


class _Clock:
    """RFC 3339 timestamps; the seconds part is formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def stamp(self, now: float) -> str:
        second, milli = divmod(int(now * 1000), 1000)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{milli:03d}Z"


_clock = _Clock()


def _write_now(data: bytes) -> None:
    stream = sys.stdout
    if stream is sys.__stdout__ and stream is not None:
        # Straight to the file descriptor: no text layer, no second buffer, one syscall.
        stream.flush()  # anything printed before keeps its place
        view = memoryview(data)
        while view:
            view = view[os.write(stream.fileno(), view) :]
    else:  # replaced by a test's capture or an embedding app
        stream.write(data.decode())
        stream.flush()


#: Lines wait at most this long, or until this many are pending, before one write.
FLUSH_AFTER = 0.01
FLUSH_LINES = 64


class _LineBatcher:
    """Lines leave in one write per batch: after FLUSH_AFTER seconds, or FLUSH_LINES lines.

    A write per line would be a syscall per request, and so would a flush per event
    loop turn under load (a turn answers only a few requests). A buffer flushed on a
    timer delays a line by 10 ms at most, and shutdown flushes what is left.
    """

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def write(self, line: bytes) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a thread with no loop (a tool run in a worker thread)
            _write_now(line)
            return
        self._pending.append(line)
        if len(self._pending) >= FLUSH_LINES:
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_later(FLUSH_AFTER, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            _write_now(data)


_batcher = _LineBatcher()
atexit.register(_batcher.flush)


def flush_lines() -> None:
    """Write what is buffered now."""
    _batcher.flush()


def write_line(line: bytes) -> None:
    """One line (ending in a newline) to stdout, before this turn of the event loop ends;
    platforms ship each line as one log entry."""
    _batcher.write(line)


# trace context


def parse_traceparent(value: str | None) -> tuple[str, str, bool] | None:
    """(trace id, span id, sampled) from a W3C `traceparent`."""
    if not value:
        return None
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        sampled = bool(int(parts[3][:2], 16) & 1)
    except ValueError:
        return None
    if parts[1] == "0" * 32:
        return None
    return parts[1], parts[2], sampled


def parse_cloud_trace(value: str | None) -> tuple[str, str | None, bool] | None:
    """(trace id, span id as hex, sampled) from Google's `X-Cloud-Trace-Context:
    TRACE/SPAN;o=1` (its span id is decimal)."""
    if not value:
        return None
    trace, _, rest = value.partition("/")
    span_text, _, options = rest.partition(";")
    if len(trace) != 32:
        return None
    span = None
    if span_text.isdigit():
        span = f"{int(span_text) & 0xFFFFFFFFFFFFFFFF:016x}"
    return trace, span, options.strip() == "o=1"


def trace_fields(headers: Mapping[str, str], config: OpsConfig) -> dict[str, Any]:
    found: tuple[str, str | None, bool] | None = parse_traceparent(headers.get("traceparent"))
    if found is None:
        found = parse_cloud_trace(headers.get("x-cloud-trace-context"))
    if found is None:
        return {}
    trace, span, sampled = found
    if config.platform != "cloudrun" or config.gcp_project is None:
        return {"trace_id": trace}
    fields: dict[str, Any] = {
        "logging.googleapis.com/trace": f"projects/{config.gcp_project}/traces/{trace}",
        "logging.googleapis.com/trace_sampled": sampled,
    }
    if span is not None:
        fields["logging.googleapis.com/spanId"] = span
    return fields


def _severity(status: int) -> str:
    if status >= 500:
        return "ERROR"
    if status >= 400:
        return "WARNING"
    return "INFO"


def _session_tag(session_id: str) -> str:
    """A session id is a capability: log a digest that correlates lines, never the id."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


class AccessLine(msgspec.Struct, omit_defaults=True):
    """One request's log line. A struct, not a dict: it encodes in half the time."""

    time: str
    severity: str
    message: str
    http_method: str
    path: str
    status: int
    duration_ms: float
    era: str
    outcome: str
    request_id: str
    logger: str
    method: str | None = None
    protocol_version: str | None = None
    tool: str | None = None
    target: str | None = None
    error_code: int | None = None
    rejected: str | None = None
    session: str | None = None
    user_agent: str | None = None
    trace_id: str | None = None
    gcp_trace: str | None = msgspec.field(default=None, name="logging.googleapis.com/trace")
    gcp_span: str | None = msgspec.field(default=None, name="logging.googleapis.com/spanId")
    gcp_sampled: bool | None = msgspec.field(
        default=None, name="logging.googleapis.com/trace_sampled"
    )


#: Kinds of request whose fixed line part is kept; a flood of new kinds only resets it.
_KINDS_KEPT = 512


class AccessLog:
    """One line per answered request."""

    def __init__(self, config: OpsConfig) -> None:
        self.config = config
        self.json = config.log_format == "json"
        self._fixed: dict[tuple[object, ...], bytes] = {}

    def line(self, summary: Summary, request: HttpRequest) -> AccessLine:
        ms = round(summary.seconds * 1000, 3)
        info = request.info
        what = info.method or f"{request.method} {summary.path}"
        target = f" {summary.name}" if summary.name else ""
        headers = request.headers
        line = AccessLine(
            time=_clock.stamp(time.time()),
            severity=_severity(summary.status),
            message=f"{what}{target} {summary.status}",
            http_method=request.method,
            path=summary.path,
            status=summary.status,
            duration_ms=ms,
            era=summary.era,
            outcome=summary.outcome,
            request_id=summary.request_id,
            logger="cloudmcp.access",
            method=info.method,
            protocol_version=summary.version or None,
            error_code=summary.error,
            rejected=summary.cause,
        )
        if info.method == "tools/call":
            line.tool = summary.name
        elif summary.name:
            line.target = summary.name
        session = headers.get("mcp-session-id")
        if session:
            line.session = _session_tag(session)
        agent = headers.get("user-agent")
        if agent:
            line.user_agent = agent[:256]
        if "traceparent" in headers or "x-cloud-trace-context" in headers:
            for name, value in trace_fields(headers, self.config).items():
                setattr(line, _TRACE_ATTRIBUTES[name], value)
        return line

    def fields(self, summary: Summary, request: HttpRequest) -> dict[str, Any]:
        """The line as a dict, by the names it is written with."""
        decoded: dict[str, Any] = msgspec.json.decode(_encode(self.line(summary, request)))
        return decoded

    def record(self, summary: Summary, request: HttpRequest, responder: Responder) -> None:
        if summary.ops_route and summary.status < 400:
            return  # probes every few seconds would drown the requests that matter
        if not self.json:
            line = self.line(summary, request)
            write_line(f"{line.severity:<7} cloudmcp.access: {line.message}\n".encode())
            return
        # Lines of one kind of request differ only in time, duration, id, session and
        # trace: encode the rest once per kind, and per request only what changes.
        headers = request.headers
        kind = (summary.method, summary.name, summary.status, summary.outcome, summary.era,
                summary.version, summary.path, request.method, summary.error, summary.cause,
                headers.get("user-agent"))  # fmt: skip
        fixed = self._fixed.get(kind)
        if fixed is None:
            if len(self._fixed) >= _KINDS_KEPT:
                self._fixed.clear()
            fixed = self._fixed[kind] = self._fixed_part(summary, request)
        parts = [
            fixed,
            b',"time":"',
            _clock.stamp(time.time()).encode(),
            b'","duration_ms":',
            str(round(summary.seconds * 1000, 3)).encode(),
            b',"request_id":',
            _encode(summary.request_id),
        ]
        session = headers.get("mcp-session-id")
        if session:
            parts += (b',"session":"', _session_tag(session).encode(), b'"')
        if "traceparent" in headers or "x-cloud-trace-context" in headers:
            parts += (b",", _encode(trace_fields(headers, self.config))[1:-1])
        parts.append(b"}\n")
        write_line(b"".join(parts))

    def _fixed_part(self, summary: Summary, request: HttpRequest) -> bytes:
        """The line's fields that every request of its kind shares, as an open JSON object."""
        line = self.line(summary, request)
        line.time = line.request_id = ""
        line.session = None
        line.trace_id = line.gcp_trace = line.gcp_span = None
        line.gcp_sampled = None
        fields = msgspec.json.decode(_encode(line))
        for dynamic in ("time", "duration_ms", "request_id"):
            del fields[dynamic]
        return _encode(fields)[:-1]

    def cold_start(self, seconds: float) -> None:
        pass


_TRACE_ATTRIBUTES = {
    "trace_id": "trace_id",
    "logging.googleapis.com/trace": "gcp_trace",
    "logging.googleapis.com/spanId": "gcp_span",
    "logging.googleapis.com/trace_sampled": "gcp_sampled",
}


# the `cloudmcp` loggers


def redact(text: str) -> str:
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object, in Cloud Logging's field names."""

    def __init__(self, config: OpsConfig) -> None:
        super().__init__()
        self.config = config

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _clock.stamp(record.created),
            "severity": "WARNING" if record.levelname == "WARN" else record.levelname,
            "message": redact(record.getMessage()),
            "logger": record.name,
        }
        for key, value in record.__dict__.items():
            if key in _RECORD_FIELDS or key.startswith("_"):
                continue
            line[key] = REDACTED if SECRET_FIELD.search(key) else value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        if self.config.platform == "cloudrun" and record.levelno >= logging.ERROR:
            # Error Reporting picks up entries that carry a stack trace and this type.
            line["@type"] = (
                "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent"
            )
        return _encode_any(line).decode()


class StdoutHandler(logging.Handler):
    """Writes each formatted record as one flushed stdout line."""

    _cloudmcp = True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line(self.format(record).encode() + b"\n")
        except Exception:
            self.handleError(record)


TEXT_FORMAT = "%(levelname)-7s %(name)s: %(message)s"
#: Loggers whose records we format: ours, and the server we run under.
LOGGERS = ("cloudmcp", "uvicorn", "uvicorn.error")


def configure_logging(config: OpsConfig) -> None:
    """Point the `cloudmcp` and uvicorn loggers at stdout, as JSON or text; also the root
    logger, so a tool's own `logging.getLogger(__name__)` matches, unless the app
    configured logging itself. Calling it again replaces what it set up before."""
    formatter: logging.Formatter = (
        JsonFormatter(config) if config.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    level = logging.getLevelName(config.log_level)
    if not isinstance(level, int):
        level = logging.INFO
    targets = [logging.getLogger(name) for name in LOGGERS]
    root = logging.getLogger()
    if not root.handlers or all(getattr(h, "_cloudmcp", False) for h in root.handlers):
        targets.append(root)
    for logger in targets:
        for old in [h for h in logger.handlers if getattr(h, "_cloudmcp", False)]:
            logger.removeHandler(old)
        if logger.name == "uvicorn.error":
            logger.propagate = True  # to "uvicorn", which has the handler
            continue
        handler = StdoutHandler()
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(level)
        if logger is not root:
            logger.propagate = False
