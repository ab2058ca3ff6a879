"""Terraform for both clouds, a file per concern, rendered from the deploy config.

The .tf templates beside this module are plain Terraform with `# @if flag` blocks for the
optional parts (AWS, the custom domain and its failover DNS, Redis, ...); variables.tf and the
per-environment .tfvars are written from the config.
"""

from __future__ import annotations

from importlib import resources

from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.environments import all_environments
from cloudmcp.deploy.templating import render_template
from cloudmcp.deploy.terraform.variables import declare_variables, render_tfvars, render_variables

# Template file -> the flag that must be on for it to be rendered (None: always).
FILES: dict[str, str | None] = {
    "versions.tf": None,
    "locals.tf": None,
    "gcp_services.tf": None,
    "gcp_artifact_registry.tf": None,
    "gcp_iam.tf": None,
    "gcp_cloud_run.tf": None,
    "gcp_load_balancer.tf": "domain",
    "monitoring_gcp.tf": None,
    "aws_ecr.tf": "aws",
    "aws_iam.tf": "lambda",
    "aws_lambda.tf": "lambda",
    "aws_api_gateway.tf": "lambda",
    "monitoring_aws.tf": "aws_monitoring",
    "dns_failover.tf": "domain",
}


def feature_flags(config: DeployConfig) -> dict[str, bool]:
    aws = config.aws
    lambda_ = aws is not None and aws.deployer == "terraform"
    return {
        "aws": aws is not None,
        "lambda": lambda_,
        "domain": config.domain is not None,
        "redis": config.redis is not None,
        "email": config.alarms.email is not None,
        "function_url": lambda_ and aws is not None and aws.function_url != "off",
        "cors": bool(config.cors.allowed_origins),
        "aws_monitoring": lambda_ or config.domain is not None,
    }


def _outputs(flags: dict[str, bool]) -> str:
    outputs = [
        ("cloud_run_service", "google_cloud_run_v2_service.mcp.name", "Cloud Run service name."),
        ("cloud_run_url", "google_cloud_run_v2_service.mcp.uri", "Cloud Run's own URL."),
        ("run_service_account", "google_service_account.run.email", "Identity of revisions."),
        ("artifact_registry_image", "local.image", "Image path Cloud Build pushes to."),
    ]
    if flags["aws"]:
        outputs.append(
            (
                "ecr_repository_url",
                "aws_ecr_repository.images.repository_url",
                "ECR repository the Lambda image is copied to.",
            )
        )
    if flags["lambda"]:
        outputs += [
            ("lambda_function_name", "aws_lambda_function.mcp.function_name", "Lambda function."),
            ("lambda_alias_arn", "aws_lambda_alias.live.arn", "The live alias API Gateway calls."),
            (
                "lambda_latest_version",
                "aws_lambda_function.mcp.version",
                "Newest published version (a blue/green candidate).",
            ),
            (
                "http_api_endpoint",
                "aws_apigatewayv2_api.mcp.api_endpoint",
                "HTTP API's own URL (append /mcp).",
            ),
        ]
    if flags["function_url"]:
        outputs.append(
            (
                "function_url",
                "aws_lambda_function_url.live.function_url",
                "Function URL of the live alias.",
            )
        )
    if flags["domain"]:
        outputs += [
            (
                "public_mcp_url",
                '"https://${var.domain_name}/mcp"',
                "The one public MCP endpoint (failover between clouds).",
            ),
            (
                "load_balancer_ip",
                "google_compute_global_address.mcp.address",
                "Primary's address (the PRIMARY failover record).",
            ),
            (
                "primary_health_check_id",
                "aws_route53_health_check.primary.id",
                "Route 53 health check on the primary.",
            ),
        ]
    blocks = [
        f'output "{name}" {{\n  description = "{description}"\n  value       = {value}\n}}'
        for name, value, description in outputs
    ]
    return "\n\n".join(blocks) + "\n"


README = """\
# Terraform for @{service_name}

Rendered by `cloudmcp deploy render`; change the config and render again rather than editing.
One file per concern: `gcp_*.tf` (Cloud Run, service account, Artifact Registry, secrets
access, load balancer), `aws_*.tf` (ECR, IAM, Lambda and its alias, HTTP API, custom domain and
ACM certificate), `dns_failover.tf` (Route 53 health check and PRIMARY/SECONDARY records),
`monitoring_*.tf` (alert policies, CloudWatch alarms, notification channel, SNS).

## Workspaces: one state per environment

Each environment is a workspace with its own state and its own var file:

    terraform init -backend-config=bucket=<state bucket>
    terraform workspace select -or-create staging
    terraform apply -var-file=staging.tfvars -var image_tag=$(git rev-parse HEAD)

`terraform workspace list` shows them; `terraform workspace show` tells which one is
selected before you apply. Never apply one environment's var file in another's workspace:
resource names carry `var.environment`, so a mismatch would plan to replace everything.

## Blue/green

- Cloud Run: set `cloud_run_stable_revision` to the revision to keep and
  `cloud_run_latest_percent` to the share the latest revision gets; clear the revision to
  send everything to the latest.
- Lambda: `lambda_live_version` pins the `live` alias; `lambda_canary_version` and
  `lambda_canary_weight` route a share of requests to another published version.

Secrets are referenced by id only (`data` sources and `secret_key_ref`); create them and their
values with gcloud and the aws CLI, never here, so no secret reaches state.
"""


def render_terraform(config: DeployConfig) -> dict[str, str]:
    flags = feature_flags(config)
    values = {"service_name": config.service.name}
    package = resources.files("cloudmcp.deploy.terraform") / "templates"
    files: dict[str, str] = {}
    for name, flag in FILES.items():
        if flag is None or flags[flag]:
            text = (package / name).read_text(encoding="utf-8")
            files[name] = render_template(text, flags, values)
    files["variables.tf"] = render_variables(declare_variables(config, flags))
    files["outputs.tf"] = _outputs(flags)
    for env in all_environments(config):
        files[f"{env.name}.tfvars"] = render_tfvars(env, flags)
    files["README.md"] = render_template(README, flags, values)
    return files
