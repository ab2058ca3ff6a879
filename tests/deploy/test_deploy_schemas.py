"""The rendered Terraform against the providers' own schemas (the CDKTF packages' .jsii files).

Every resource and data source type exists in the pinned provider version, every argument and
block (nested ones too) is one the schema has, and every required one is present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deploy_support import Rendered, hcl_file, hcl_module, provider_schemas

from cloudmcp.deploy.terraform.schemas import check_module


@pytest.fixture(scope="session")
def schemas() -> dict[str, Any]:
    return provider_schemas()


def test_every_resource_argument_and_block_is_in_the_provider_schema(
    rendered: Rendered, schemas: dict[str, Any]
) -> None:
    problems = check_module(hcl_module(rendered.terraform), schemas)
    assert [str(p) for p in problems] == []


def test_provider_versions_are_pinned_to_the_schemas_checked(rendered: Rendered) -> None:
    terraform = hcl_file(rendered.terraform / "versions.tf")["terraform"][0]
    (providers,) = terraform["required_providers"]
    pins = {
        name: (value["source"].strip('"'), value["version"].strip('"'))
        for name, value in providers.items()
        if not name.startswith("__")
    }
    expected = {"google": ("hashicorp/google", "6.50.0")}
    if rendered.config.aws is not None:
        expected["aws"] = ("hashicorp/aws", "6.25.0")
    assert pins == expected


def test_schema_check_finds_each_kind_of_mistake(tmp_path: Path, schemas: dict[str, Any]) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "google_cloud_run_v2_service" "mcp" {\n'
        '  name = "x"\n'
        "  template {\n"
        "    containers {\n"
        '      imgae = "x"\n'  # misspelt, so the required `image` is missing too
        "    }\n"
        "    scaling {\n"
        "      min_instances = 1\n"  # the v1 name: v2 says min_instance_count
        "    }\n"
        "  }\n"
        "}\n\n"
        'resource "aws_lambda_alias" "live" {\n'
        '  name = "live"\n'
        '  function_name = "f"\n'
        '  function_version = "1"\n'
        '  dynamic "routing" {\n'
        "    for_each = []\n"
        "    content {}\n"
        "  }\n"
        "}\n\n"
        'resource "aws_lambda_functionurl" "x" {\n'
        '  function_name = "f"\n'
        "}\n"
    )
    problems = {(p.reference, p.message) for p in check_module(hcl_module(tmp_path), schemas)}
    assert problems == {
        ("google_cloud_run_v2_service.mcp.location", "required argument is missing"),
        ("google_cloud_run_v2_service.mcp.template.containers.imgae", "no such argument"),
        (
            "google_cloud_run_v2_service.mcp.template.containers.image",
            "required argument is missing",
        ),
        ("google_cloud_run_v2_service.mcp.template.scaling.min_instances", "no such argument"),
        ("aws_lambda_alias.live.routing", "no such block (dynamic)"),
        ("aws_lambda_functionurl.x", "unknown resource type"),
    }
