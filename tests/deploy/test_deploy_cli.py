"""`cloudmcp deploy render` and `cloudmcp deploy plan` through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_support import EXAMPLES

from cloudmcp.cli import main


def test_render_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deploy"
    code = main(
        ["deploy", "render", "--config", str(EXAMPLES / "cloudmcp.toml"), "--out", str(out)]
    )
    assert code == 0
    written = {Path(line).relative_to(out).as_posix() for line in capsys.readouterr().out.split()}
    assert {
        "Dockerfile",
        ".dockerignore",
        "cloudbuild.yaml",
        "template.yaml",
        "terraform/dns_failover.tf",
        "terraform/staging.tfvars",
        "terraform/production.tfvars",
    } <= written
    assert all((out / name).is_file() for name in written)


def test_render_reports_a_bad_config_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cloudmcp.toml"
    config.write_text('[service]\nname = "x1"\napp = "a:b"\n[gcp]\nproject = "acme-x1"\n')
    code = main(["deploy", "render", "--config", str(config), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "gcp.region: required key is missing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _plan(config: str, env: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["deploy", "plan", "--config", str(EXAMPLES / config), "--env", env]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line and line[0] != "#"]


def _index(lines: list[str], prefix: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(prefix))


def test_plan_prints_terraform_gcloud_and_docker_commands_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = _plan("cloudmcp.toml", "staging", capsys)
    order = [
        _index(lines, "gcloud secrets create weather-mcp-redis-url --project=acme-mcp-staging"),
        _index(lines, "terraform -chdir=deploy/terraform init"),
        _index(lines, "terraform -chdir=deploy/terraform workspace select -or-create staging"),
        _index(lines, "terraform -chdir=deploy/terraform apply -var-file=staging.tfvars"),
        _index(lines, "gcloud builds submit --project=acme-mcp-staging"),
        _index(lines, "docker push"),
        _index(lines, "cloudmcp probe https://mcp-staging.example.com/mcp"),
    ]
    assert order == sorted(order)
    first_build = lines[order[4]]
    assert "_DEPLOY=false" in first_build and "COMMIT_SHA=$SHA" in first_build
    assert not any(line.startswith("sam ") for line in lines)  # Terraform releases Lambda here


def test_plan_uses_sam_when_sam_releases_the_lambda(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _plan("minimal.toml", "production", capsys)
    validate = _index(lines, "sam validate --lint")
    deploy = _index(lines, "sam deploy")
    assert _index(lines, "terraform -chdir=deploy/terraform apply") < validate < deploy
    assert "Stage=production" in lines[deploy] and "--capabilities CAPABILITY_IAM" in lines[deploy]


def test_plan_rejects_an_unknown_environment(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["deploy", "plan", "--config", str(EXAMPLES / "cloudmcp.toml"), "--env", "qa"])
    assert code == 2
    assert "qa: is not an environment" in capsys.readouterr().err


def test_deploy_module_keeps_heavy_imports_out_of_registration() -> None:
    import subprocess
    import sys

    code = (
        "import sys, argparse, cloudmcp.deploy.cli as c; "
        "c.register(argparse.ArgumentParser().add_subparsers()); "
        "print(sorted(m for m in sys.modules if m.startswith('cloudmcp.deploy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['cloudmcp.deploy', 'cloudmcp.deploy.cli']"
