"""Helpers for the deploy tests: rendered configs and the offline validators.

The validators live in their own venvs under .tools/ (`make tools`, or
`bash scripts/install-tools.sh`); the tests run them as subprocesses, never import them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloudmcp.deploy.config import DeployConfig, load_config
from cloudmcp.deploy.render import render_to

ROOT = Path(__file__).resolve().parents[2]
VALIDATORS = ROOT / ".tools" / "validators" / "bin"
EXAMPLES = ROOT / "examples" / "deploy"
HERE = Path(__file__).resolve().parent

# name -> (config file, environment the files default to)
CONFIGS = {
    "full": (EXAMPLES / "cloudmcp.toml", "staging"),
    "minimal": (EXAMPLES / "minimal.toml", "production"),
    "pyproject": (HERE / "configs" / "pyproject.toml", "production"),
    "sam-rest": (HERE / "configs" / "sam-rest.toml", "staging"),
    "terraform-url": (HERE / "configs" / "terraform-url.toml", "production"),
}


@dataclass(frozen=True)
class Rendered:
    name: str
    config: DeployConfig
    config_path: Path
    environment: str
    out: Path

    @property
    def terraform(self) -> Path:
        return self.out / "terraform"


def validator(tool: str) -> Path:
    path = VALIDATORS / tool
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools` (scripts/install-tools.sh) first")
    return path


def offline_env(region: str = "us-east-1") -> dict[str, str]:
    """No cloud credentials reach a validator; tools that want a region get a fixed one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "CLOUDSDK"))}
    env.update(
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def run(
    tool: str,
    *args: str | Path,
    region: str = "us-east-1",
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(validator(tool)), *map(str, args)],
        capture_output=True,
        text=True,
        env=offline_env(region),
        cwd=cwd,
        timeout=timeout,
    )


def render(name: str, out: Path) -> Rendered:
    """Render as a user would: the config at the project root, the files in `deploy/` inside it."""
    path, environment = CONFIGS[name]
    project = out / "project"
    project.mkdir(parents=True, exist_ok=True)
    copied = project / path.name
    shutil.copyfile(path, copied)
    config = load_config(copied)
    render_to(config, copied, project / "deploy", environment)
    return Rendered(name, config, copied, environment, project / "deploy")


def sam_transform(template: Path, out: Path, region: str) -> subprocess.CompletedProcess[str]:
    """The real SAM transform, offline: see sam_transform.py."""
    return run("python", HERE / "sam_transform.py", template, out, region=region)


def hcl_module(directory: Path) -> list[dict[str, Any]]:
    """Every .tf file of a module as python-hcl2 parses it."""
    result = run("hcl2tojson", "--ndjson", "-q", directory)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def hcl_file(path: Path) -> dict[str, Any]:
    result = run("hcl2tojson", "-q", path)
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def yaml_file(path: Path) -> Any:
    """YAML parsed by PyYAML in the validators venv (the project itself does not depend on it)."""
    script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
    result = run("python", "-c", script, path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


SCHEMAS = ROOT / ".tools" / "schemas"
PROVIDERS = {"aws": "@cdktf/provider-aws", "google": "@cdktf/provider-google"}


def provider_schemas() -> dict[str, Any]:
    """The providers' schemas from the CDKTF packages' .jsii files, extracted once per lock."""
    from cloudmcp.deploy.terraform.schemas import extract, load_schemas

    lock = ROOT / "tools" / "schemas" / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    paths = []
    for name, package in PROVIDERS.items():
        jsii = SCHEMAS / "node_modules" / package / ".jsii"
        if not jsii.exists():
            pytest.fail(f"{jsii} is missing: run `make tools` (scripts/install-tools.sh) first")
        cached = SCHEMAS / f"{name}-{digest}.schema.json"
        if not cached.exists():
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(extract(json.loads(jsii.read_text()))))
            partial.replace(cached)
        paths.append(cached)
    return load_schemas(paths)
