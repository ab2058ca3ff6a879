"""`cloudmcp deploy render` and `cloudmcp deploy plan` through the real command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from deploy_support import EXAMPLES

from cloudmcp.cli import main


def test_render_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "cloudmcp.toml"
    shutil.copyfile(EXAMPLES / "cloudmcp.toml", config)
    out = tmp_path / "deploy"
    code = main(["deploy", "render", "--config", str(config), "--out", str(out)])
    assert code == 0
    written = {Path(line).relative_to(out).as_posix() for line in capsys.readouterr().out.split()}
    assert {
        "Dockerfile",
        ".dockerignore",
        "cloudbuild.yaml",
        "release/release.py",
        "release/cloudmcp/ops/probe.py",
        "terraform/dns_failover.tf",
        "terraform/staging.tfvars",
        "terraform/production.tfvars",
    } <= written
    assert all((out / name).is_file() for name in written)
    # Terraform releases the Lambda in this config: no SAM template to mislead anyone.
    assert "template.yaml" not in written


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


def test_plan_prints_bootstrap_infrastructure_and_release_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = _plan("cloudmcp.toml", "staging", capsys)
    order = [
        _index(lines, "cd "),
        _index(lines, "gcloud projects describe acme-mcp-staging"),
        _index(lines, "gcloud services enable"),
        _index(lines, "gcloud storage buckets describe gs://acme-mcp-staging-tfstate"),
        _index(lines, "gcloud secrets describe weather-mcp-api-keys-staging"),
        _index(lines, "terraform -chdir=deploy/terraform init -reconfigure"),
        _index(lines, "terraform -chdir=deploy/terraform apply -input=false -var-file=staging"),
        _index(lines, "gcloud builds submit --project=acme-mcp-staging"),
        _index(lines, "cloudmcp probe https://mcp-staging.example.com/mcp"),
    ]
    assert order == sorted(order)
    first_build = lines[order[7]]
    assert "_DEPLOY=false" in first_build and "COMMIT_SHA=$SHA" in first_build
    assert "--service-account=projects/acme-mcp-staging/serviceAccounts/" in first_build
    assert not any(line.startswith(("sam ", "docker ")) for line in lines)


def test_plan_releases_the_sam_stack_in_the_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _plan("minimal.toml", "production", capsys)
    builds = [line for line in lines if line.startswith("gcloud builds submit")]
    assert len(builds) == 2 and "_AWS_ACCOUNT_ID=$AWS_ACCOUNT_ID" in builds[-1]
    # sam deploy runs inside cloudbuild.yaml (the AWS half of the same pipeline), not locally.
    assert not any(line.startswith("sam ") for line in lines)


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
