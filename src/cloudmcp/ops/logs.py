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
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1000):03d}Z"


_clock = _Clock()


def write_line(line: bytes) -> None:
    """One line to stdout, flushed: platforms ship each line as one log entry."""
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()  # anything written as text first keeps its place
        buffer.write(line)
        buffer.flush()
    else:  # a text-only stream (a test's StringIO)
        stream.write(line.decode())
        stream.flush()


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


def request_id(request: HttpRequest) -> str:
    """The platform's id for this request: Lambda's, a proxy's `X-Request-Id`, or a new one."""
    platform = request.platform
    if platform is not None:
        found = getattr(platform, "aws_request_id", None)
        if found is None and isinstance(platform, Mapping):
            found = platform.get("aws_request_id") or platform.get("requestId")
        if isinstance(found, str) and found:
            return found
    header = request.headers.get("x-request-id")
    if header:
        return header[:128]
    return os.urandom(8).hex()


def _severity(status: int) -> str:
    if status >= 500:
        return "ERROR"
    if status >= 400:
        return "WARNING"
    return "INFO"


def _session_tag(session_id: str) -> str:
    """A session id is a capability: log a digest that correlates lines, never the id."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


class AccessLog:
    """One line per answered request."""

    def __init__(self, config: OpsConfig) -> None:
        self.config = config
        self.json = config.log_format == "json"

    def fields(self, summary: Summary, request: HttpRequest) -> dict[str, Any]:
        ms = round(summary.seconds * 1000, 3)
        what = request.info.method or f"{request.method} {summary.path}"
        target = f" {summary.name}" if summary.name else ""
        line: dict[str, Any] = {
            "time": _clock.stamp(time.time()),
            "severity": _severity(summary.status),
            "message": f"{what}{target} {summary.status} {summary.outcome} {ms}ms",
            "logger": "cloudmcp.access",
            "http_method": request.method,
            "path": summary.path,
            "status": summary.status,
            "duration_ms": ms,
            "method": request.info.method,
            "era": summary.era,
            "protocol_version": summary.version or None,
            "outcome": summary.outcome,
            "request_id": request_id(request),
        }
        if request.info.method == "tools/call":
            line["tool"] = summary.name
        elif summary.name:
            line["target"] = summary.name
        if summary.error is not None:
            line["error_code"] = summary.error
        if summary.cause is not None:
            line["rejected"] = summary.cause
        session = request.headers.get("mcp-session-id")
        if session:
            line["session"] = _session_tag(session)
        agent = request.headers.get("user-agent")
        if agent:
            line["user_agent"] = agent[:256]
        line.update(trace_fields(request.headers, self.config))
        return line

    def record(self, summary: Summary, request: HttpRequest, responder: Responder) -> None:
        if summary.ops_route and summary.status < 400:
            return  # probes every few seconds would drown the requests that matter
        line = self.fields(summary, request)
        if self.json:
            write_line(_encode(line) + b"\n")
        else:
            write_line((f"{line['severity']:<7} cloudmcp.access: {line['message']}\n").encode())

    def cold_start(self, seconds: float) -> None:
        pass


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
