"""The release logic against real servers: `cloudmcp serve` stands in for each revision.

The cloud CLIs (`gcloud`, `aws`) are the one thing that cannot run here: recorders on PATH log
every call and answer from the scenario (the service's traffic, the tagged URL pointing at a
loopback `cloudmcp serve`). The probes are real MCP sessions over HTTP with auth on, the
credential read through the recorded secret store. The release script runs as the pipeline runs
it: the rendered `release/release.py` beside its slice of cloudmcp, under a Python where cloudmcp is
not installed.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_support import free_port, render
from test_deploy_start_command import wait_until_healthy

# Starts servers, Redis or the validators: integration tests (tests/conftest.py).
pytestmark = pytest.mark.integration

API_KEY = "release-probe-key-0123456789abcdef"
SYSTEM_PYTHON = Path("/usr/bin/python3")

RECORDER = r'''#!{python}
"""Stands in for a cloud CLI: logs argv, answers from the scenario file."""
import json, os, signal, sys

args = sys.argv[1:]
scenario = json.load(open(os.environ["RECORDER_SCENARIO"]))
with open(os.environ["RECORDER_LOG"], "a") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0]), *args]) + "\n")
line = " ".join(args)
for trigger, pid in scenario.get("kill_on", []):
    if trigger in line:
        os.kill(pid, signal.SIGKILL)
for prefix, answer in scenario["answers"]:
    if line.startswith(prefix):
        sys.stdout.write(answer if isinstance(answer, str) else json.dumps(answer))
        break
'''


class Monitoring:
    """Stands in for the Cloud Monitoring API (a cloud API): answers timeSeries.list with a
    5xx count, and keeps what it was asked."""

    def __init__(self) -> None:
        self.errors = 0
        self.queries: list[tuple[str, str]] = []
        monitoring = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                monitoring.queries.append((self.path, self.headers.get("authorization", "")))
                body = json.dumps(
                    {
                        "timeSeries": [
                            {"points": [{"value": {"int64Value": str(monitoring.errors)}}]}
                        ]
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v3"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def monitoring() -> Iterator[Monitoring]:
    found = Monitoring()
    yield found
    found.close()


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start(api_keys: str = API_KEY) -> Server:
        port = free_port()
        env = {
            **os.environ,
            "AUTH": "api_key",
            "API_KEYS": api_keys,
            "PORT": str(port),
            "KEY_PREFIX": f"release-test-{port}:",
        }
        env.pop("REDIS_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "cloudmcp", "serve", "cloudmcp.example:app"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url + "/health", process)
        return Server(process, url)

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release script and probe exactly as `cloudmcp deploy render` writes them."""
    rendered = render("full", tmp_path_factory.mktemp("release-render"))
    return rendered.out / "release"


