"""The observer: each kind of request described once, a failing sink contained."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from cloudmcp import MCPApp
from cloudmcp.ops.observer import OpsObserver, Recorder
from cloudmcp.ops.summary import Summary
from cloudmcp.protocol.transport import HttpRequest, RequestInfo


class Answer:
    closed = False

    def __init__(self, status: int) -> None:
        self.status = status


class Tally:
    """A sink that keeps what it was asked to record; it fails on `resources/read`."""

    def __init__(self) -> None:
        self.described: list[Summary] = []
        self.recorded: list[tuple[str, str | None]] = []

    def recorder(self, summary: Summary) -> Recorder | None:
        self.described.append(summary)

        def record(request: HttpRequest, seconds: float) -> None:
            if summary.method == "resources/read":
                raise RuntimeError("a bookkeeping bug")
            self.recorded.append((summary.method, request.headers["user-agent"]))

        return record

    def cold_start(self, seconds: float) -> None:
        pass


def observer_for(app: MCPApp, sinks: list[Any]) -> OpsObserver:
    service = app.compose()
    return OpsObserver(app, service.engine, service.server.hosts, sinks, [])


def request(method: str, name: str, agent: str) -> HttpRequest:
    info = RequestInfo(method=method, name=name, version="2026-07-28")
    return HttpRequest("POST", {"user-agent": agent}, b"", path="/mcp", info=info)


def test_each_kind_is_described_once_and_a_failing_sink_is_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = MCPApp("observed")
    sink = Tally()
    observer = observer_for(app, [sink])

    with caplog.at_level(logging.ERROR, logger="cloudmcp.ops"):
        for number in range(5):
            observer.observe(request("tools/call", "echo", f"agent-{number}"), Answer(200), 0.001)
            observer.observe(request("resources/read", "file:///x", "r"), Answer(200), 0.001)
        observer.observe(request("tools/list", "", "last"), Answer(200), 0.001)
    assert [s.method for s in sink.described] == ["tools/call", "resources/read", "tools/list"]
    # Every other request recorded, with what varies per request kept.
    assert sink.recorded == [("tools/call", f"agent-{n}") for n in range(5)] + [
        ("tools/list", "last")
    ]
    failures = [r for r in caplog.records if "recording a request" in r.getMessage()]
    assert len(failures) == 1  # logged once, not once per request


def test_sampled_lines_carry_the_rate_actually_kept(capsys: pytest.CaptureFixture[str]) -> None:
    """0.6 keeps one request in two (one in round(1/0.6)): the lines say 0.5, not 0.6."""
    from cloudmcp.ops.config import OpsConfig
    from cloudmcp.ops.logs import AccessLog

    sink = AccessLog(OpsConfig(log_format="json", access_log_sample_rate=0.6))
    observer = observer_for(MCPApp("sampled"), [sink])
    for number in range(6):
        observer.observe(request("tools/list", "", f"agent-{number}"), Answer(200), 0.001)
    sink.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["user_agent"] for line in lines] == ["agent-0", "agent-2", "agent-4"]
    assert {line["sample_rate"] for line in lines} == {0.5}


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def weights_of(every: int, per_second: int, clock: Clock) -> tuple[list[int], Recorder]:
    """A sampled recorder whose lines note how many requests each stood for."""
    from cloudmcp.ops.sampling import line_weights, sampled

    kept: list[int] = []
    lines = {w: (lambda r, s, w=w: kept.append(w)) for w in line_weights(every, per_second)}
    return kept, sampled(lines, every, per_second, clock)


def run(record: Recorder, requests: int) -> None:
    for _ in range(requests):
        record(request("tools/list", "", "agent"), 0.001)


def test_a_budget_a_second_logs_the_first_lines_then_one_for_each_budget_of_requests() -> None:
    clock = Clock()
    kept, record = weights_of(1, 3, clock)
    run(record, 11)  # lines for requests 1, 2, 3, then 6 and 9, each standing for three
    assert kept == [1, 1, 1, 3, 3]
    clock.now += 0.999  # the same second
    run(record, 1)
    assert kept[5:] == [3]
    clock.now += 0.001  # a new second: the budget again
    run(record, 4)
    assert kept[6:] == [1, 1, 1]


def test_a_share_and_a_budget_compose() -> None:
    """One in two pass the share; of those, the first two a second, then one in two."""
    kept, record = weights_of(2, 2, Clock())
    run(record, 12)  # requests 1 and 3 pass both; of 5, 7, 9 and 11, every other one
    assert kept == [2, 2, 4, 4]


def test_lines_past_the_budget_say_how_many_requests_they_stand_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cloudmcp.ops.config import OpsConfig
    from cloudmcp.ops.logs import AccessLog

    clock = Clock()
    sink = AccessLog(OpsConfig(log_format="json", access_log_per_second=2), clock)
    observer = observer_for(MCPApp("budget"), [sink])
    for number in range(7):
        observer.observe(request("tools/list", "", f"agent-{number}"), Answer(200), 0.001)
    clock.now += 1
    observer.observe(request("tools/list", "", "next-second"), Answer(200), 0.001)
    for number in range(3):  # another kind has a budget of its own
        observer.observe(request("tools/list", "", f"failed-{number}"), Answer(500), 0.001)
    sink.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["user_agent"], line.get("sample_rate")) for line in lines] == [
        ("agent-0", None),
        ("agent-1", None),
        ("agent-3", 0.5),
        ("agent-5", 0.5),
        ("next-second", None),
        ("failed-0", None),
        ("failed-1", None),
    ]


def test_a_text_line_past_the_budget_says_how_many_requests_it_stands_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cloudmcp.ops.config import OpsConfig
    from cloudmcp.ops.logs import AccessLog

    sink = AccessLog(OpsConfig(log_format="text", access_log_per_second=2), Clock())
    observer = observer_for(MCPApp("budget"), [sink])
    for _ in range(5):
        observer.observe(request("tools/call", "echo", "agent"), Answer(200), 0.001)
    sink.flush()
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(" in ", 1)[0] for line in lines] == [
        "INFO    cloudmcp.access: tools/call echo 200",
        "INFO    cloudmcp.access: tools/call echo 200",
        "INFO    cloudmcp.access: tools/call echo 200 (1 in 2)",
    ]
