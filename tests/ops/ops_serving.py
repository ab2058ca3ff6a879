"""`cloudmcp serve` subprocesses with the environment each operations test needs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from cloudmcp_serving import ROOT, cloudmcp_command, free_port

SLOW_APP = Path(__file__).with_name("slow_app.py")


@dataclass
class Live:
    base: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[str]:
        # Access lines leave in batches, at most 50 ms late (cloudmcp.ops.batch): let them land.
        time.sleep(0.2)
        return self.log.read_text(errors="replace").splitlines()


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code in (200, 503):
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")


def start(tmp: Path, env: dict[str, str] | None = None, extra: list[str] | None = None) -> Live:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL")}
    environment.update({"LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1", **(env or {})})
    log = tmp / f"serve-{port}.log"
    command = [*cloudmcp_command(), "serve", str(SLOW_APP), "--port", str(port), *(extra or [])]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/health", process, log)
    return Live(base, base + "/mcp", process, log)


def stop(live: Live) -> None:
    if live.process.poll() is None:
        live.process.terminate()
        try:
            live.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            live.process.kill()
            live.process.wait()


def refusal(env: dict[str, str], *args: str) -> str:
    """What `cloudmcp serve ARGS` says on stderr when it refuses to start: exit status 2,
    one message, no traceback."""
    finished = subprocess.run(
        [*cloudmcp_command(), "serve", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2, finished.stderr
    assert "Traceback" not in finished.stderr
    return finished.stderr
