"""Slow clients cannot lock a server out: with thousands of connections trickling their
headers or bodies, normal requests are served, and the slow ones are closed at their
deadlines however steadily they trickle.

The server starts with a soft limit of 512 open files under a hard limit of 4096, as many
systems set them (1024 under 1048576): the slow connections outnumber the soft limit, which
`cloudmcp serve` raises to the hard one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudmcp_serving import cloudmcp_command, free_port
from wire import meta, modern_headers

ROOT = Path(__file__).resolve().parents[2]
SOFT, HARD = 512, 4096
SLOW = 2000
TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta()}}


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL")}
    command = [*cloudmcp_command(), "serve", "--port", str(port)]
    command += ["--header-timeout", "2", "--body-timeout", "3", "--log-level", "warning"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
            preexec_fn=_limit_files,  # a limit for the child only
        )  # fmt: skip
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        yield port, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _slow(port: int, index: int, stop: asyncio.Event) -> bool:
    """One slow client, trickling a byte of headers (even `index`) or of body (odd) every
    half second until the server closes the connection (True) or `stop` is set (False)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    head = f"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
    if index % 2:
        head += "content-type: application/json\r\ncontent-length: 100000\r\n\r\n{"
    try:
        writer.write(head.encode())
        while not stop.is_set():
            writer.write(b"x-slow: 1\r\n" if index % 2 == 0 else b" ")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(reader.read(65536), 0.5) == b"":
                    return True
        return False
    except (ConnectionError, OSError):
        return True
    finally:
        writer.close()


async def test_slow_clients_do_not_lock_out_normal_requests(server: tuple[int, Path]) -> None:
    port, log = server
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < SLOW + 200:  # this process holds the client ends
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, SLOW + 1000), hard))
    stop = asyncio.Event()
    slow = [asyncio.create_task(_slow(port, i, stop)) for i in range(SLOW)]
    try:
        await asyncio.sleep(1)  # every slow client is connected or waiting to be accepted
        served = 0
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(5):
                try:
                    answer = await client.post(
                        f"http://127.0.0.1:{port}/mcp",
                        json=TOOLS_LIST,
                        headers={**modern_headers("tools/list"), "connection": "close"},
                    )
                except httpx.HTTPError as exc:
                    raise AssertionError(f"{exc!r}\n{log.read_text()[-3000:]}") from exc
                served += answer.status_code == 200
                await asyncio.sleep(0.2)
        assert served == 5, log.read_text()[-3000:]
        # Past both deadlines (2 and 3 s) the server has closed every one, trickling or not.
        done, _ = await asyncio.wait(slow, timeout=20)
    finally:
        stop.set()
        closed = await asyncio.gather(*slow)
    assert len(done) == SLOW and all(closed), f"{sum(closed)} of {SLOW} closed by the server"


def test_oversized_headers_are_refused_and_memory_stays_bounded(server: tuple[int, Path]) -> None:
    """uvicorn would keep every header line: 32 MB of them in one request get a 431 after
    the first 64 KiB or so, not 32 MB of memory."""
    port, _ = server
    line = b"x-big: " + b"a" * 8000 + b"\r\n"
    sent = 0
    received = b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        try:
            while sent < 32 * 1024 * 1024:
                sock.sendall(line)
                sent += len(line)
        except OSError:
            pass  # closed by the server, as it should be
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                received += chunk
    assert received.startswith(b"HTTP/1.1 431 "), (sent, received[:200])
    assert sent < 32 * 1024 * 1024  # the server stopped reading long before the end
    ok = httpx.get(f"http://127.0.0.1:{port}/health")
    assert ok.status_code == 200