class Cloud:
    """Recorders for gcloud and aws on a PATH of their own."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "calls.jsonl"
        self.scenario = root / "scenario.json"
        for name in ("gcloud", "aws"):
            path = self.bin / name
            path.write_text(RECORDER.replace("{python}", sys.executable))
            path.chmod(0o755)

    def answer(self, answers: list[tuple[str, Any]], kill_on: list[tuple[str, int]]) -> None:
        self.scenario.write_text(json.dumps({"answers": answers, "kill_on": kill_on}))

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def release(self, release_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        # The pipeline's way: the rendered script, a Python without cloudmcp, only PATH's CLIs.
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "RECORDER_LOG": str(self.log),
            "RECORDER_SCENARIO": str(self.scenario),
        }
        return subprocess.run(
            [str(SYSTEM_PYTHON), "-E", "-s", str(release_dir / "release.py"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )


@pytest.fixture
def cloud(tmp_path: Path) -> Cloud:
    return Cloud(tmp_path)


def cloud_run_service(new_url: str) -> dict[str, Any]:
    return {
        "status": {
            "traffic": [
                {"revisionName": "mcp-staging-00041-old", "percent": 100},
                {"revisionName": "mcp-staging-00042-new", "tag": "sha-abc", "url": new_url},
            ]
        }
    }


GCP_ARGS = (
    "gcp",
    "--project=acme",
    "--region=us-central1",
    "--service=mcp-staging",
    "--tag=sha-abc",
    "--steps=10,50,100",
    "--soak=0",
    "--health-path=/ready",
    "--api-key-secret=mcp-api-keys-staging",
)


def traffic_calls(calls: list[list[str]]) -> list[str]:
    return [
        next(a for a in call if a.startswith(("--to-", "--remove-tags")))
        for call in calls
        if call[:4] == ["gcloud", "run", "services", "update-traffic"]
    ]


def test_system_python_has_no_cloudmcp() -> None:
    # What makes the release tests below run the script as the pipeline does.
    result = subprocess.run([str(SYSTEM_PYTHON), "-E", "-s", "-c", "import cloudmcp"], check=False)
    assert result.returncode != 0


def test_cloud_run_release_probes_each_step_with_the_secret_credential(
    serve: Any, cloud: Cloud, release_dir: Path, monitoring: Monitoring
) -> None:
    new = serve()
    cloud.answer(
        [
            ("run services describe", cloud_run_service(new.url)),
            ("secrets versions access latest", f"{API_KEY}:release-probe\n"),
            ("auth print-access-token", "monitoring-token\n"),
        ],
        [],
    )
    result = cloud.release(
        release_dir, *GCP_ARGS, "--max-errors=5", f"--monitoring-url={monitoring.url}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert traffic_calls(cloud.calls()) == [
        "--to-tags=sha-abc=10",
        "--to-tags=sha-abc=50",
        "--to-tags=sha-abc=100",
    ]
    # Every probe passed an authenticated MCP session (initialize answers only with the key).
    assert result.stdout.count("ok   initialize") == 4
    assert API_KEY not in result.stdout + result.stderr
    # The revision's 5xx count was read before each partial step, for that revision only.
    assert len(monitoring.queries) == 2
    for path, authorization in monitoring.queries:
        assert path.startswith("/v3/projects/acme/timeSeries?")
        assert "mcp-staging-00042-new" in urllib.parse.unquote_plus(path)
        assert authorization == "Bearer monitoring-token"


def test_cloud_run_release_rolls_back_when_the_revision_errors(
    serve: Any, cloud: Cloud, release_dir: Path, monitoring: Monitoring
) -> None:
    new = serve()
    monitoring.errors = 9  # its alarm: more 5xx answers than the budget while at 10%
    cloud.answer(
        [
            ("run services describe", cloud_run_service(new.url)),
            ("secrets versions access latest", API_KEY),
            ("auth print-access-token", "monitoring-token"),
        ],
        [],
    )
    result = cloud.release(
        release_dir, *GCP_ARGS, "--max-errors=5", f"--monitoring-url={monitoring.url}"
    )
    assert result.returncode == 1
    assert "gave 9 5xx answers at 10% (more than 5)" in result.stderr
    assert traffic_calls(cloud.calls()) == [
        "--to-tags=sha-abc=10",
        "--to-revisions=mcp-staging-00041-old=100",
        "--remove-tags=sha-abc",
    ]


def test_cloud_run_release_rolls_traffic_back_when_a_probe_fails(
    serve: Any, cloud: Cloud, release_dir: Path
) -> None:
    new = serve()
    # The new revision dies once it has half the traffic: the 50% probe fails.
    cloud.answer(
        [
            ("run services describe", cloud_run_service(new.url)),
            ("secrets versions access latest", API_KEY),
        ],
        [("--to-tags=sha-abc=50", new.process.pid)],
    )
    result = cloud.release(release_dir, *GCP_ARGS)
    assert result.returncode == 1
    assert "probe of revision mcp-staging-00042-new at 50% failed" in result.stderr
    assert traffic_calls(cloud.calls()) == [
        "--to-tags=sha-abc=10",
        "--to-tags=sha-abc=50",
        "--to-revisions=mcp-staging-00041-old=100",
        "--remove-tags=sha-abc",
    ]


def test_cloud_run_release_without_the_credential_never_moves_traffic(
    serve: Any, cloud: Cloud, release_dir: Path
) -> None:
    new = serve()
    # The secret holds a key the revision does not accept: the no-traffic probe fails.
    cloud.answer(
        [
            ("run services describe", cloud_run_service(new.url)),
            ("secrets versions access latest", "some-other-key-0123456789"),
        ],
        [],
    )
    result = cloud.release(release_dir, *GCP_ARGS)
    assert result.returncode == 1
    assert traffic_calls(cloud.calls()) == [
        "--to-revisions=mcp-staging-00041-old=100",
        "--remove-tags=sha-abc",
    ]


AWS_ARGS = (
    "aws",
    "--region=eu-west-1",
    "--function=mcp-staging",
    "--image-uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/mcp-staging:abc",
    "--steps=10,50,100",
    "--soak=0",
    "--health-path=/ready",
    "--api-key-secret=mcp-api-keys-staging",
    "--alarms",
    "mcp-staging-lambda-errors",
)


def alias_calls(calls: list[list[str]]) -> list[tuple[str, ...]]:
    return [
        tuple(a for a in call if a.startswith(("--name=", "--function-version=", "--routing")))
        for call in calls
        if call[:3] == ["aws", "lambda", "update-alias"]
    ]


def lambda_answers(url: str, firing: list[str]) -> list[tuple[str, Any]]:
    return [
        ("lambda get-alias", {"FunctionVersion": "6"}),
        ("lambda update-function-code", {"Version": "7"}),
        ("lambda get-function-url-config", {"FunctionUrl": url + "/"}),
        ("secretsmanager get-secret-value", API_KEY),
        ("cloudwatch describe-alarms", firing),
    ]


def test_lambda_release_probes_the_candidate_then_moves_the_live_alias(
    serve: Any, cloud: Cloud, release_dir: Path
) -> None:
    candidate = serve()
    cloud.answer(lambda_answers(candidate.url, []), [])
    result = cloud.release(release_dir, *AWS_ARGS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert alias_calls(cloud.calls()) == [
        ("--name=candidate", "--function-version=7"),
        (
            "--name=live",
            "--function-version=6",
            "--routing-config=AdditionalVersionWeights={7=0.1}",
        ),
        (
            "--name=live",
            "--function-version=6",
            "--routing-config=AdditionalVersionWeights={7=0.5}",
        ),
        ("--name=live", "--function-version=7", "--routing-config=AdditionalVersionWeights={}"),
    ]


def test_lambda_release_rolls_back_on_a_firing_alarm(
    serve: Any, cloud: Cloud, release_dir: Path
) -> None:
    candidate = serve()
    cloud.answer(lambda_answers(candidate.url, ["mcp-staging-lambda-errors"]), [])
    result = cloud.release(release_dir, *AWS_ARGS)
    assert result.returncode == 1
    assert "alarms firing at 10%" in result.stderr
    assert alias_calls(cloud.calls())[-1] == (
        "--name=live",
        "--function-version=6",
        "--routing-config=AdditionalVersionWeights={}",
    )


def test_lambda_release_rolls_back_when_the_candidate_probe_fails(
    serve: Any, cloud: Cloud, release_dir: Path
) -> None:
    candidate = serve(api_keys="a-key-the-secret-does-not-hold-0123")
    cloud.answer(lambda_answers(candidate.url, []), [])
    result = cloud.release(release_dir, *AWS_ARGS)
    assert result.returncode == 1
    assert "probe of version 7 (no traffic) failed" in result.stderr
    # The live alias never gave the new version a request.
    assert alias_calls(cloud.calls()) == [
        ("--name=candidate", "--function-version=7"),
        ("--name=live", "--function-version=6", "--routing-config=AdditionalVersionWeights={}"),
    ]
