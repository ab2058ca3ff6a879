"""Each framework's fixture as an AWS Lambda function under the Runtime Interface Emulator
(`aws-lambda-rie`), run by the framework venv's `python -m awslambdaric
cloudmcp.aws_lambda.handler` with `CLOUDMCP_APP` naming the fixture: a cold invocation,
warm ones that find the framework's lifespan started once, and an MRTR round trip.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cloudmcp_serving import ROOT, free_port
from frameworks import Framework

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "aws_lambda"))
from lambda_calls import Answer, answer_of
from wire import meta, modern_headers

from cloudmcp.aws_lambda.local import make_event

pytestmark = [pytest.mark.integration, pytest.mark.frameworks]

RIE = ROOT / ".tools" / "bin" / "aws-lambda-rie"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
WHO = {"user": "nobody"}


class Function:
    """One execution environment of the function, behind the emulator."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def modern(self, kind: str, method: str, params: dict[str, Any]) -> Answer:
        params = {**params, "_meta": meta(**params.get("_meta", {}))}
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        event = make_event(
            kind, body=body.encode(), headers=modern_headers(method, params.get("name"))
        )
        request = urllib.request.Request(self.url, data=json.dumps(event).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            payload: dict[str, Any] = json.loads(response.read())
        assert "errorType" not in payload, (payload, self.log_tail())
        return answer_of(payload)

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


@contextmanager
def function(framework: Framework, tmp_path: Path) -> Iterator[Function]:
    if not RIE.exists():
        raise RuntimeError(f"{RIE} is missing: run scripts/install-tools.sh")
    port, api_port = free_port(), free_port()
    log = tmp_path / f"rie-{port}.log"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "AWS_LAMBDA_FUNCTION_NAME": f"adapted-{framework.name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
        "AWS_REGION": "us-east-1",
        "CLOUDMCP_APP": framework.target,
    }
    command = [
        str(RIE),
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{port}",
        "--runtime-api-address",
        f"127.0.0.1:{api_port}",
        "--log-level",
        "error",
        str(framework.bin("python")),
        "-m",
        "awslambdaric",
        "cloudmcp.aws_lambda.handler",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start:\n{log.read_text()}") from None
                time.sleep(0.05)
        yield Function(f"http://127.0.0.1:{port}{INVOKE_PATH}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def text(answer: Answer) -> str:
    assert answer.status == 200, answer.body
    result = answer.last["result"]
    return "".join(block["text"] for block in result["content"] if block["type"] == "text")


def test_cold_and_warm_invocations(framework: Framework, tmp_path: Path) -> None:
    with function(framework, tmp_path) as rie:
        cold = text(rie.modern("function-url", "tools/call", {"name": "who", "arguments": WHO}))
        assert cold.startswith("unknown (lifespan starts: 1, pid "), rie.log_tail()
        listed = rie.modern("http-api-v2", "tools/list", {})
        assert {t["name"] for t in listed.last["result"]["tools"]} >= {"who", "ship", "add"}
        for kind in ("api-gateway-v1", "alb"):
            warm = rie.modern(kind, "tools/call", {"name": "who", "arguments": WHO})
            assert text(warm) == cold, rie.log_tail()  # the same process, one lifespan
        shipped = rie.modern(
            "function-url",
            "tools/call",
            {"name": "ship", "arguments": {"address": {"street": "1", "city": "Oslo"}}},
        )
        assert shipped.last["result"]["isError"] is True  # the framework's own validation
        assert "postcode" in text(shipped)


def test_an_mrtr_round_trip(framework: Framework, tmp_path: Path) -> None:
    with function(framework, tmp_path) as rie:
        name = "test_input_required_result_elicitation"
        first = rie.modern("function-url", "tools/call", {"name": name, "arguments": {}})
        interim = first.last["result"]
        assert interim["resultType"] == "input_required", first.body
        ((key, asked),) = interim["inputRequests"].items()
        assert asked["method"] == "elicitation/create"
        assert "name" in asked["params"]["requestedSchema"]["properties"]
        retry = {
            "name": name,
            "arguments": {},
            "inputResponses": {key: {"action": "accept", "content": {"name": "Alice"}}},
            "requestState": interim["requestState"],
        }
        done = rie.modern("api-gateway-v1", "tools/call", retry)
        assert text(done) == "Hello, Alice!", rie.log_tail()


def test_cloudmcp_lambda_invoke_takes_the_app(framework: Framework) -> None:
    """`cloudmcp lambda invoke --target fixture.py:mcp`, from the framework's venv."""
    done = subprocess.run(
        [str(framework.bin("cloudmcp")), "lambda", "invoke", "--target", framework.target],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["statusCode"] == 200
    tools = json.loads(response["body"])["result"]["tools"]
    assert {tool["name"] for tool in tools} >= {"who", "ship", "test_elicitation"}
