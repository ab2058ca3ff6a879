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
    "gcp_redis.tf": "managed_redis",
    "monitoring_gcp.tf": None,
    "aws_ecr.tf": "aws",
    "aws_release.tf": "aws",
    "aws_redis.tf": "aws_managed_redis",
    "aws_iam.tf": "lambda",
    "aws_lambda.tf": "lambda",
    "aws_api_gateway.tf": "lambda",
    "monitoring_aws.tf": "aws_monitoring",
    "dns_failover.tf": "domain",
}


def feature_flags(config: DeployConfig) -> dict[str, bool]:
    aws = config.aws
    lambda_ = aws is not None and aws.deployer == "terraform"
    managed = config.redis is not None and config.redis.managed
    return {
        "aws": aws is not None,
        "lambda": lambda_,
        "sam": aws is not None and aws.deployer == "sam",
        "domain": config.domain is not None,
        "redis": config.redis is not None,
        "managed_redis": managed,
        "aws_managed_redis": managed and aws is not None,
        "probe_secret": "API_KEYS" in config.secrets,
        "cloud_armor": config.security.cloud_armor,
        "email": config.alarms.email is not None,
        "function_url": lambda_ and aws is not None and aws.function_url != "off",
        "function_url_public": lambda_ and aws is not None and aws.function_url == "NONE",
        "cors": bool(config.cors.allowed_origins),
        "aws_monitoring": lambda_ or config.domain is not None,
    }


def _outputs(flags: dict[str, bool]) -> str:
    outputs = [
        ("cloud_run_service", "google_cloud_run_v2_service.mcp.name", "Cloud Run service name."),
        ("cloud_run_url", "google_cloud_run_v2_service.mcp.uri", "Cloud Run's own URL."),
        ("run_service_account", "google_service_account.run.email", "Identity of revisions."),
        ("artifact_registry_image", "local.image", "Image path Cloud Build pushes to."),
        (
            "build_service_account",
            "google_service_account.build.email",
            "Identity Cloud Build releases as (gcloud builds submit --service-account).",
        ),
    ]
    if flags["aws"]:
        outputs.append(
            (
                "ecr_repository_url",
                "aws_ecr_repository.images.repository_url",
                "ECR repository the Lambda image is copied to.",
            )
        )
    if flags["aws"]:
        outputs.append(
            ("aws_release_role", "aws_iam_role.release.arn", "Role the pipeline acts as in AWS.")
        )
    if flags["lambda"]:
        outputs.append(
            (
                "lambda_candidate_url",
                "aws_lambda_function_url.candidate.function_url",
                "Where a new version is probed before the live alias moves.",
            )
        )
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

## One state per environment

Each environment has its own state (a prefix in the versioned bucket of its project) and its
own var file; `-reconfigure` lets one checkout switch between them:

    terraform init -reconfigure -backend-config=bucket=<project>-tfstate \\
      -backend-config=prefix=cloudmcp/@{service_name}/<environment>
    terraform apply -var-file=<environment>.tfvars -var image_tag=$(git rev-parse HEAD)

## Releases, traffic and rollback

Terraform creates the services; it never moves traffic. The release pipeline (cloudbuild.yaml
running release/release.py) deploys a new revision and Lambda version, probes each, moves
traffic in steps and rolls back on a failed probe or alarm. Cloud Run traffic and tags and the
Lambda aliases' versions are in `ignore_changes`, so an apply never undoes a release. To roll
back by hand: `gcloud run services update-traffic <service> --to-revisions=<previous>=100`, or
`aws lambda update-alias --function-name <function> --name live --function-version <previous>
--routing-config AdditionalVersionWeights={}`.

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
        files[f"{env.name}.tfvars"] = render_tfvars(config, env, flags)
    files["README.md"] = render_template(README, flags, values)
    return files
