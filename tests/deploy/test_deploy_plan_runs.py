"""`deploy plan`'s script, run: twice for one environment, then for another, from one checkout.

The clouds cannot run here, so gcloud, aws, terraform and dig are replaced by one small
simulator that keeps state the way the clouds do where it matters for a rerun: creating a
secret, a bucket or a role that exists fails; a secret version needs its secret; an API must
be enabled before it is used; `terraform init` refuses a changed backend unless told to
reconfigure; a build needs its service account created. `cloudmcp deploy render` is the real one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_support import EXAMPLES

from cloudmcp.deploy.config import load_config
from cloudmcp.deploy.plan import build_plan, render_plan

# Starts servers, Redis or the validators: integration tests (tests/conftest.py).
pytestmark = pytest.mark.integration

SIMULATOR = r"""#!{python}
import json, os, sys

tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
path = os.environ["CLOUD_STATE"]
state = json.load(open(path)) if os.path.exists(path) else {}
state.setdefault("calls", []).append([tool, *args])
line = " ".join(args)
out = ""
code = 0


def has(kind, name):
    return name in state.setdefault(kind, [])


def add(kind, name):
    global code
    if has(kind, name):
        sys.stderr.write(f"ERROR: {kind} {name} already exists\n")
        code = 1
    else:
        state[kind].append(name)


def need(kind, name, message):
    global code
    if not has(kind, name):
        sys.stderr.write(f"ERROR: {message}\n")
        code = 1


def api(name):
    need("apis", name + ".googleapis.com", f"{name} API has not been used or it is disabled")


def flag(name):
    return next((a.split("=", 1)[1] for a in args if a.startswith(name + "=")), None)


if tool == "git":
    out = "0123456789abcdef0123456789abcdef01234567"
elif tool == "dig":
    out = "ns-1.awsdns-01.com.\nns-2.awsdns-02.net.\n"
elif tool == "cloudmcp":
    if args[:2] == ["deploy", "render"]:
        os.execv(os.environ["REAL_CLOUDMCP"], [os.environ["REAL_CLOUDMCP"], *args])
elif tool == "gcloud":
    if line.startswith("billing projects describe"):
        out = "True"
    elif line.startswith("services enable"):
        for name in args[2:]:
            if not name.startswith("--") and not has("apis", name):
                state["apis"].append(name)
    elif line.startswith("storage buckets"):
        api("storage")
        if args[2] == "describe":
            code = 0 if has("buckets", args[3]) else 1
        elif args[2] == "create":
            add("buckets", args[3])
        elif args[2] == "update":
            need("buckets", args[3], "bucket not found")
            if "--versioning" in args:
                state.setdefault("versioned", []).append(args[3])
    elif line.startswith("secrets"):
        api("secretmanager")
        if args[1] == "describe":
            code = 0 if has("secrets", args[2]) else 1
        elif args[1] == "create":
            add("secrets", args[2])
        elif args[1:3] == ["versions", "add"]:
            need("secrets", args[3], f"secret {args[3]} not found")
            state.setdefault("versions", []).append([args[3], sys.stdin.read()])
        elif args[1:3] == ["versions", "access"]:
            out = "probe-key:release\n"
    elif line.startswith("builds submit"):
        api("cloudbuild")
        account = flag("--service-account").rsplit("/", 1)[1]
        need("service_accounts", account, f"service account {account} does not exist")
elif tool == "aws":
    if line.startswith("sts get-caller-identity"):
        out = "123456789012"
    elif line.startswith("lambda get-account-settings"):
        out = os.environ.get("UNRESERVED", "1000")
    elif line.startswith("route53 list-hosted-zones-by-name"):
        out = "/hostedzone/Z123"
    elif line.startswith("route53 get-hosted-zone"):
        out = "ns-1.awsdns-01.com\tns-2.awsdns-02.net"
    elif line.startswith("secretsmanager"):
        name = flag("--secret-id") or flag("--name")
        if args[1] == "describe-secret":
            code = 0 if has("aws_secrets", name) else 1
        elif args[1] == "create-secret":
            add("aws_secrets", name)
            sys.stdin.read()
        elif args[1] == "put-secret-value":
            need("aws_secrets", name, f"secret {name} not found")
            sys.stdin.read()
    elif line.startswith("iam get-role"):
        code = 0 if has("roles", flag("--role-name")) else 1
    elif line.startswith("iam create-role"):
        add("roles", flag("--role-name"))
elif tool == "terraform":
    chdir = args[0]
    verb = args[1]
    if verb == "init":
        backend = sorted(a for a in args if a.startswith("-backend-config="))
        previous = state.setdefault("backends", {}).get(chdir)
        if previous is not None and previous != backend and "-reconfigure" not in args:
            sys.stderr.write("Error: Backend configuration changed\n")
            code = 1
        else:
            state["backends"][chdir] = backend
            bucket = next(a for a in args if a.startswith("-backend-config=bucket="))
            need("buckets", "gs://" + bucket.split("=", 2)[2], "the state bucket does not exist")
    elif verb == "apply":
        if chdir not in state.get("backends", {}):
            sys.stderr.write("Error: Backend initialization required\n")
            code = 1
        var_file = next(a for a in args if a.startswith("-var-file=")).split("=", 1)[1]
        environment = var_file.removesuffix(".tfvars")
        project = os.environ["PROJECT_" + environment.upper()]
        targets = [a for a in args if a.startswith("-target=")]
        if not targets or "-target=google_service_account.build" in targets:
            account = os.environ["BUILD_SA_" + environment.upper()]
            email = f"{account}@{project}.iam.gserviceaccount.com"
            if not has("service_accounts", email):
                state["service_accounts"].append(email)
