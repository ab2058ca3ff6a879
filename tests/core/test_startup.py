"""First contact: every setting is checked before anything starts (one line naming it,
exit status 2), `--help` works whatever the environment, the app is found in the current
folder, and start-up says where the MCP endpoint is."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudmcp_serving import cloudmcp_command, free_port
from wire import meta, modern_headers

from cloudmcp.errors import ConfigurationError
from cloudmcp.startup import check_settings, start_up_warnings

ROOT = Path(__file__).resolve().parents[2]
KEY = "k1:" + "A" * 44  # 32 bytes of base64

#: A malformed value of each kind, and what the one line must say about it.
BAD = [
    ("PORT", "abc", "PORT='abc': expected a whole number, 0 to 65535"),
    ("PORT", "70000", "PORT='70000'"),
    ("REDIS_URL", "notaurl", "REDIS_URL='notaurl': expected redis://"),
    ("REDIS_URL", "http://cache:6379", "REDIS_URL='http://cache:6379'"),
    ("MAX_REQUEST_SIZE", "-5", "MAX_REQUEST_SIZE='-5': expected a whole number >= 1"),
    ("SESSION_TTL", "abc", "SESSION_TTL='abc': expected a number"),
    ("SESSION_TTL", "0", "SESSION_TTL='0'"),
    ("AUTH", "apikey", "AUTH='apikey': unknown mode 'apikey'"),
    ("LOG_LEVEL", "verbose", "LOG_LEVEL='verbose': expected one of critical"),
    ("STATE_KEYS", "bad", "STATE_KEYS: entry 1 has no id"),
    ("STATE_KEYS", "k1:c2hvcnQ=", "STATE_KEYS: state key 'k1' needs an id and at least 32 bytes"),
    ("RATE_LIMIT", "lots", "RATE_LIMIT='lots': expected count/seconds"),
    ("ALLOWED_HOSTS", "@heroku", "ALLOWED_HOSTS: unknown preset '@heroku'"),
    ("GRACEFUL_TIMEOUT", "soon", "GRACEFUL_TIMEOUT='soon': expected a number"),
    ("WORKERS", "many", "WORKERS='many': expected a whole number, 1 or more"),
    ("HEADER_TIMEOUT", "-1", "HEADER_TIMEOUT='-1'"),
]


def clean_env(**values: str) -> dict[str, str]:
    names = {name for name, _, _ in BAD} | {"HOST", "K_SERVICE", "AWS_LAMBDA_FUNCTION_NAME"}
    return {k: v for k, v in os.environ.items() if k not in names} | values


def run(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cloudmcp_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("name", "value", "said"), BAD)
def test_serve_refuses_a_bad_setting_in_one_line(name: str, value: str, said: str) -> None:
    port = () if name == "PORT" else ("--port", "0")  # the option would win over PORT
    finished = run(clean_env(**{name: value}), "serve", *port)
    assert finished.returncode == 2, finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("cloudmcp serve: "), finished.stderr
    assert said in lines[0]
    assert "Started server process" not in finished.stdout + finished.stderr


def test_secrets_never_appear_in_the_refusal() -> None:
    secret = "Zm9vYmFyYmF6cXV4c2VjcmV0c2VjcmV0c2VjcmV0cw=="
    finished = run(clean_env(STATE_KEYS=secret), "serve")
    assert finished.returncode == 2 and secret not in finished.stderr
    finished = run(clean_env(REDIS_URL="http://:hunter2@cache:6379/0"), "serve")
    assert finished.returncode == 2 and "hunter2" not in finished.stderr


@pytest.mark.parametrize(
    "command",
    [["--help"], ["serve", "--help"], ["lambda", "serve", "--help"], ["deploy", "--help"]],
)
def test_help_works_whatever_the_environment(command: list[str]) -> None:
    env = clean_env(PORT="abc", LOG_LEVEL="verbose", WORKERS="x", REDIS_URL="notaurl")
    finished = run(env, *command)
    assert finished.returncode == 0, finished.stderr
    assert "usage: cloudmcp" in finished.stdout


def test_serve_help_explains_every_option_and_its_default() -> None:
    from cloudmcp.http.deadlines import BODY_TIMEOUT, HEADER_TIMEOUT

    text = " ".join(run(clean_env(), "serve", "--help").stdout.split())
    for option, default in [
        ("--host", "default 127.0.0.1"),
        ("--port", "$PORT; default 8000"),
        ("--path", "default /mcp"),
        ("--log-level", "default info"),
        ("--graceful-timeout", "default 8"),
        ("--workers", "default 1"),
        ("--header-timeout", f"default {HEADER_TIMEOUT:g}"),
        ("--body-timeout", f"default {BODY_TIMEOUT:g}"),
    ]:
        assert option in text and default in text, (option, default)


@pytest.mark.parametrize(("name", "value", "said"), BAD[1:12])
def test_lambda_commands_refuse_a_bad_setting(name: str, value: str, said: str) -> None:
    if name == "PORT":
        finished = run(clean_env(PORT=value), "lambda", "serve")
        assert finished.returncode == 2 and "cloudmcp lambda serve: PORT=" in finished.stderr
        return
    finished = run(clean_env(**{name: value}), "lambda", "invoke")
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.startswith("cloudmcp lambda invoke: ") and said in finished.stderr
    assert "Traceback" not in finished.stderr


def test_the_lambda_handler_logs_a_bad_setting_in_one_line_at_init() -> None:
    code = "from cloudmcp.aws_lambda import handler"
    env = clean_env(SESSION_TTL="abc")
    finished = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2
    assert finished.stderr.strip() == "cloudmcp: bad setting: SESSION_TTL='abc': expected a number"


def test_check_settings_reads_any_mapping() -> None:
    assert check_settings({"STATE_KEYS": KEY, "REDIS_URL": "rediss://cache:6380/2"}).redis_url
    with pytest.raises(ConfigurationError, match="OAUTH_VALIDATION"):
        check_settings({"OAUTH_VALIDATION": "maybe"})
    with pytest.raises(ConfigurationError, match="API_KEYS_FILE='/nowhere/keys'"):
        check_settings({"AUTH": "api_key", "API_KEYS_FILE": "/nowhere/keys"})


def test_redis_without_state_keys_is_warned_about() -> None:
    shared = check_settings({"REDIS_URL": "redis://127.0.0.1:6379/0"})
    (warning,) = start_up_warnings(shared, {})
    assert "STATE_KEYS" in warning
    keyed = check_settings({"REDIS_URL": "redis://127.0.0.1:6379/0", "STATE_KEYS": KEY})
    assert start_up_warnings(keyed, {}) == []
    assert start_up_warnings(check_settings({}), {}) == []


# the app in the current folder, and what start-up says

INVENTORY = '''
from cloudmcp import MCPApp

app = MCPApp("inventory")


@app.tool()
def count(sku: str) -> int:
    """Units on hand."""
    return len(sku)
'''


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`cloudmcp serve inventory:app` run in the folder holding inventory.py, as the README
    says; (MCP URL, its output so far)."""
    (tmp_path / "inventory.py").write_text(INVENTORY)
    port = free_port()
    log = tmp_path / "serve.log"
    env = clean_env(REDIS_URL="redis://127.0.0.1:6379/0", KEY_PREFIX=f"test-{port}:")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*cloudmcp_command(), "serve", "inventory:app", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(300):
            if process.poll() is not None or "Uvicorn running" in log.read_text():
                break
            time.sleep(0.1)
        assert process.poll() is None, log.read_text()
        yield url, log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_serve_imports_the_app_from_the_current_folder(inventory: tuple[str, str]) -> None:
    url, _ = inventory
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "count", "arguments": {"sku": "abc"}, "_meta": meta()},
    }
    answer = httpx.post(url, json=body, headers=modern_headers("tools/call", "count"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["structuredContent"] == {"result": 3}


def test_start_up_names_the_mcp_endpoint_and_warns_about_state_keys(
    inventory: tuple[str, str],
) -> None:
    url, output = inventory
    assert f"MCP endpoint: {url}" in output
    assert "STATE_KEYS is not set" in output


def test_port_alone_binds_every_interface_but_keeps_the_rebinding_check(tmp_path: Path) -> None:
    """`PORT=... cloudmcp serve` on a laptop listens on 0.0.0.0 (as a container must); a
    public name pointed at this machine is still refused."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*cloudmcp_command(), "serve"],
            env=clean_env(PORT=str(port)),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            if process.poll() is not None or "Uvicorn running" in log.read_text():
                break
            time.sleep(0.1)
        assert "0.0.0.0" in log.read_text(), log.read_text()
        url = f"http://127.0.0.1:{port}/mcp"
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta()}}
        headers = modern_headers("tools/list")
        assert httpx.post(url, json=body, headers=headers).status_code == 200
        rebound = httpx.post(url, json=body, headers={**headers, "host": f"evil.example:{port}"})
        assert rebound.status_code == 421
        junk = httpx.post(url, json=body, headers={**headers, "host": "localhost:1@evil.example"})
        assert junk.status_code == 421
    finally:
        process.terminate()
        process.wait(timeout=15)
