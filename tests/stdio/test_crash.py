"""A child that dies or hangs mid-call, behind `cloudmcp serve --stdio`: the call gets a
clear error, and the next call succeeds on a fresh child. In both eras."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudmcp_serving import Served
from stdio_serving import EVERYTHING, require, serve_stdio
from wire import ACCEPT, Session, modern

LONG_CALL = {"name": "trigger-long-running-operation", "arguments": {"duration": 20, "steps": 2}}
ECHO = {"name": "echo", "arguments": {"message": "still here"}}


@pytest.fixture(scope="module")
def hang_limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """server-everything with calls limited to 2 s (STDIO_CALL_TIMEOUT)."""
    log = tmp_path_factory.mktemp("stdio-hang") / "server.log"
    yield from serve_stdio([require(EVERYTHING)], log, {"STDIO_CALL_TIMEOUT": "2"})


def children(served: Served) -> list[int]:
    pid = served.process.pid
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _wait_for_children(served: Served, count: int = 1) -> list[int]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = children(served)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"expected {count} children, saw {children(served)}")


class Era:
    """One call in either era, as the SDK-less wire does it."""

    def __init__(self, name: str, http: httpx.Client, url: str) -> None:
        self.name = name
        self.http, self.url = http, url
        self.session = Session(http, url) if name == "legacy" else None

    def call(self, params: dict[str, object], id: int = 1) -> dict[str, object]:
        if self.session is not None:
            answer: dict[str, object] = self.session.call("tools/call", params, id=id)
            return answer
        response = modern(self.http, self.url, "tools/call", params, id=id)
        body: dict[str, object] = response.json()
        return body


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_a_child_killed_mid_call(everything: Served, era: str) -> None:
    with httpx.Client(timeout=30, headers={"accept": ACCEPT}) as http:
        client = Era(era, http, everything.url)
        before = _wait_for_children(everything)
        call = asyncio.ensure_future(asyncio.to_thread(client.call, LONG_CALL, 7))
        await asyncio.sleep(1.0)  # the call is with a child now
        busy = [pid for pid in children(everything)]
        assert busy, "a child serves the call"
        for pid in busy:
            os.kill(pid, signal.SIGKILL)
        failed = await asyncio.wait_for(call, 20)
        assert "error" in failed, failed
        error = failed["error"]
        assert isinstance(error, dict)
        assert error["code"] == -32603
        assert "stdio server exited during tools/call" in str(error["message"])
        assert "fresh one serves the next call" in str(error["message"])
        answer = client.call(ECHO, 8)
        result = answer["result"]
        assert isinstance(result, dict)
        assert result["content"] == [{"type": "text", "text": "Echo: still here"}]
        assert set(children(everything)).isdisjoint(before)
    # server-everything asks for roots 350 ms after it starts, of whichever call it then
    # serves (docs/stdio.md); let the fresh child do that before the next test's call.
    await asyncio.sleep(0.6)


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
def test_a_hung_child_times_out_and_is_replaced(hang_limited: Served, era: str) -> None:
    with httpx.Client(timeout=30, headers={"accept": ACCEPT}) as http:
        client = Era(era, http, hang_limited.url)
        stuck = _wait_for_children(hang_limited)
        for pid in stuck:
            os.kill(pid, signal.SIGSTOP)
        try:
            failed = client.call(ECHO, 3)
        finally:
            for pid in stuck:
                with contextlib.suppress(
                    ProcessLookupError
                ):  # killed by the bridge, as it should be
                    os.kill(pid, signal.SIGCONT)
        error = failed["error"]
        assert isinstance(error, dict)
        assert "did not answer tools/call within 2s" in str(error["message"])
        answer = client.call(ECHO, 4)
        result = answer["result"]
        assert isinstance(result, dict)
        assert result["content"] == [{"type": "text", "text": "Echo: still here"}]
        assert set(stuck) - set(children(hang_limited)), "the hung child was killed"
