"""The official MCP conformance suite against each framework's fixture served by cloudmcp.

Each requirement set runs at its own wire version (2025-11-25 with sessions, 2026-07-28
stateless). The scenarios asserted are those the fixtures cover: the `test_*` tools,
resources and prompts they share, written each framework's way. The runs' logs and
parsed results are kept under out/conformance-adapters/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cloudmcp_serving import ROOT, Served
from frameworks import Framework

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from conformance_suite import run_server_suite

pytestmark = [pytest.mark.integration, pytest.mark.frameworks]

OUT = ROOT / "out" / "conformance-adapters"
COMMON = {
    "tools-list",
    "tools-call-simple-text",
    "tools-call-error",
    "tools-call-with-progress",
    "server-sse-multiple-streams",
    "resources-list",
    "resources-read-text",
    "resources-templates-read",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "dns-rebinding-protection",
}
COVERED = {
    "2025-11-25": COMMON
    | {
        "server-initialize",
        "ping",
        "logging-set-level",
        "tools-call-with-logging",
        "tools-call-sampling",
        "tools-call-elicitation",
        "resources-subscribe",
        "resources-unsubscribe",
    },
    "2026-07-28": COMMON
    | {
        "caching",
        "http-header-validation",
        "sep-2164-resource-not-found",
        "input-required-result-basic-sampling",
        "input-required-result-basic-list-roots",
        "input-required-result-missing-input-response",
        "input-required-result-result-type",
        "input-required-result-unsupported-methods",
        "input-required-result-ignore-extra-params",
        "input-required-result-validate-input",
    },
}


@pytest.mark.parametrize("revision", list(COVERED))
def test_covered_scenarios_pass(served: Served, framework: Framework, revision: str) -> None:
    covered = set(COVERED[revision])
    if framework.completions:
        covered.add("completion-complete")
    out = OUT / framework.name / revision
    run = run_server_suite(served.url, ["--requirements", revision], out)
    (out / "results.json").write_text(json.dumps(run.report(), indent=2))
    missing = sorted(covered - run.checks.keys())
    assert not missing, f"covered scenarios with no results: {missing}\n{run.stdout[-3000:]}"
    empty = sorted(name for name in covered if not run.checks[name])
    assert not empty, f"covered scenarios that ran no checks: {empty}"
    failures = run.failures(covered)
    assert not failures, "\n".join([*failures, "server log:", served.log_tail()])
    passed, total = run.score(covered)
    assert passed == total > 0
