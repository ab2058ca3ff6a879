"""The servers under test: how each is started, on which wires it is measured.

Every server runs as one process, pinned to core 0 with `taskset`, on loopback, under
uvicorn with uvloop and httptools and no access log; the load generator runs on core 1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import venvs

SERVER_CORE = "0"
LOAD_CORE = "1"
UVICORN_FLAGS = (
    "--host", "127.0.0.1", "--no-access-log", "--loop", "uvloop", "--http", "httptools",
    "--log-level", "warning",
)  # fmt: skip
REDIS_URL = "redis://127.0.0.1:6379/15"


@dataclass(frozen=True)
class Contender:
    name: str
    label: str
    venv: str
    wires: tuple[str, ...]
    target: str = ""  # uvicorn "module:attr" in bench/apps; empty for cloudmcp
    factory: bool = False
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/mcp"

    def command(self, port: int) -> list[str]:
        if self.venv == "cloudmcp":
            cli = str(venvs.VENVS / "cloudmcp" / "bin" / "cloudmcp")
            app = str(venvs.BENCH / "apps" / "cloudmcp_app.py") + ":app"
            port_flags = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            return [cli, "serve", app, *port_flags]
        factory = ["--factory"] if self.factory else []
        app_dir = ["--app-dir", str(venvs.BENCH / "apps")]
        return [
            str(venvs.python(self.venv)), "-m", "uvicorn", *app_dir, *factory, self.target,
            "--port", str(port), *UVICORN_FLAGS,
        ]  # fmt: skip


# Like the peers (uvicorn --no-access-log, no metrics): cloudmcp's per-request access log
# and metrics off. bench/ops_overhead.py measures what turning them on costs.
LIKE_PEERS = {"ACCESS_LOG": "off", "METRICS": "off"}

CONTENDERS = (
    Contender("floor", "floor (bare ASGI)", "floor", ("2026", "legacy"), "floor_app:app"),
    Contender("cloudmcp", "cloudmcp", "cloudmcp", ("2026", "session"), env=LIKE_PEERS),
    Contender(
        "cloudmcp-redis",
        "cloudmcp + Redis",
        "cloudmcp",
        ("session",),
        env={**LIKE_PEERS, "REDIS_URL": REDIS_URL},
    ),
    Contender(
        "sdk-json", "SDK stateless JSON", "sdk", ("2026", "legacy"), "sdk_app:json_app", True
    ),
    Contender("sdk-stateful", "SDK stateful", "sdk", ("session",), "sdk_app:stateful_app", True),
    Contender("fastmcp-json", "FastMCP stateless JSON", "fastmcp", ("2026", "legacy"),
              "fastmcp_app:json_app"),
)  # fmt: skip

BY_NAME = {c.name: c for c in CONTENDERS}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerFailed(Exception):
    """A server did not start or did not answer."""


class Server:
    """One running contender process."""

    def __init__(self, contender: Contender, logs: Path) -> None:
        self.contender = contender
        self.port = free_port()
        self.log = logs / f"{contender.name}.log"
        env = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}
        env |= {"PYTHONDONTWRITEBYTECODE": "1", **contender.env}
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", SERVER_CORE, *contender.command(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=venvs.ROOT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"exited with {self.process.returncode}: {self.last_words()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise ServerFailed(f"not listening after {timeout:.0f} s: {self.last_words()}")

    def last_words(self) -> str:
        lines = [x.strip() for x in self.log.read_text(errors="replace").splitlines() if x.strip()]
        return " / ".join(lines[-2:])[:300] if lines else "(no output)"

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
