"""CORS from one setting on both clouds: `cloudmcp serve` (Cloud Run) answers browsers as the
Lambda handler does, so a browser client keeps working when DNS fails over (issue 15, item 11).
A real `cloudmcp serve` is started with the environment the deployment gives it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import free_port
from test_deploy_start_command import wait_until_healthy

from cloudmcp.aws_lambda.cors import Cors

# Starts servers, Redis or the validators: integration tests (tests/conftest.py).
pytestmark = pytest.mark.integration

ORIGINS = "https://app.example.com,https://admin.example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CORS_ALLOW_ORIGINS": ORIGINS,
        "ALLOWED_ORIGINS": ORIGINS,
        "KEY_PREFIX": f"deploy-cors-{port}:",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cloudmcp", "serve", "cloudmcp.example:app"],
        env=env,
        cwd=tmp_path_factory.mktemp("cors"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/health", process)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def request(
    port: int, method: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, "/mcp", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


PREFLIGHT = {
    "origin": "https://admin.example.com",
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, mcp-protocol-version, authorization",
}


def test_serve_answers_a_preflight_as_the_lambda_handler_does(server: int) -> None:
    status, headers = request(server, "OPTIONS", PREFLIGHT)
    assert status == 204
    lambda_answer = Cors(tuple(ORIGINS.split(","))).preflight("OPTIONS", PREFLIGHT)
    assert lambda_answer is not None and lambda_answer.status == status
    for name, value in lambda_answer.headers:
        assert headers[name] == value, name
    assert headers["access-control-allow-origin"] == "https://admin.example.com"


def test_serve_lets_an_allowed_origin_read_the_session_headers(server: int) -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "browser", "version": "1"},
            },
        }
    ).encode()
    headers = {
        "origin": "https://app.example.com",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
    }
    status, answer = request(server, "POST", headers, body)
    assert status == 200
    assert answer["access-control-allow-origin"] == "https://app.example.com"
    assert "mcp-session-id" in answer["access-control-expose-headers"]
    assert "mcp-session-id" in answer


def test_serve_gives_a_foreign_origin_nothing(server: int) -> None:
    status, headers = request(server, "OPTIONS", {**PREFLIGHT, "origin": "https://evil.example"})
    assert status == 403
    assert "access-control-allow-origin" not in headers


def test_serve_without_cors_still_refuses_options(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "KEY_PREFIX": f"deploy-cors-off-{port}:"}
    env.pop("REDIS_URL", None)
    env.pop("CORS_ALLOW_ORIGINS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cloudmcp", "serve", "cloudmcp.example:app"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/health", process)
        status, headers = request(port, "OPTIONS", {})
        assert status == 405 and "access-control-allow-origin" not in headers
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