json.dump(state, open(path, "w"))
sys.stdout.write(out)
sys.exit(code)
"""


class Clouds:
    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.state = root / "state.json"
        for tool in ("gcloud", "aws", "terraform", "git", "dig", "cloudmcp"):
            (self.bin / tool).write_text(SIMULATOR.replace("{python}", sys.executable))
            (self.bin / tool).chmod(0o755)

    def run(
        self, script: Path, cwd: Path, stdin: str, **env: str
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "CLOUD_STATE": str(self.state),
            "REAL_CLOUDMCP": str(Path(sys.executable).parent / "cloudmcp"),
            "HOME": os.environ.get("HOME", "/root"),
            **env,
        }
        return subprocess.run(
            ["bash", str(script)],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
        )

    def read(self) -> dict[str, Any]:
        return json.loads(self.state.read_text())  # type: ignore[no-any-return]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copyfile(EXAMPLES / "cloudmcp.toml", root / "cloudmcp.toml")
    return root


def write_plan(config_path: Path, environment: str, where: Path) -> Path:
    config = load_config(config_path)
    script = where / f"plan-{environment}.sh"
    script.write_text(render_plan(build_plan(config, environment, "deploy", str(config_path))))
    return script


ENV = {
    "PROJECT_STAGING": "acme-mcp-staging",
    "PROJECT_PRODUCTION": "acme-mcp-prod",
    "BUILD_SA_STAGING": "weather-mcp-stagin-build",
    "BUILD_SA_PRODUCTION": "weather-mcp-produc-build",
}
# Two secrets a run: STATE_KEYS and API_KEYS (sorted by variable name: API_KEYS first).
VALUES = "api-key-1\nstate-key-1\n"


def test_the_plan_runs_twice_for_one_environment_then_for_another(
    project: Path, tmp_path: Path
) -> None:
    clouds = Clouds(tmp_path)
    staging = write_plan(project / "cloudmcp.toml", "staging", tmp_path)
    production = write_plan(project / "cloudmcp.toml", "production", tmp_path)
    for script in (staging, staging, production):
        result = clouds.run(script, tmp_path, VALUES, **ENV)
        assert result.returncode == 0, result.stdout + result.stderr
    state = clouds.read()
    assert sorted(state["secrets"]) == [
        "weather-mcp-api-keys-production",
        "weather-mcp-api-keys-staging",
        "weather-mcp-state-keys-production",
        "weather-mcp-state-keys-staging",
    ]
    assert sorted(state["aws_secrets"]) == sorted(state["secrets"])
    assert state["buckets"] == [
        "gs://acme-mcp-staging-tfstate",
        "gs://acme-mcp-staging_cloudbuild",
        "gs://acme-mcp-prod-tfstate",
        "gs://acme-mcp-prod_cloudbuild",
    ]
    assert set(state["versioned"]) == {b for b in state["buckets"] if b.endswith("-tfstate")}
    # Values were piped, never arguments.
    assert ["weather-mcp-api-keys-staging", "api-key-1"] in state["versions"]
    assert not any("api-key-1" in " ".join(call) for call in state["calls"])
    submits = [c for c in state["calls"] if c[:3] == ["gcloud", "builds", "submit"]]
    assert len(submits) == 6 and all(c[-1] == "." for c in submits)
    rendered = project / "deploy"
    assert (rendered / "cloudbuild.yaml").is_file() and (
        rendered / "release" / "release.py"
    ).is_file()


def test_the_plan_stops_before_terraform_when_lambda_concurrency_is_short(
    project: Path, tmp_path: Path
) -> None:
    clouds = Clouds(tmp_path)
    script = write_plan(project / "cloudmcp.toml", "staging", tmp_path)
    result = clouds.run(script, tmp_path, VALUES, UNRESERVED="150", **ENV)
    assert result.returncode == 1
    assert "aws.reserved_concurrency = 100 needs 200 unreserved" in result.stderr
    assert not any(call[0] == "terraform" for call in clouds.read()["calls"])


def test_the_simulator_refuses_what_the_clouds_refuse(project: Path, tmp_path: Path) -> None:
    # A plan as it was before issue 15: secrets created unguarded, one backend for every
    # environment without -reconfigure. The simulator must fail it, or the test above proves
    # nothing.
    clouds = Clouds(tmp_path)
    script = tmp_path / "old.sh"
    script.write_text(
        "set -euo pipefail\n"
        "gcloud services enable secretmanager.googleapis.com storage.googleapis.com\n"
        "gcloud storage buckets create gs://b\n"
        "gcloud secrets create s --replication-policy=automatic\n"
        "terraform -chdir=t init -backend-config=bucket=b\n"
    )
    assert clouds.run(script, tmp_path, "", **ENV).returncode == 0
    again = clouds.run(script, tmp_path, "", **ENV)
    assert again.returncode == 1 and "already exists" in again.stderr
    other = tmp_path / "other.sh"
    other.write_text("terraform -chdir=t init -backend-config=bucket=c\n")
    changed = clouds.run(other, tmp_path, "", **ENV)
    assert changed.returncode == 1 and "Backend configuration changed" in changed.stderr
