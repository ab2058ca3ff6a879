"""Resource names derived from the service name, shared by every renderer so they agree."""

from __future__ import annotations

from cloudmcp.deploy.config import DeployConfig

LAMBDA_ALIAS = "live"
CONTAINER_PORT = 8080
MCP_PATH = "/mcp"
# The image's Lambda entry point: the runtime interface client calling cloudmcp's handler.
LAMBDA_ENTRYPOINT = ["python", "-m", "awslambdaric"]
LAMBDA_HANDLER = "cloudmcp.aws_lambda.handler"


def run_service_account_id(config: DeployConfig) -> str:
    # Google service account ids are 6-30 characters.
    return f"{config.service.name[:26].rstrip('-')}-run"


def artifact_image(config: DeployConfig, project: str) -> str:
    gcp = config.gcp
    return f"{gcp.region}-docker.pkg.dev/{project}/{gcp.artifact_repository}/{config.service.name}"


def secret_env_name(variable: str) -> str:
    """Lambda gets the secret's id under this name and reads the value at cold start."""
    return f"{variable}_SECRET_ID"


def environment_secret_id(secret: str, environment: str) -> str:
    """Each environment has its own secrets: staging never reads production's."""
    return f"{secret}-{environment}"


def managed_redis_secret(config: DeployConfig) -> str:
    """Base id of the secret Terraform writes the managed Redis URL into."""
    return f"{config.service.name}-redis-url"


def secret_bases(config: DeployConfig) -> dict[str, str]:
    """Environment variable -> base secret id (before the environment suffix), REDIS_URL too."""
    pairs = dict(config.secrets)
    if config.redis is not None:
        pairs["REDIS_URL"] = config.redis.secret or managed_redis_secret(config)
    return dict(sorted(pairs.items()))


def environment_secrets(config: DeployConfig, environment: str) -> dict[str, str]:
    """Environment variable -> the environment's own secret id."""
    return {
        name: environment_secret_id(base, environment)
        for name, base in secret_bases(config).items()
    }


def user_secrets(config: DeployConfig, environment: str) -> dict[str, str]:
    """The secrets a person creates and types (the managed Redis URL is Terraform's)."""
    found = environment_secrets(config, environment)
    if config.redis is not None and config.redis.managed:
        found.pop("REDIS_URL")
    return found


def key_prefix(config: DeployConfig, environment: str) -> str:
    """Store keys per environment: staging and production may share one Redis."""
    return f"{config.service.name}:{environment}:"


def state_bucket(project: str) -> str:
    return f"{project}-tfstate"


def build_service_account_id(config: DeployConfig, environment: str) -> str:
    # Google service account ids are 6-30 characters: the names are cut to fit.
    return f"{config.service.name[:17].rstrip('-')}-{environment[:6].rstrip('-')}-build"
