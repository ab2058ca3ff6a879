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

import atexit
import hashlib
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

from cloudmcp.ops.batch import Batch
from cloudmcp.ops.config import OpsConfig
from cloudmcp.ops.observer import Recorder
from cloudmcp.ops.sampling import line_weights, sampled
from cloudmcp.ops.summary import Summary, request_id_from
from cloudmcp.protocol.transport import SESSION_HEADER, HttpRequest

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
    """RFC 3339 timestamps, formatted once per millisecond (many requests share one)."""

    def __init__(self) -> None:
        self._milli = self._second = -1
        self._prefix = self._text = b""

    def stamp(self, now: float) -> bytes:
        milli = int(now * 1000)
        if milli != self._milli:
            self._milli = milli
            second, part = divmod(milli, 1000)
            if second != self._second:
                self._second = second
                self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
            self._text = b"%s.%03dZ" % (self._prefix, part)
        return self._text


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


# A write per line would be a syscall per request: lines leave in batches instead
# (`cloudmcp.ops.batch`: at most 50 ms late), and whatever is left at exit.
_lines: Batch[bytes] = Batch(lambda lines: _write_now(b"".join(lines)))
atexit.register(_lines.flush)


def flush_lines() -> None:
    """Write what is buffered now."""
    _lines.flush()


def write_line(line: bytes) -> None:
    """One line (ending in a newline) to stdout, within 50 ms; platforms ship each line
    as one log entry."""
    _lines.add(line)


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


def parse_xray(value: str | None) -> tuple[str, str | None, bool] | None:
    """(trace id, span id, sampled) from AWS's `X-Amzn-Trace-Id: Root=1-{8 hex}-{24 hex};
    Parent={16 hex};Sampled=1` (API Gateway, ALB, and Lambda's `_X_AMZN_TRACE_ID`)."""
    if not value or "Root=1-" not in value:
        return None
    fields = dict(part.strip().partition("=")[::2] for part in value.split(";"))
    pieces = fields.get("Root", "").split("-")
    if len(pieces) != 3 or len(pieces[1]) != 8 or len(pieces[2]) != 24:
        return None
    parent = fields.get("Parent")
    return (
        pieces[1] + pieces[2],
        parent if parent and len(parent) == 16 else None,
        (fields.get("Sampled") == "1"),
    )


def carried_traceparent(request: HttpRequest) -> str | None:
    """The `traceparent` a request's lines name: its span's when tracing made one, else
    the one its `params._meta` carried (SEP-414), else its header's."""
    info = request.info
    if info.traceparent is not None:
        return info.traceparent
    call = info.call
    if call is not None:
        meta = call.params.get("_meta")
        found = meta.get("traceparent") if isinstance(meta, dict) else None
        if isinstance(found, str):
            return found
    return request.headers.get("traceparent")


def platform_trace(request: HttpRequest, platform: str) -> str | None:
    """The platform's own trace header: X-Ray's on Lambda (the runtime also puts it in
    `_X_AMZN_TRACE_ID` for each invocation), Google's elsewhere."""
    if platform == "lambda":
        found = request.headers.get("x-amzn-trace-id")
        return found or os.environ.get("_X_AMZN_TRACE_ID")
    return request.headers.get("x-cloud-trace-context")


def trace_fields(
    traceparent: str | None, platform_trace: str | None, config: OpsConfig
) -> dict[str, Any]:
    """The trace fields of a log line, in the field each platform's log viewer links on:
    Cloud Logging's `logging.googleapis.com/trace` (with the project) on Cloud Run, the
    X-Ray trace id on Lambda, `trace_id` everywhere."""
    found: tuple[str, str | None, bool] | None = parse_traceparent(traceparent)
    lambda_ = config.platform == "lambda"
    if found is None:
        found = parse_xray(platform_trace) if lambda_ else parse_cloud_trace(platform_trace)
    if found is None:
        return {}
    trace, span, sampled = found
    if lambda_:
        return {"trace_id": trace, "xray_trace_id": f"1-{trace[:8]}-{trace[8:]}"}
    if config.platform != "cloudrun" or config.gcp_project is None:
        return {"trace_id": trace}
    fields: dict[str, Any] = {
        "logging.googleapis.com/trace": f"projects/{config.gcp_project}/traces/{trace}",
        "logging.googleapis.com/trace_sampled": sampled,
    }
    if span is not None:
        fields["logging.googleapis.com/spanId"] = span
    return fields


