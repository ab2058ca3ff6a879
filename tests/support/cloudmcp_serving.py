"""Run a cloudmcp app with `cloudmcp serve` in a subprocess, for tests that drive real clients.

Test directories put tests/support on sys.path in their conftest.py and import this module.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_FIXTURE = ROOT / "examples" / "conformance" / "server.py"
#: The MCP endpoint path `cloudmcp serve` mounts the app on.
MCP_PATH = os.environ.get("CLOUDMCP_MCP_PATH", "/mcp")
START_TIMEOUT = 30.0


def cloudmcp_command() -> list[str]:
    venv = ROOT / ".venv" / "bin" / "cloudmcp"
    if venv.exists():
        return [str(venv)]
    found = shutil.which("cloudmcp")
    return [found] if found else [sys.executable, "-m", "cloudmcp"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_until_listening(served: Served, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(
                f"cloudmcp serve exited with {served.process.returncode}:\n{served.log_tail()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(
        f"cloudmcp serve did not listen within {START_TIMEOUT}s:\n{served.log_tail()}"
    )


def serve(target: Path, log: Path) -> Iterator[Served]:
    """Run `cloudmcp serve TARGET --host 127.0.0.1 --port P` until the generator is closed.

    Bound to 127.0.0.1, so the server's Host/Origin checks are on, as the suite expects.
    """
    port = free_port()
    command = [*cloudmcp_command(), "serve", str(target), "--host", "127.0.0.1", "--port"]
    yield from run_server([*command, str(port)], port, log, path=MCP_PATH)


def run_server(
    command: list[str],
    port: int,
    log: Path,
    *,
    path: str = "",
    env: dict[str, str] | None = None,
) -> Iterator[Served]:
    """Run any server command that listens on `port`, until the generator is closed."""
    environment = {k: v for k, v in os.environ.items() if k != "PORT"} | (env or {})
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    served = Served(url=f"http://127.0.0.1:{port}{path}", process=process, log=log)
    try:
        _wait_until_listening(served, port)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
