"""The deployment config: one TOML document that every rendered artifact is made from.

Read from `cloudmcp.toml`, or from `[tool.cloudmcp]` in `pyproject.toml`. Decoding is strict
(unknown keys are errors) so a typo never silently falls back to a default; every error
names the dotted key it is about.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from cloudmcp.deploy.errors import ConfigError
from cloudmcp.deploy.stdio_image import StdioServer

# Cloud Run service names and most resource names built from it: a DNS label, short enough
# that suffixes such as "-lambda-exec" stay under AWS's 64-character IAM role limit.
ServiceName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")]
GcpProject = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
GcpRegion = Annotated[str, msgspec.Meta(pattern=r"^[a-z]+-[a-z]+[0-9]+$")]
AwsRegion = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")]
Hostname = Annotated[
    str,
    msgspec.Meta(pattern=r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
]
UrlPath = Annotated[str, msgspec.Meta(pattern=r"^/[A-Za-z0-9._~/-]*$")]
Memory = Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]*(Mi|Gi)$")]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{0,19}$")]
SecretId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,255}$")]
EnvVarName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z_][A-Z0-9_]*$")]

# Settings that are secrets: they must come from a secret store, never from plain [env].
SECRET_ENV_VARS = frozenset({"REDIS_URL", "STATE_KEYS"})
# Set by the renderers themselves; a user value would be overwritten or would leak a secret.
RESERVED_ENV_VARS = frozenset(
    {
        "PORT",
        "HOST",
        "CLOUDMCP_APP",
        "CLOUDMCP_STDIO",
        "K_SERVICE",
        "AWS_REGION",
        "CORS_ALLOW_ORIGINS",
    }
)


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Service(_Strict):
    name: ServiceName
    # `module:attr` or a path to a .py file, relative to the image's /app directory.
    app: Annotated[str, msgspec.Meta(min_length=1)]
    health_path: UrlPath = "/health"
    ready_path: UrlPath = "/ready"


class Build(_Strict):
    python: Annotated[str, msgspec.Meta(pattern=r"^3\.(1[1-9])$")] = "3.11"
    # What `pip install` gets in the build stage: the project itself, which depends on cloudmcp.
    install: Annotated[str, msgspec.Meta(min_length=1)] = "."
    # Pinned requirements (pip-compile / `uv pip compile` output), installed in a layer of their
    # own before the source is copied, so a code change does not reinstall them.
    requirements: (
        Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._][A-Za-z0-9._/-]*$")] | None
    ) = None
    # Files and directories copied into /app next to the installed packages (the app target).
    app_files: list[Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._][A-Za-z0-9._/-]*$")]] = []


class Resources(_Strict):
    memory: Memory = "1Gi"
    cpu: Annotated[int, msgspec.Meta(ge=1, le=8)] = 2
    timeout: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 300
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    min_instances: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 1
    max_instances: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50


class Redis(_Strict):
    """Shared state: a managed Redis in each cloud, or one Redis of your own both clouds reach.

    `managed = true`: Terraform creates Memorystore (Cloud Run reaches it by Direct VPC egress)
    and ElastiCache Serverless (the Lambda runs in a VPC with endpoints for Secrets Manager and
    X-Ray), each with its own network, and writes each URL into its cloud's secret store.
    `secret = "id"`: bring your own TLS Redis (`rediss://`), its URL in a secret of that id.
    """

    managed: bool = False
    secret: SecretId | None = None
    # Memorystore: STANDARD_HA keeps a replica in another zone and fails over to it.
    gcp_tier: Literal["BASIC", "STANDARD_HA"] = "STANDARD_HA"
    gcp_memory_gb: Annotated[int, msgspec.Meta(ge=1, le=300)] = 1
    # Private ranges of the networks Terraform creates for the managed stores.
    gcp_cidr: Annotated[str, msgspec.Meta(pattern=r"^10\.[0-9.]+/2[0-6]$")] = "10.8.0.0/24"
    aws_vpc_cidr: Annotated[str, msgspec.Meta(pattern=r"^10\.[0-9.]+/(1[6-9]|2[0-2])$")] = (
        "10.9.0.0/16"
    )


class Gcp(_Strict):
    project: GcpProject
    region: GcpRegion
    artifact_repository: ServiceName = "mcp"
    # Percent of traffic moved to the new revision at each step after its smoke test passes.
    traffic_steps: list[Annotated[int, msgspec.Meta(ge=1, le=100)]] = msgspec.field(
        default_factory=lambda: [10, 50, 100]
    )


class Aws(_Strict):
    region: AwsRegion
    api: Literal["http", "rest", "both"] = "http"
    function_url: Literal["off", "AWS_IAM", "NONE"] = "off"
    # Which tool releases the Lambda function: Terraform (alias weights as variables) or SAM
    # (CodeDeploy canary with alarm rollback). Terraform always owns DNS, ECR and certificates.
    deployer: Literal["terraform", "sam"] = "terraform"
    # Unset: the function shares the account's unreserved pool. Set, `deploy plan` first checks
    # the account can spare it (AWS keeps 100 executions unreserved).
    reserved_concurrency: Annotated[int, msgspec.Meta(ge=1, le=10000)] | None = None
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 400, 545, 731, 1827] = 30
    canary: Literal[
        "Canary10Percent5Minutes",
        "Canary10Percent10Minutes",
        "Canary10Percent30Minutes",
        "Linear10PercentEvery1Minute",
        "Linear10PercentEvery3Minutes",
        "AllAtOnce",
    ] = "Canary10Percent5Minutes"


class Domain(_Strict):
    name: Hostname
    # Route 53 public hosted zone that holds `name` (the failover records live there).
    zone: Hostname


class Alarms(_Strict):
    email: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")] | None = None
    error_rate_percent: Annotated[float, msgspec.Meta(gt=0, le=100)] = 5.0
    latency_p90_ms: Annotated[int, msgspec.Meta(ge=10, le=900_000)] = 2000
    lambda_errors: Annotated[int, msgspec.Meta(ge=1)] = 5
    lambda_throttles: Annotated[int, msgspec.Meta(ge=1)] = 1


class Cors(_Strict):
    allowed_origins: list[Annotated[str, msgspec.Meta(pattern=r"^(https?://[^\s/]+|\*)$")]] = []


class Security(_Strict):
    # Cloud Armor on the Google load balancer (with [domain]) and AWS WAF on the REST API:
    # a per-client rate limit and the providers' managed rule sets.
    cloud_armor: bool = False
    waf: bool = False
    # Requests per minute one client IP may send before Cloud Armor / WAF refuse it.
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=100, le=2_000_000_000)] = 1200


class Environment(_Strict):
    """Per-environment overrides; anything left unset takes the top-level value."""

    gcp_project: GcpProject | None = None
    domain: Hostname | None = None
    min_instances: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    max_instances: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    memory: Memory | None = None
    cpu: Annotated[int, msgspec.Meta(ge=1, le=8)] | None = None
    env: dict[EnvVarName, str] = {}


class DeployConfig(_Strict):
    service: Service
    gcp: Gcp
    build: Build = msgspec.field(default_factory=Build)
    resources: Resources = msgspec.field(default_factory=Resources)
    aws: Aws | None = None
    domain: Domain | None = None
    redis: Redis | None = None
    cors: Cors = msgspec.field(default_factory=Cors)
    security: Security = msgspec.field(default_factory=Security)
    alarms: Alarms = msgspec.field(default_factory=Alarms)
    # A stdio MCP server built into the image and served instead of `service.app`.
    stdio: StdioServer | None = None
    env: dict[EnvVarName, str] = {}
    # Environment variable name -> secret id. Each environment's secret is `<id>-<environment>`,
    # the same id in Google Secret Manager and AWS Secrets Manager.
    secrets: dict[EnvVarName, SecretId] = {}
    environments: dict[EnvName, Environment] = msgspec.field(
        default_factory=lambda: {"production": Environment()}
    )


_PATH_IN_MESSAGE = re.compile(r" - at (?P<in_key>`key` in )?`\$(?P<path>[^`]*)`$")


def _key_from_msgspec(document: dict[str, Any], path: str, message: str) -> str:
    """Turn msgspec's `$.environments[...].memory` into the TOML key `environments.staging.memory`.

    msgspec does not say which table key failed, so each `[...]` is found by decoding again
    with that table cut down to one entry: the entry that still fails is the one at fault.
    """
    parts = re.findall(r"\[\.\.\.\]|[^.\[\]]+", path)
    resolved: list[str] = []
    for part in parts:
        if part != "[...]":
            resolved.append(part)
            continue
        table = _lookup(document, resolved)
        culprit = "[...]"
        if isinstance(table, dict):
            for name, value in table.items():
                trial = _replace(document, resolved, {name: value})
                try:
                    msgspec.convert(trial, DeployConfig, strict=True)
                except msgspec.ValidationError as exc:
                    if str(exc) == message:
                        culprit = str(name)
                        break
        resolved.append(culprit)
    return ".".join(resolved) or "(top level)"


def _lookup(document: Any, keys: list[str]) -> Any:
    for key in keys:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _replace(document: dict[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    if not keys:
        return value  # type: ignore[no-any-return]
    copy = dict(document)
    copy[keys[0]] = _replace(copy.get(keys[0], {}), keys[1:], value)
    return copy


def parse_config(document: dict[str, Any], source: str = "cloudmcp.toml") -> DeployConfig:
    """Decode and check a config already read from TOML."""
    try:
        config = msgspec.convert(document, DeployConfig, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _PATH_IN_MESSAGE.search(message)
        key = _key_from_msgspec(document, match["path"], message) if match else "(top level)"
        reason = _PATH_IN_MESSAGE.sub("", message)
        if match and match["in_key"]:
            reason = f"has a key that is not allowed here: {reason}"
        if reason.startswith("Object contains unknown field"):
            field = reason.split("`")[1]
            key = f"{key}.{field}" if match and key != "(top level)" else field
            reason = "unknown key"
        elif reason.startswith("Object missing required field"):
            field = reason.split("`")[1]
            key = f"{key}.{field}" if match and key != "(top level)" else field
            reason = "required key is missing"
        raise ConfigError(source, key, reason) from None
    _check_relations(config, source)
    return config


def _check_relations(config: DeployConfig, source: str) -> None:
    """Rules that span several keys, which a schema alone cannot say."""

    def fail(key: str, reason: str) -> None:
        raise ConfigError(source, key, reason)

    for scope, variables in [("env", config.env)] + [
        (f"environments.{name}.env", e.env) for name, e in config.environments.items()
    ]:
        for name in variables:
            if name in RESERVED_ENV_VARS:
                fail(f"{scope}.{name}", "is set by the deployment itself")
            if name == "REDIS_URL":
                fail(f"{scope}.{name}", "is a secret: set [redis].secret to its secret id instead")
            if name == "KEY_PREFIX":
                fail(f"{scope}.{name}", "is set per environment by the deployment")
            if name in SECRET_ENV_VARS or name.endswith("_SECRET_ID"):
                fail(f"{scope}.{name}", "is a secret: move it to [secrets] with its secret id")
    for name in config.secrets:
        if name in RESERVED_ENV_VARS or name == "REDIS_URL":
            fail(f"secrets.{name}", "is set by the deployment itself (REDIS_URL: use [redis])")
    if not config.environments:
        fail("environments", "needs at least one environment")
    for name, stage in config.environments.items():
        low = (
            stage.min_instances
            if stage.min_instances is not None
            else config.resources.min_instances
        )
        high = (
            stage.max_instances
            if stage.max_instances is not None
            else config.resources.max_instances
        )
        if low > high:
            fail(f"environments.{name}.min_instances", f"({low}) exceeds max_instances ({high})")
        if stage.domain is not None and config.domain is None:
            fail(f"environments.{name}.domain", "needs a top-level [domain] with its zone")
    if config.resources.min_instances > config.resources.max_instances:
        fail("resources.min_instances", "exceeds resources.max_instances")
    steps = config.gcp.traffic_steps
    if not steps or steps != sorted(steps) or steps[-1] != 100:
        fail("gcp.traffic_steps", "must be increasing percentages ending at 100")
    if config.domain is not None:
        if config.aws is None:
            fail("domain", "needs [aws]: the failover records and health check live in Route 53")
        elif config.aws.deployer != "terraform":
            fail("aws.deployer", "must be 'terraform' when [domain] is set (failover DNS)")
        for name, stage in config.environments.items():
            host = stage.domain or config.domain.name
            if host != config.domain.zone and not host.endswith("." + config.domain.zone):
                key = f"environments.{name}.domain" if stage.domain else "domain.name"
                fail(key, f"{host} is not inside zone {config.domain.zone}")
    if config.redis is not None and config.redis.managed == (config.redis.secret is not None):
        fail("redis", "set either managed = true or secret = <id of the secret holding the URL>")
    if "API_KEYS" in config.secrets and not _auth_modes(config) & {"api_key"}:
        fail("secrets.API_KEYS", "is set but no environment has AUTH including api_key")
    if config.aws is not None and config.aws.api != "http" and config.aws.deployer != "sam":
        fail("aws.api", "'rest' and 'both' need deployer = 'sam' (Terraform builds the HTTP API)")
    if config.security.waf and (config.aws is None or config.aws.api == "http"):
        fail("security.waf", "protects the REST API: needs [aws] with api = 'rest' or 'both'")
    if config.security.cloud_armor and config.domain is None:
        fail("security.cloud_armor", "protects the load balancer: needs [domain]")
    if config.aws is not None and config.resources.timeout > 900:
        fail("resources.timeout", "exceeds Lambda's 900 second limit")
    if memory_mib(config.resources.memory) < 512:
        fail("resources.memory", "must be at least 512Mi (Cloud Run with 1+ CPU)")


def _auth_modes(config: DeployConfig) -> set[str]:
    values = [config.env.get("AUTH", "")] + [
        e.env.get("AUTH", "") for e in config.environments.values()
    ]
    return {mode.strip() for value in values for mode in value.split(",") if mode.strip()}


def memory_mib(memory: str) -> int:
    number = int(memory[:-2])
    return number * 1024 if memory.endswith("Gi") else number


def load_config(path: str | Path) -> DeployConfig:
    """Read `cloudmcp.toml`, or `[tool.cloudmcp]` from a `pyproject.toml`."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(file)", f"is not valid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        section = document.get("tool", {}).get("cloudmcp")
        if not isinstance(section, dict):
            raise ConfigError(str(path), "tool.cloudmcp", "section is missing")
        document = section
    return parse_config(document, source=str(path))
