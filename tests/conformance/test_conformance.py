"""The official MCP conformance suite against examples/conformance/server.py.

Each requirement set runs at its own wire version: 2025-11-25 with the initialize handshake
and sessions, 2026-07-28 stateless. Every check of every scored scenario must pass; the runs'
logs and parsed results are kept under out/conformance/ for the record.
"""

from __future__ import annotations

import json

import pytest
from cloudmcp_serving import Served
from conformance_suite import OUT, Run, all_server_scenarios, run_server_suite, scored_scenarios


def _explain(run: Run, served: Served, scenarios: set[str]) -> str:
    failures = run.failures(scenarios) or ["(no FAILURE checks; see the output below)"]
    return "\n".join(
        [
            f"conformance {' '.join(run.args)} exited {run.returncode}",
            "Failed checks:",
            *(f"  {line}" for line in failures),
            "Last output:",
            run.stdout[-4000:],
            run.stderr[-2000:],
            "Server log:",
            served.log_tail(),
        ]
    )


@pytest.mark.parametrize("revision", ["2025-11-25", "2026-07-28"])
def test_requirement_set_passes(revision: str, conformance_server: Served) -> None:
    scored = scored_scenarios(revision)
    out = OUT / revision
    run = run_server_suite(conformance_server.url, ["--requirements", revision], out)
    (out / "results.json").write_text(json.dumps(run.report(), indent=2))

    passed, total = run.score(scored)
    print(f"{revision}: {passed}/{total} scored checks pass")
    for line in run.warnings(scored):
        print(f"  WARNING {line}")

    missing = sorted(scored - run.checks.keys())
    assert not missing, f"scored scenarios with no results: {missing}\n" + _explain(
        run, conformance_server, scored
    )
    empty = sorted(name for name in scored if not run.checks[name])
    assert not empty, f"scored scenarios that ran no checks: {empty}"
    assert not run.failures(scored), _explain(run, conformance_server, scored)
    assert run.returncode == 0, _explain(run, conformance_server, scored)
    assert passed == total > 0


def test_suite_all_completes(conformance_server: Served) -> None:
    """`--suite all` once: reported in out/conformance/all/, asserted only to complete."""
    out = OUT / "all"
    run = run_server_suite(conformance_server.url, ["--suite", "all"], out)
    (out / "results.json").write_text(json.dumps(run.report(), indent=2))

    failing = {name: counts for name, counts in run.summary.items() if counts[1]}
    print(f"--suite all: {len(run.summary)} scenarios, {len(failing)} with failures")
    for line in run.failures():
        print(f"  FAILURE {line}")

    assert run.returncode in (0, 1), _explain(run, conformance_server, set(run.checks))
    expected = all_server_scenarios()
    assert expected <= run.summary.keys(), (
        f"scenarios missing from the summary: {sorted(expected - run.summary.keys())}"
    )
