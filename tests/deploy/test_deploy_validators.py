"""Every rendered config passes the real offline validators with zero findings.

SAM: aws-sam-translator's transform, then cfn-lint on its output. Terraform: python-hcl2 and
our reference check. checkov on the Terraform, SAM template and Dockerfile. hadolint on the
Dockerfile. check-jsonschema's Cloud Build schema on cloudbuild.yaml.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from deploy_support import (
    Rendered,
    hcl_file,
    hcl_module,
    run,
    sam_transform,
)

from cloudmcp.deploy.terraform.references import check_module, check_var_file

# Runs the validators (checkov over every config takes minutes): integration and slow.
pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Variables the plan passes with -var instead of a var file.
SUPPLIED_ON_COMMAND_LINE = ("image_tag",)


def test_cloudbuild_matches_the_cloud_build_schema(rendered: Rendered) -> None:
    result = run(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.cloudbuild",
        rendered.out / "cloudbuild.yaml",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_finds_nothing(rendered: Rendered) -> None:
    result = run("hadolint", "--no-color", rendered.out / "Dockerfile")
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_sam_transform_then_cfn_lint_has_zero_errors(rendered: Rendered, tmp_path: Path) -> None:
    if rendered.config.aws is None or rendered.config.aws.deployer != "sam":
        # template.yaml only when SAM deploys the Lambda side.
        assert not (rendered.out / "template.yaml").exists()
        return
    region = rendered.config.aws.region
    transformed = tmp_path / "transformed.json"
    result = sam_transform(rendered.out / "template.yaml", transformed, region)
    assert result.returncode == 0, result.stderr
    document = json.loads(transformed.read_text())
    assert "Transform" not in document
    # The function, its live alias and the CodeDeploy group only exist after a real transform.
    types = {resource["Type"] for resource in document["Resources"].values()}
    assert {
        "AWS::Lambda::Function",
        "AWS::Lambda::Alias",
        "AWS::CodeDeploy::DeploymentGroup",
    } <= types
    lint = run("cfn-lint", "--regions", region, "--format", "parseable", "--", transformed)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout.strip() == ""


def test_cfn_lint_serverless_rules_find_nothing(rendered: Rendered) -> None:
    template = rendered.out / "template.yaml"
    if not template.exists():
        return  # Terraform deploys the Lambda side: checked by the schema and checkov tests
    region = rendered.config.aws.region  # type: ignore[union-attr]
    lint = run(
        "cfn-lint", "--regions", region, "--format", "parseable",
        "--append-rules", "cfn_lint_serverless.rules", "--", template,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_cfn_lint_serverless_rules_run(tmp_path: Path) -> None:
    # Proves the serverless rules are loaded: a function without a log group and retention.
    template = tmp_path / "template.yaml"
    template.write_text(
        json.dumps(
            {
                "Transform": "AWS::Serverless-2016-10-31",
                "Resources": {
                    "Fn": {
                        "Type": "AWS::Serverless::Function",
                        "Properties": {
                            "PackageType": "Image",
                            "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1",
                        },
                    }
                },
            }
        )
    )
    lint = run(
        "cfn-lint", "--regions", "us-east-1", "--format", "parseable",
        "--append-rules", "cfn_lint_serverless.rules", "--", template,
    )  # fmt: skip
    assert lint.returncode != 0 and "WS1004" in lint.stdout


def test_sam_transform_rejects_an_invalid_template(tmp_path: Path) -> None:
    # Proves the transform really runs: cfn-lint alone (>= 1.54) would accept this AuthType.
    template = tmp_path / "template.yaml"
    template.write_text(
        json.dumps(
            {
                "Transform": "AWS::Serverless-2016-10-31",
                "Resources": {
                    "Fn": {
                        "Type": "AWS::Serverless::Function",
                        "Properties": {
                            "PackageType": "Image",
                            "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1",
                            "FunctionUrlConfig": {"AuthType": "PUBLIC"},
                        },
                    }
                },
            }
        )
    )
    result = sam_transform(template, tmp_path / "out.json", "us-east-1")
    assert result.returncode == 1
    assert "AuthType" in result.stderr


def test_terraform_parses_and_every_reference_resolves(rendered: Rendered) -> None:
    documents = hcl_module(rendered.terraform)
    names = {Path(d["__file__"]).name for d in documents}
    assert {"versions.tf", "variables.tf", "outputs.tf", "gcp_cloud_run.tf"} <= names
    assert check_module(documents) == []
    for name in rendered.config.environments:
        values = hcl_file(rendered.terraform / f"{name}.tfvars")
        problems = check_var_file(f"{name}.tfvars", values, documents, SUPPLIED_ON_COMMAND_LINE)
        assert problems == []


def test_reference_check_fails_on_a_dangling_reference(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "region" {\n  type = string\n}\n\n'
        'locals {\n  name = "mcp-${var.region}"\n}\n\n'
        'resource "aws_sns_topic" "alarms" {\n'
        "  name = local.name\n"
        "  # the role is never defined, nor is var.missing or the us_west_2 provider alias\n"
        "  tags = { role = aws_iam_role.lambda.arn, other = var.missing }\n"
        "  provider = aws.us_west_2\n"
        "}\n\n"
        'output "topic" {\n  value = aws_sns_topic.alarms.arn\n}\n'
    )
    problems = {(p.reference, p.message) for p in check_module(hcl_module(tmp_path))}
    assert problems == {
        ("aws_iam_role.lambda.arn", "undefined resource"),
        ("var.missing", "undeclared variable"),
        ("aws.us_west_2", "undefined provider alias"),
    }


def test_reference_check_fails_on_a_dangling_reference_in_rendered_terraform(
    tmp_path: Path,
) -> None:
    from deploy_support import render

    result = render("full", tmp_path / "out")
    cloud_run = result.terraform / "gcp_cloud_run.tf"
    # Drop the service account the service runs as: its reference is now dangling.
    (result.terraform / "gcp_iam.tf").unlink()
    text = cloud_run.read_text()
    assert "google_service_account.run.email" in text
    problems = check_module(hcl_module(result.terraform))
    assert any(p.reference.startswith("google_service_account.run") for p in problems)


@pytest.fixture(scope="module")
def checkov_report(rendered: Rendered, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """checkov once per rendered config, over the whole output (it is the slow validator)."""
    # Scan a copy holding only what is deployed (not the var files' README).
    target = tmp_path_factory.mktemp(f"checkov-{rendered.name}")
    shutil.copytree(rendered.out, target, dirs_exist_ok=True)
    result = run(
        "checkov",
        "--directory",
        target,
        "--framework",
        "terraform",
        "cloudformation",
        "dockerfile",
        "--skip-download",
        "--compact",
        "--output",
        "json",
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_has_no_failed_checks(checkov_report: Any, rendered: Rendered) -> None:
    frameworks = {section["check_type"] for section in checkov_report}
    sam = (rendered.out / "template.yaml").exists()
    expected = {"terraform", "dockerfile"} | ({"cloudformation"} if sam else set())
    assert expected <= frameworks
    failed = [
        (section["check_type"], check["check_id"], check["resource"], check["file_path"])
        for section in checkov_report
        for check in section["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(map(str, failed))
    for section in checkov_report:
        assert section["summary"]["parsing_errors"] == 0
        assert section["summary"]["passed"] > 0


def test_every_checkov_skip_gives_a_reason(checkov_report: Any) -> None:
    for section in checkov_report:
        for check in section["results"]["skipped_checks"]:
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason.strip()) > 15, (check["check_id"], check["resource"], reason)
