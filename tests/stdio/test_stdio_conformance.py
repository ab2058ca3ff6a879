"""The official MCP conformance suite through `cloudmcp serve --stdio` in front of
`@modelcontextprotocol/server-everything`, which speaks only 2025-11-25 over stdio.

Each requirement set runs whole. The scenarios the child supports (those that drive no
primitive of the suite's own fixture server: `test_simple_text`, `test://static-text`...)
must pass every check; every other failure must be the child lacking such a fixture,
so a bridge regression cannot hide among them. Logs: out/conformance/stdio-<revision>/.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloudmcp_serving import Served
from stdio_serving import EVERYTHING, require, serve_stdio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))

from conformance_suite import OUT, run_server_suite

pytestmark = pytest.mark.slow

SUPPORTED = {
    "2025-11-25": {
        "server-initialize",
        "server-session-lifecycle",
        "logging-set-level",
        "ping",
        "completion-complete",
        "tools-list",
        "resources-list",
        "resources-subscribe",
        "resources-unsubscribe",
        "prompts-list",
        "server-sse-multiple-streams",
        "server-sse-polling",
        "dns-rebinding-protection",
    },
    "2026-07-28": {
        "server-stateless",
        "completion-complete",
        "tools-list",
        "resources-list",
        "prompts-list",
        "sep-2164-resource-not-found",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
        "caching",
        "http-header-validation",
        "input-required-result-missing-input-response",
        "input-required-result-unsupported-methods",
        "input-required-result-ignore-extra-params",
        "input-required-result-validate-input",
    },
}
#: How the suite reports a check that needs one of its own fixture's primitives.
NEEDS_FIXTURE = re.compile(
    r"Unknown (tool|prompt): \w+|Resource not found: test://|Tool '\w+' not found|"
    r"Not testable: server (does not list the diagnostic tool|exposes no tool with x-mcp-header)|"
    r"Not testable: no task was created|Prerequisite failed|fixture from Check \d+ unavailable|"
    r"Expected InputRequiredResult|-32021; got -32601|expected -32602; got -32601|"
    r"returned error code -32602; spec requires -32021|capabilities.extensions MUST be advertised"
)


@pytest.fixture
def bridged(tmp_path: Path) -> Iterator[Served]:
    yield from serve_stdio([require(EVERYTHING)], tmp_path / "server.log")


@pytest.mark.parametrize("revision", ["2025-11-25", "2026-07-28"])
def test_supported_scenarios_pass_through_the_bridge(revision: str, bridged: Served) -> None:
    out = OUT / f"stdio-{revision}"
    run = run_server_suite(bridged.url, ["--requirements", revision], out)
    (out / "results.json").write_text(json.dumps(run.report(), indent=2))
    supported = SUPPORTED[revision]
    missing = sorted(supported - run.checks.keys())
    assert not missing, f"no results for {missing}\n{run.stdout[-3000:]}"

    failures = [
        line
        for line in run.failures(supported)
        # The child has none of the suite's diagnostic tools: these checks cannot run.
        if not line.startswith("server-stateless / ") or not NEEDS_FIXTURE.search(line)
    ]
    assert not failures, "\n".join([*failures, bridged.log_tail()])
    passed, total = run.score(supported)
    assert passed > 0
    print(f"{revision}: {passed}/{total} checks of {len(supported)} supported scenarios pass")

    elsewhere = [line for line in run.failures() if not NEEDS_FIXTURE.search(line)]
    others = set(run.checks) - supported
    assert not [line for line in elsewhere if line.split(" / ")[0] in others], "\n".join(elsewhere)
