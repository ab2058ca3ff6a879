"""One environment's settings: the top-level config with that environment's overrides applied."""

from __future__ import annotations

from dataclasses import dataclass

from cloudmcp.deploy.config import DeployConfig, memory_mib
from cloudmcp.deploy.errors import ConfigError
from cloudmcp.deploy.names import key_prefix


@dataclass(frozen=True)
class EnvironmentSettings:
    name: str
    gcp_project: str
    domain: str | None
    memory: str
    cpu: int
    min_instances: int
    max_instances: int
    # Plain settings for the container; secrets never appear here.
    env_vars: dict[str, str]

    @property
    def memory_mib(self) -> int:
        return memory_mib(self.memory)


def resolve_environment(config: DeployConfig, name: str) -> EnvironmentSettings:
    try:
        override = config.environments[name]
    except KeyError:
        known = ", ".join(config.environments)
        raise ConfigError("--env", name, f"is not an environment in the config ({known})") from None
    resources = config.resources
    env_vars = {"ENVIRONMENT": name, **config.env, **override.env}
    env_vars["KEY_PREFIX"] = key_prefix(config, name)
    # The service's name in traces and EMF metrics, which the alarms look for.
    env_vars.setdefault("OTEL_SERVICE_NAME", config.service.name)
    if config.cors.allowed_origins:
        # The browser origins CORS answers for (Lambda edge and `cloudmcp serve` alike), and the
        # origins the engine admits.
        env_vars["CORS_ALLOW_ORIGINS"] = ",".join(config.cors.allowed_origins)
        env_vars.setdefault("ALLOWED_ORIGINS", ",".join(config.cors.allowed_origins))
    domain = override.domain or (config.domain.name if config.domain else None)
    cpu = override.cpu or resources.cpu
    if cpu > 1 and config.redis is not None and "WORKERS" not in env_vars:
        # A Python process uses one core: one worker per vCPU, sharing state in Redis.
        env_vars["WORKERS"] = str(cpu)
    return EnvironmentSettings(
        name=name,
        gcp_project=override.gcp_project or config.gcp.project,
        domain=domain,
        memory=override.memory or resources.memory,
        cpu=cpu,
        min_instances=(
            override.min_instances
            if override.min_instances is not None
            else resources.min_instances
        ),
        max_instances=(
            override.max_instances
            if override.max_instances is not None
            else resources.max_instances
        ),
        env_vars=dict(sorted(env_vars.items())),
    )


def all_environments(config: DeployConfig) -> list[EnvironmentSettings]:
    return [resolve_environment(config, name) for name in config.environments]