def current_trace(config: OpsConfig) -> dict[str, Any]:
    """The trace fields of an app or error log line written while a request is traced
    (the current OpenTelemetry context: the request's span, or its caller's)."""
    otel = sys.modules.get("opentelemetry.trace")  # loaded only when tracing is on
    if otel is None:
        return {}
    context = otel.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    return trace_fields(traceparent, None, config)


_LAMBDA = OpsConfig(platform="lambda")


def trace_ids(request: HttpRequest) -> dict[str, Any]:
    """A Lambda request's trace fields (`trace_id`, `xray_trace_id`), for its EMF line."""
    return trace_fields(carried_traceparent(request), platform_trace(request, "lambda"), _LAMBDA)


def _severity(status: int) -> str:
    if status >= 500:
        return "ERROR"
    if status >= 400:
        return "WARNING"
    return "INFO"


def session_tag(session_id: str) -> bytes:
    """A session id is a capability: log a digest that correlates lines, never the id."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16].encode()


class AccessKind(msgspec.Struct, omit_defaults=True):
    """The fields every access line of one kind of request shares; each line adds its
    time, duration, request id, and the headers that vary (user agent, session, trace)."""

    severity: str
    message: str
    http_method: str
    path: str
    status: int
    era: str
    outcome: str
    logger: str
    method: str | None = None
    protocol_version: str | None = None
    tool: str | None = None
    target: str | None = None
    error_code: int | None = None
    rejected: str | None = None
    #: Set when the line stands for 1 / sample_rate requests (`cloudmcp.ops.sampling`).
    sample_rate: float | None = None


def _literal(text: bytes) -> bytes:
    """`text` as part of a %-format template (a URI may hold `%20`)."""
    return text.replace(b"%", b"%%")


#: What a JSON access line adds to its kind's, as the request left it: the kind's line,
#: when the request was answered, its duration, its id if known, the platform's request
#: context, the headers `X-Request-Id`, `User-Agent`, `Mcp-Session-Id`, its
#: `traceparent` (`carried_traceparent`), the platform's trace header, and the JSON-RPC id.
_Pending = tuple[
    bytes, float, float, str | None, Any, str | None, str | None, str | None, str | None,
    str | None, str | int | None,
]  # fmt: skip

#: User agents whose line fragment is kept; a flood of new ones only resets them.
_AGENTS_KEPT = 64


class AccessLog:
    """One line per answered request."""

    def __init__(self, config: OpsConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.json = config.log_format == "json"
        self._clock = clock
        self._agents: dict[str, bytes] = {}
        # Formatting a line is most of its cost, and costs least done for many lines in
        # a row: requests leave what varies (a kind's line, time, duration, id, the rest)
        # and lines are formatted in batches.
        self._pending: Batch[_Pending] = Batch(self._write)

    def _every(self, summary: Summary) -> int:
        """1 to log every request of this kind, N to log one in N, 0 for none:
        `ACCESS_LOG_SAMPLE_RATE` thins successful requests only."""
        rate = self.config.access_log_sample_rate
        if rate >= 1 or summary.outcome != "ok" or summary.status >= 400:
            return 1
        return round(1 / rate) if rate > 0 else 0

    def kind(self, summary: Summary) -> AccessKind:
        what = summary.rpc_method or f"{summary.http_method} {summary.path}"
        target = f" {summary.name}" if summary.name else ""
        tool = summary.rpc_method == "tools/call"
        return AccessKind(
            severity=_severity(summary.status),
            message=f"{what}{target} {summary.status}",
            http_method=summary.http_method,
            path=summary.path,
            status=summary.status,
            era=summary.era,
            outcome=summary.outcome,
            logger="cloudmcp.access",
            method=summary.rpc_method,
            protocol_version=summary.version or None,
            tool=summary.name if tool else None,
            target=None if tool else summary.name,
            error_code=summary.error,
            rejected=summary.cause,
        )

    def recorder(self, summary: Summary) -> Recorder | None:
        if summary.ops_route and summary.status < 400:
            return None  # probes every few seconds would drown the requests that matter
        every, per_second = self._every(summary), self.config.access_log_per_second
        if every == 0:
            return None
        kind = self.kind(summary)
        if every == 1 and not per_second:
            return self._line_recorder(kind)
        # A line recorder for each weight a line can carry: its `sample_rate` is fixed.
        lines = {
            weight: self._line_recorder(
                msgspec.structs.replace(kind, sample_rate=1 / weight) if weight > 1 else kind
            )
            for weight in line_weights(every, per_second)
        }
        return sampled(lines, every, per_second, self._clock)

    def _line_recorder(self, kind: AccessKind) -> Recorder:
        if not self.json:
            message = f"{kind.severity:<7} cloudmcp.access: {kind.message}"
            if kind.sample_rate:
                message += f" (1 in {round(1 / kind.sample_rate)})"
            text = _literal(message.encode()) + b" in %.3f ms\n"

            def record_text(request: HttpRequest, seconds: float) -> None:
                write_line(text % (seconds * 1000))

            return record_text
        # The shared fields encoded once, as an open JSON object; each line adds its time,
        # duration, id, and what varies among requests of a kind.
        fixed = _literal(_encode(kind)[:-1])
        line = fixed + b',"time":"%s","duration_ms":%.3f,"request_id":%s%s}\n'
        now, pending, platform = time.time, self._pending.add, self.config.platform

        def record(request: HttpRequest, seconds: float) -> None:
            # Only what the line needs, read off the request (holding requests until
            # the batch is written costs more); the rest is worked out for the batch.
            get = request.headers.get
            call = request.info.call
            pending(
                (line, now(), seconds, request.id, request.platform, get("x-request-id"),
                 get("user-agent"), get(SESSION_HEADER), carried_traceparent(request),
                 platform_trace(request, platform), None if call is None else call.id)
            )  # fmt: skip

        return record

    def _write(self, pending: list[_Pending]) -> None:
        stamp, agents, config = _clock.stamp, self._agents, self.config
        lines = []
        for (line, at, seconds, known, platform, forwarded, agent, session, traceparent,
             own_trace, rpc_id) in pending:  # fmt: skip
            identity = known or request_id_from(platform, forwarded)
            extra = (agents.get(agent) or self._agent_field(agent)) if agent else b""
            if session:
                extra += b',"session":"%s"' % session_tag(session)
            if rpc_id is not None:
                extra += b',"rpc_id":' + _encode(rpc_id)
            if traceparent or own_trace:
                fields = trace_fields(traceparent, own_trace, config)
                if fields:
                    extra += b"," + _encode(fields)[1:-1]
            lines.append(line % (stamp(at), seconds * 1000, _encode(identity), extra))
        flush_lines()  # what other loggers wrote before keeps its place
        _write_now(b"".join(lines))

    def flush(self) -> None:
        """Format and hand on the lines of the requests recorded so far."""
        self._pending.flush()

    def _agent_field(self, agent: str) -> bytes:
        if len(self._agents) >= _AGENTS_KEPT:
            self._agents.clear()
        field = self._agents[agent] = b',"user_agent":' + _encode(agent[:256])
        return field

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
            "time": _clock.stamp(record.created).decode(),
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
        line.update(current_trace(self.config))
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
