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
