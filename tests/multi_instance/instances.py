"""Several `cloudmcp serve` processes sharing one Redis, and nginx in front of them."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from cloudmcp_serving import ROOT, cloudmcp_command, free_port
from redis_support import REDIS_URL, RedisTarget

STATE_APP = Path(__file__).resolve().parent / "state_app.py"
CONFORMANCE_APP = ROOT / "examples" / "conformance" / "server.py"
START_TIMEOUT = 30.0


def state_key(kid: str) -> str:
    """A `STATE_KEYS` entry: `id:base64` of 32 random bytes."""
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


@dataclass
class Instance:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(
    name: str,
    target: Path,
    log_dir: Path,
    env: Mapping[str, str],
    port: int | None = None,
    *,
    probe: str = "/ready",
) -> Instance:
    """`cloudmcp serve TARGET` on 127.0.0.1 with REDIS_URL and `env`, once `probe` says 200."""
    port = port or free_port()
    environment = {k: v for k, v in os.environ.items() if k != "PORT"}
    environment.update({"REDIS_URL": REDIS_URL, "INSTANCE_ID": name, **env})
    log = log_dir / f"{name}.log"
    command = [*cloudmcp_command(), "serve", str(target), "--host", "127.0.0.1"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    instance = Instance(name, port, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{instance.log_tail()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=3).status_code == 200:
                return instance
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    instance.stop()
    raise RuntimeError(f"{name} was not ready within {START_TIMEOUT}s:\n{instance.log_tail()}")


def start_many(
    count: int,
    target: Path,
    log_dir: Path,
    env: Mapping[str, str],
    redis: RedisTarget | None = None,
) -> list[Instance]:
    """`count` instances; with `redis`, instance i is given `redis.url(i)` as REDIS_URL."""
    started: list[Instance] = []
    try:
        for i in range(count):
            own = {**env, "REDIS_URL": redis.url(i)} if redis is not None else env
            started.append(start(f"instance-{i + 1}", target, log_dir, own))
    except BaseException:
        for instance in started:
            instance.stop()
        raise
    return started


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    # Which instance served each request: the test shows they all took part.
    log_format upstream '$upstream_addr $status';
    access_log {dir}/upstreams.log upstream;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream cloudmcp {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://cloudmcp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The suite's DNS-rebinding checks need the Host the client sent.
            proxy_set_header Host $http_host;
            # SSE: pass every event on at once, and let streams stay open.
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            # A dead instance: try the next one for requests that are safe to resend.
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


@dataclass
class Nginx:
    port: int
    process: subprocess.Popen[bytes]
    dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


def run_nginx(instances: list[Instance], work: Path) -> Iterator[Nginx]:
    """nginx in the foreground, round-robin over `instances`, until the generator closes."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is missing: run scripts/install-tools.sh (install_nginx)")
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "\n".join(
        f"        server 127.0.0.1:{i.port} max_fails=1 fail_timeout=5s;" for i in instances
    )
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=work, port=port, servers=servers))
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(work), "-e", str(work / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    nginx = Nginx(port, process, work)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    errors = (work / "error.log").read_text(errors="replace")
                    raise RuntimeError(f"nginx did not start:\n{errors}") from None
                time.sleep(0.1)
        yield nginx
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
