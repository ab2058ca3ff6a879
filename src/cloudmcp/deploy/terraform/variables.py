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
from cloudmcp.deploy.names import build_service_account_id, secret_bases
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
            "Environment variable name to base secret id; each environment reads <id>-<environment>"
            " in Secret Manager and Secrets Manager.",
            _user_secret_bases(config),
        ),
        Variable(
            "build_service_account_id",
            "string",
            "Account id of the service account Cloud Build releases this environment as.",
            validations=[
                (
                    'can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.build_service_account_id))',
                    "build_service_account_id is 6 to 30 lowercase letters, digits, hyphens.",
                )
            ],
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
    if flags["managed_redis"] and config.redis is not None:
        redis = config.redis
        found += [
            Variable(
                "redis_gcp_tier",
                "string",
                "Memorystore tier: STANDARD_HA fails over to a replica in another zone.",
                redis.gcp_tier,
                [
                    (
                        'contains(["BASIC", "STANDARD_HA"], var.redis_gcp_tier)',
                        "BASIC or STANDARD_HA.",
                    )
                ],
            ),
            Variable(
                "redis_gcp_memory_gb", "number", "Memorystore size (GB).", redis.gcp_memory_gb
            ),
            Variable(
                "redis_gcp_cidr",
                "string",
                "Range of the subnetwork Cloud Run egresses to Memorystore from.",
                redis.gcp_cidr,
                [("can(cidrhost(var.redis_gcp_cidr, 0))", "redis_gcp_cidr is a CIDR range.")],
            ),
        ]
        if flags["aws"]:
            found.append(
                Variable(
                    "redis_aws_vpc_cidr",
                    "string",
                    "Range of the VPC the Lambda and ElastiCache share.",
                    redis.aws_vpc_cidr,
                    [("can(cidrhost(var.redis_aws_vpc_cidr, 0))", "redis_aws_vpc_cidr is a CIDR.")],
                )
            )
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
                "Concurrent executions reserved for (and capping) the function; -1 for none.",
                -1 if aws.reserved_concurrency is None else aws.reserved_concurrency,
                [
                    (
                        "var.lambda_reserved_concurrency == -1 || "
                        "var.lambda_reserved_concurrency >= 1",
                        "lambda_reserved_concurrency is -1 (none) or at least 1.",
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
    if flags["cloud_armor"]:
        found.append(
            Variable(
                "rate_limit_per_minute",
                "number",
                "Requests per client IP per minute before Cloud Armor answers 429.",
                config.security.rate_limit_per_minute,
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


def _user_secret_bases(config: DeployConfig) -> dict[str, str]:
    bases = secret_bases(config)
    if config.redis is not None and config.redis.managed:
        bases.pop("REDIS_URL")
    return bases


def render_variables(variables: list[Variable]) -> str:
    return "\n\n".join(variable.render() for variable in variables) + "\n"


def render_tfvars(config: DeployConfig, env: EnvironmentSettings, flags: dict[str, bool]) -> str:
    values: dict[str, Any] = {
        "environment": env.name,
        "gcp_project": env.gcp_project,
        "memory": env.memory,
        "cpu": env.cpu,
        "min_instances": env.min_instances,
        "max_instances": env.max_instances,
        "env_vars": env.env_vars,
        "build_service_account_id": build_service_account_id(config, env.name),
    }
    if flags["lambda"]:
        values["lambda_memory_mb"] = env.memory_mib
    if flags["domain"] and env.domain:
        values["domain_name"] = env.domain
    width = max(len(key) for key in values)
    lines = [
        f"# {env.name}: `cloudmcp deploy plan --env {env.name}` prints its init and apply commands",
    ]
    lines += [f"{key:<{width}} = {literal(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"
