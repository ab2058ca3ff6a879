"""The official SDK's v1 client (mcp < 2, what most deployed agents still ship; its own venv,
.tools/mcp1) opens a legacy session with each framework's fixture served by cloudmcp and
lists, calls, reads, gets a prompt, follows progress and answers an elicitation."""

from __future__ import annotations

import json
import subprocess

import pytest
from cloudmcp_serving import ROOT, Served
from framework_calls import ALL_TOOLS
from frameworks import Framework

pytestmark = [pytest.mark.integration, pytest.mark.frameworks]

V1_PYTHON = ROOT / ".tools" / "mcp1" / "bin" / "python"
CLIENT = ROOT / "tests" / "interop" / "v1_client.py"


def test_the_v1_client_speaks_a_legacy_session(served: Served, framework: Framework) -> None:
    assert V1_PYTHON.exists(), "run scripts/install-tools.sh to install the v1 client"
    done = subprocess.run(
        [str(V1_PYTHON), str(CLIENT), served.url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr + served.log_tail()
    report = json.loads(done.stdout)
    assert report["protocol_version"] == "2025-11-25"
    assert report["server"] == framework.server_name
    assert set(report["tools"]) >= ALL_TOOLS
    assert report["simple"] == "This is a simple text response for testing."
    assert report["resource"] == "This is the content of the static text resource."
    assert report["prompt"] == "This is a simple prompt for testing."
    assert report["progress"] == [0, 50, 100]
    assert report["progress_error"] is False
    assert report["elicited"] == (
        'User response: action=accept, content={"username": "ada", "email": "ada@x.io"}'
    )
