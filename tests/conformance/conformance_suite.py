"""Run the official MCP conformance suite and read its results.

The suite (`@modelcontextprotocol/conformance`, pinned in tools/node) is installed by
scripts/install-tools.sh; `.tools/bin/conformance` runs it on the pinned Node 22. With
`-o DIR` it writes one `server-<scenario>-<timestamp>/checks.json` per scenario, which is
what we parse: a list of checks, each with an `id`, a `status` (SUCCESS, FAILURE, WARNING,
SKIPPED, INFO) and, when it did not pass, an `errorMessage`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / ".tools" / "bin" / "conformance"
#: Where runs leave their logs and parsed results (gitignored).
OUT = ROOT / "out" / "conformance"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$")
_SUMMARY_LINE = re.compile(
    r"^[✓✗] (?P<scenario>\S+): (?P<passed>\d+) passed, (?P<failed>\d+) failed$"
)


def require_cli() -> Path:
    if not CONFORMANCE.exists():
        raise RuntimeError(f"{CONFORMANCE} is missing: run `make tools` (scripts/install-tools.sh)")
    return CONFORMANCE


@dataclass
class Run:
    """One `conformance server` invocation."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    #: scenario -> its checks, from the checks.json files.
    checks: dict[str, list[dict[str, Any]]]
    #: scenario -> (passed, failed), from the printed summary.
    summary: dict[str, tuple[int, int]] = field(default_factory=dict)

    def failures(self, scenarios: set[str] | None = None) -> list[str]:
        """`scenario / check: message` for every FAILURE (in `scenarios`, when given)."""
        lines = []
        for scenario, checks in sorted(self.checks.items()):
            if scenarios is not None and scenario not in scenarios:
                continue
            for check in checks:
                if check.get("status") == "FAILURE":
                    message = check.get("errorMessage") or check.get("description", "")
                    lines.append(f"{scenario} / {check.get('id')}: {message}")
        return lines

    def warnings(self, scenarios: set[str] | None = None) -> list[str]:
        return [
            f"{scenario} / {check.get('id')}: {check.get('errorMessage', '')}"
            for scenario, checks in sorted(self.checks.items())
            if scenarios is None or scenario in scenarios
            for check in checks
            if check.get("status") == "WARNING"
        ]

    def score(self, scenarios: set[str]) -> tuple[int, int]:
        """(SUCCESS checks, SUCCESS + FAILURE checks) over `scenarios`."""
        statuses = [
            check.get("status") for scenario in scenarios for check in self.checks.get(scenario, [])
        ]
        passed = statuses.count("SUCCESS")
        return passed, passed + statuses.count("FAILURE")

    def report(self) -> dict[str, Any]:
        """A JSON-ready record of the run: per scenario, its counts and non-passing checks."""
        scenarios: dict[str, Any] = {}
        for scenario, checks in sorted(self.checks.items()):
            counts: dict[str, int] = {}
            for check in checks:
                counts[check.get("status", "?")] = counts.get(check.get("status", "?"), 0) + 1
            scenarios[scenario] = {
                "counts": counts,
                "problems": [
                    {k: check.get(k) for k in ("id", "status", "errorMessage")}
                    for check in checks
                    if check.get("status") in ("FAILURE", "WARNING")
                ],
            }
        return {"args": self.args, "returncode": self.returncode, "scenarios": scenarios}


def read_checks(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    checks: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(out_dir.glob("server-*/checks.json")):
        found = _RESULT_DIR.match(path.parent.name)
        if found:
            checks.setdefault(found["scenario"], []).extend(json.loads(path.read_text()))
    return checks


def read_summary(stdout: str) -> dict[str, tuple[int, int]]:
    summary: dict[str, tuple[int, int]] = {}
    in_summary = False
    for line in _ANSI.sub("", stdout).splitlines():
        if line.strip() == "=== SUMMARY ===":
            in_summary = True
        elif in_summary and (found := _SUMMARY_LINE.match(line.strip())):
            summary[found["scenario"]] = (int(found["passed"]), int(found["failed"]))
    return summary


def run_server_suite(url: str, selection: list[str], out_dir: Path, timeout: float = 1200) -> Run:
    """`conformance server --url URL <selection> -o OUT_DIR`, its logs kept in OUT_DIR.

    OUT_DIR is emptied first: every run writes new timestamped directories, and results of an
    earlier run must not be read as this one's.
    """
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    args = [str(require_cli()), "server", "--url", url, *selection, "-o", str(out_dir)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    (out_dir / "stdout.log").write_text(done.stdout)
    (out_dir / "stderr.log").write_text(done.stderr)
    return Run(
        args=args[1:],
        returncode=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        checks=read_checks(out_dir),
        summary=read_summary(done.stdout),
    )


def scored_scenarios(revision: str) -> set[str]:
    """The server scenarios a requirement set scores, as `conformance list` prints them."""
    listing = subprocess.run(
        [str(require_cli()), "list", "--requirements", revision],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    scenarios: set[str] = set()
    in_server = False
    for line in listing.splitlines():
        if line.startswith("Server scenarios"):
            in_server = True
        elif in_server and line.startswith("  - "):
            scenarios.add(line[4:].strip())
        elif in_server and not line.strip():
            break
    if not scenarios:
        raise RuntimeError(f"no server scenarios listed for {revision}:\n{listing}")
    return scenarios


def all_server_scenarios() -> set[str]:
    listing = subprocess.run(
        [str(require_cli()), "list", "--server"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return {line[4:].split(" [")[0] for line in listing.splitlines() if line.startswith("  - ")}


#: The tasks extension's scenarios (SEP-2663). They are "extension" scenarios, never scored:
#: the exit code says nothing about them, so their checks are read.
TASKS_SCENARIOS = (
    "tasks-lifecycle",
    "tasks-capability-negotiation",
    "tasks-wire-fields",
    "tasks-request-state-removal",
    "tasks-mrtr-input",
    "tasks-request-headers",
    "tasks-dispatch-and-envelope",
    "tasks-status-notifications",
    "tasks-required-task-error",
    "tasks-mrtr-composition",
)
#: Skipped by the suite itself until it listens on `subscriptions/listen`.
TASKS_SKIPPED_BY_SUITE = frozenset({"tasks-status-notifications"})


def run_tasks_scenarios(url: str, out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every tasks scenario, one `--scenario` run each; scenario -> its checks."""
    checks: dict[str, list[dict[str, Any]]] = {}
    for scenario in TASKS_SCENARIOS:
        run = run_server_suite(url, ["--scenario", scenario], out_dir / scenario, timeout=300)
        checks.update(run.checks)
    return checks


def tasks_problems(checks: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What keeps the tasks scenarios from passing whole: a scenario with no checks, a
    check that did not pass (only the suite's own skip is allowed)."""
    problems = []
    for scenario in TASKS_SCENARIOS:
        found = checks.get(scenario, [])
        if not found:
            problems.append(f"{scenario}: no checks")
        for check in found:
            status = check.get("status")
            skipped = status == "SKIPPED" and scenario in TASKS_SKIPPED_BY_SUITE
            if status != "SUCCESS" and not skipped:
                problems.append(
                    f"{scenario} / {check.get('id')}: {status} {check.get('errorMessage', '')}"
                )
    return problems
