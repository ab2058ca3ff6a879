"""variables.tf and the per-environment .tfvars files.

Values that are the same in every environment become variable defaults; values an
environment overrides are left without a default and set in `<environment>.tfvars`, so a
workspace applied without its var file fails at once instead of deploying the wrong sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.environments import EnvironmentSettings
from cloudmcp.deploy.terraform.hcl import literal

_NO_DEFAULT = object()


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    description: str
    default: Any = _NO_DEFAULT
    validations: list[tuple[str, str]] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f'variable "{self.name}" {{',
            f"  type        = {self.type}",
            f"  description = {literal(self.description)}",
        ]
        if self.default is not _NO_DEFAULT:
            lines.append(f"  default     = {literal(self.default, 2)}")
        for condition, message in self.validations:
            lines += [
                "",
                "  validation {",
                f"    condition     = {condition}",
                f"    error_message = {literal(message)}",
                "  }",
            ]
        lines.append("}")
        return "\n".join(lines)


def _percent(name: str) -> tuple[str, str]:
    return (f"var.{name} >= 0 && var.{name} <= 100", f"{name} is a percentage, 0 to 100.")


def declare_variables(config: DeployConfig, flags: dict[str, bool]) -> list[Variable]:
    resources = config.resources
    alarms = config.alarms
    dns_label = r"^[a-z]([a-z0-9-]*[a-z0-9])?$"
    found: list[Variable] = [
        Variable(
            "environment",
            "string",
            "Environment this workspace deploys (one .tfvars each).",
            validations=[
                (
                    f"can(regex({literal(dns_label)}, var.environment))",
                    "environment is a lowercase DNS label.",
                )
            ],
        ),
        Variable(
            "service_name",
            "string",
            "Service name; prefixes every resource name.",
            config.service.name,
            [
                (
                    f"can(regex({literal(dns_label)}, var.service_name))",
                    "service_name is a lowercase DNS label.",
                )
            ],
        ),
        Variable(
            "app_target",
            "string",
            "The MCPApp the image serves (module:attr or file.py).",
            config.service.app,
        ),
        Variable(
            "image_tag",
            "string",
            "Image tag to deploy: the full commit SHA Cloud Build tagged the image with.",
            validations=[
                (
                    'can(regex("^[0-9a-f]{7,40}$", var.image_tag))',
                    "image_tag is a commit SHA (7 to 40 hex characters).",
                )
            ],
        ),
        Variable("gcp_project", "string", "Google Cloud project of this environment."),
        Variable(
            "gcp_region", "string", "Cloud Run and Artifact Registry region.", config.gcp.region
        ),
        Variable(
            "artifact_repository",
            "string",
            "Artifact Registry repository id prefix (the environment is appended).",
            config.gcp.artifact_repository,
        ),
        Variable(
            "memory",
            "string",
            "Memory per Cloud Run instance, such as 512Mi or 1Gi.",
            validations=[
                (
                    'can(regex("^[1-9][0-9]*(Mi|Gi)$", var.memory))',
                    "memory is a size such as 512Mi or 1Gi.",
                )
            ],
        ),
        Variable(
            "cpu",
            "number",
            "vCPUs per Cloud Run instance.",
            validations=[("contains([1, 2, 4, 6, 8], var.cpu)", "cpu is one of 1, 2, 4, 6, 8.")],
        ),
        Variable(
            "min_instances",
            "number",
            "Instances kept warm (0 allows scale to zero).",
            validations=[("var.min_instances >= 0", "min_instances cannot be negative.")],
        ),
        Variable(
            "max_instances",
            "number",
            "Upper bound on Cloud Run instances.",
            validations=[("var.max_instances >= 1", "max_instances is at least 1.")],
        ),
        Variable(
            "concurrency",
            "number",
            "Concurrent requests per Cloud Run instance.",
            resources.concurrency,
            [("var.concurrency >= 1 && var.concurrency <= 1000", "concurrency is 1 to 1000.")],
        ),
        Variable(
            "request_timeout_seconds",
            "number",
            "Request timeout; Lambda's timeout is the same, capped at 900.",
            resources.timeout,
            [
                (
                    "var.request_timeout_seconds >= 1 && var.request_timeout_seconds <= 3600",
                    "request_timeout_seconds is 1 to 3600.",
                )
            ],
        ),
        Variable(
            "health_path",
            "string",
            "Liveness path (also the failover health check).",
            config.service.health_path,
            [('startswith(var.health_path, "/")', "health_path starts with /.")],
        ),
        Variable(
            "ready_path",
            "string",
            "Readiness path (the startup probe).",
            config.service.ready_path,
            [('startswith(var.ready_path, "/")', "ready_path starts with /.")],
        ),
        Variable("env_vars", "map(string)", "Plain settings for the container; never secrets."),
        Variable(
            "secrets",
            "map(string)",
            "Environment variable name to secret id, in Secret Manager and Secrets Manager.",
            dict(config.secrets),
        ),
        Variable(
            "redis_secret",
            "string",
            "Secret id whose value is the Redis URL; empty when Redis is not used.",
            config.redis.secret if config.redis else "",
        ),
        Variable(
            "cloud_run_stable_revision",
            "string",
            "Blue/green: revision kept on the remaining traffic; empty sends all to latest.",
            "",
        ),
        Variable(
            "cloud_run_latest_percent",
            "number",
            "Blue/green: percent of traffic on the latest revision while a stable one is set.",
            100,
            [_percent("cloud_run_latest_percent")],
        ),
        Variable(
            "alarm_email",
            "string",
            "Address notified by every alarm; empty for none.",
            alarms.email or "",
        ),
        Variable(
            "error_rate_percent",
            "number",
            "Alert when 5xx exceed this share of requests.",
            alarms.error_rate_percent,
            [_percent("error_rate_percent")],
        ),
        Variable(
            "latency_p90_ms",
            "number",
            "Alert when p90 latency exceeds this (ms).",
            alarms.latency_p90_ms,
            [("var.latency_p90_ms > 0", "latency_p90_ms is positive.")],
        ),
    ]
    if flags["redis"]:
        found += [
            Variable(
                "redis_gcp_network",
                "string",
                "VPC network Cloud Run egresses into.",
                config.redis.gcp_network if config.redis else "",
            ),
            Variable(
                "redis_gcp_subnetwork",
                "string",
                "Subnetwork for Cloud Run egress.",
                config.redis.gcp_subnetwork if config.redis else "",
            ),
        ]
    if flags["aws"]:
        found.append(
            Variable(
                "aws_region",
                "string",
                "AWS region of the Lambda side.",
                config.aws.region if config.aws else "",
            )
        )
    if flags["lambda"]:
        aws = config.aws
        assert aws is not None  # nosec B101 - for mypy: validated when the config loads
        found += [
            Variable(
                "lambda_memory_mb",
                "number",
                "Lambda memory (MB); CPU scales with it.",
                validations=[
                    (
                        "var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240",
                        "lambda_memory_mb is 128 to 10240.",
                    )
                ],
            ),
            Variable(
                "lambda_reserved_concurrency",
                "number",
                "Concurrent executions reserved for (and capping) the function.",
                aws.reserved_concurrency,
                [
                    (
                        "var.lambda_reserved_concurrency >= 1",
                        "lambda_reserved_concurrency is at least 1.",
                    )
                ],
            ),
            Variable(
                "log_retention_days",
                "number",
                "Days CloudWatch keeps logs.",
                aws.log_retention_days,
                [
                    (
                        "contains([1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 400, 545, 731, 1827], "
                        "var.log_retention_days)",
                        "log_retention_days is a value CloudWatch Logs accepts.",
                    )
                ],
            ),
            Variable(
                "lambda_live_version",
                "string",
                "Blue/green: version the live alias serves; empty for the newest.",
                "",
                [
                    (
                        'can(regex("^([0-9]+)?$", var.lambda_live_version))',
                        "lambda_live_version is a published version number or empty.",
                    )
                ],
            ),
            Variable(
                "lambda_canary_version",
                "string",
                "Blue/green: version given lambda_canary_weight of requests; empty for none.",
                "",
                [
                    (
                        'can(regex("^([0-9]+)?$", var.lambda_canary_version))',
                        "lambda_canary_version is a published version number or empty.",
                    )
                ],
            ),
            Variable(
                "lambda_canary_weight",
                "number",
                "Blue/green: share of requests (0 to 1) the canary version gets.",
                0,
                [
                    (
                        "var.lambda_canary_weight >= 0 && var.lambda_canary_weight < 1",
                        "lambda_canary_weight is at least 0 and below 1.",
                    )
                ],
            ),
            Variable(
                "lambda_errors_threshold",
                "number",
                "Alarm at this many errors a minute.",
                alarms.lambda_errors,
            ),
            Variable(
                "lambda_throttles_threshold",
                "number",
                "Alarm at this many throttles a minute.",
                alarms.lambda_throttles,
            ),
        ]
        if flags["redis"] and config.redis is not None:
            found += [
                Variable(
                    "redis_aws_subnet_ids",
                    "list(string)",
                    "Subnets (with a route to Secrets Manager) the function runs in.",
                    config.redis.aws_subnet_ids,
                    [("length(var.redis_aws_subnet_ids) > 0", "give at least one subnet.")],
                ),
                Variable(
                    "redis_aws_security_group_ids",
                    "list(string)",
                    "Security groups allowed to reach ElastiCache.",
                    config.redis.aws_security_group_ids,
                    [
                        (
                            "length(var.redis_aws_security_group_ids) > 0",
                            "give at least one security group.",
                        )
                    ],
                ),
            ]
    if flags["function_url"] and config.aws is not None:
        found.append(
            Variable(
                "function_url_auth_type",
                "string",
                "Function URL auth type.",
                config.aws.function_url,
                [
                    (
                        'contains(["AWS_IAM", "NONE"], var.function_url_auth_type)',
                        "function_url_auth_type is AWS_IAM or NONE.",
                    )
                ],
            )
        )
    if flags["cors"]:
        found.append(
            Variable(
                "cors_allowed_origins",
                "list(string)",
                "Browser origins allowed by CORS.",
                config.cors.allowed_origins,
            )
        )
    if flags["domain"] and config.domain is not None:
        found += [
            Variable(
                "domain_name",
                "string",
                "Public hostname served by both clouds.",
                validations=[
                    (
                        'can(regex("^[a-z0-9.-]+$", var.domain_name))',
                        "domain_name is a bare hostname: no scheme, no path.",
                    )
                ],
            ),
            Variable(
                "dns_zone",
                "string",
                "Route 53 public hosted zone holding domain_name.",
                config.domain.zone,
            ),
        ]
    return found


def render_variables(variables: list[Variable]) -> str:
    return "\n\n".join(variable.render() for variable in variables) + "\n"


def render_tfvars(env: EnvironmentSettings, flags: dict[str, bool]) -> str:
    values: dict[str, Any] = {
        "environment": env.name,
        "gcp_project": env.gcp_project,
        "memory": env.memory,
        "cpu": env.cpu,
        "min_instances": env.min_instances,
        "max_instances": env.max_instances,
        "env_vars": env.env_vars,
    }
    if flags["lambda"]:
        values["lambda_memory_mb"] = env.memory_mib
    if flags["domain"] and env.domain:
        values["domain_name"] = env.domain
    width = max(len(key) for key in values)
    lines = [
        f"# {env.name}: terraform workspace select {env.name} && "
        f"terraform apply -var-file={env.name}.tfvars -var image_tag=<commit sha>",
    ]
    lines += [f"{key:<{width}} = {literal(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"
