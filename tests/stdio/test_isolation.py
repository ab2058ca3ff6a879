"""`STDIO_ISOLATION=principal` behind API keys: a child serves one principal for its whole
life. Two principals get two children; each principal's later calls go back to its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudmcp_serving import Served
from stdio_serving import EVERYTHING, require, serve_stdio
from wire import modern_headers

ALICE, BOB = "alice-key-0123456789abcdef", "bob-key-0123456789abcdef"


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = {
        "AUTH": "api_key",
        "API_KEYS": f"{ALICE}:alice,{BOB}:bob",
        "STDIO_ISOLATION": "principal",
        "STDIO_POOL_SIZE": "3",
    }
    log = tmp_path_factory.mktemp("stdio-isolation") / "server.log"
    yield from serve_stdio([require(EVERYTHING)], log, env)


def _echo(served: Served, key: str, message: str) -> str:
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "isolation-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    params = {"name": "echo", "arguments": {"message": message}, "_meta": meta}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    headers = {**modern_headers("tools/call", "echo"), "x-api-key": key}
    answer = httpx.post(served.url, json=body, headers=headers, timeout=20)
    text: str = answer.json()["result"]["content"][0]["text"]
    return text


def _children(served: Served) -> set[int]:
    pid = served.process.pid
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def test_each_principal_keeps_a_child_of_its_own(isolated: Served) -> None:
    started = set(_children(isolated))  # the first child, which read the lists at start-up
    assert _echo(isolated, ALICE, "a1") == "Echo: a1"
    after_alice = _children(isolated)
    assert _echo(isolated, BOB, "b1") == "Echo: b1"
    after_bob = _children(isolated)
    assert len(after_bob - after_alice) == 1, "bob gets a child of his own"
    for n in range(3):  # and each comes back to the same one
        assert _echo(isolated, ALICE, f"a{n}") == f"Echo: a{n}"
        assert _echo(isolated, BOB, f"b{n}") == f"Echo: b{n}"
    assert _children(isolated) == after_bob
    assert len(after_bob - started) == 2
    without_key = httpx.post(isolated.url, json={}, headers=modern_headers("tools/list"))
    assert without_key.status_code == 401
