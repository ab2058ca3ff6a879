"""The official SDK's v1 client (mcp < 2, the one most deployed agents still ship) against
`cloudmcp serve`. It runs in its own venv (.tools/mcp1, from scripts/install-tools.sh)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloudmcp_serving import CONFORMANCE_FIXTURE, ROOT, Served, serve

V1_PYTHON = ROOT / ".tools" / "mcp1" / "bin" / "python"
CLIENT = Path(__file__).with_name("v1_client.py")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(CONFORMANCE_FIXTURE, tmp_path_factory.mktemp("v1") / "server.log")


def test_v1_client_speaks_a_legacy_session(server: Served) -> None:
    assert V1_PYTHON.exists(), "run scripts/install-tools.sh to install the v1 client"
    done = subprocess.run(
        [str(V1_PYTHON), str(CLIENT), server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + server.log_tail()
    report = json.loads(done.stdout)
    assert report["protocol_version"] == "2025-11-25"
    assert report["server"] == "cloudmcp-conformance"
    assert report["tools"][0] == "test_simple_text"
    assert report["simple"] == "This is a simple text response for testing."
    assert report["resource"] == "This is the content of the static text resource."
    assert report["prompt"] == "This is a simple prompt for testing."
    assert report["progress"] == [0, 50, 100]
    assert report["progress_error"] is False
    assert report["elicited"].startswith("User response: action=accept")
