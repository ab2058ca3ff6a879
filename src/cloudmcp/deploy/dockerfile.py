"""The container image: one Dockerfile whose image serves on Cloud Run and on AWS Lambda.

Cloud Run runs the image's CMD (`cloudmcp serve`, listening on $PORT). Lambda runs the same
image with its entry point replaced (ImageConfig in SAM/Terraform) by the runtime interface
client calling `cloudmcp.aws_lambda.handler`, so no web server starts inside Lambda.
"""

from __future__ import annotations

import json
from importlib import metadata

from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.names import CONTAINER_PORT

# The Lambda runtime interface client; pinned exactly so every build of one commit is the same.
AWSLAMBDARIC = "awslambdaric==4.2.2"
APP_UID = 10001

HEADER = """\
# Rendered by `cloudmcp deploy render` from {source}; change the config, not this file.
# One image for Cloud Run (runs CMD: `cloudmcp serve` on $PORT) and AWS Lambda (ImageConfig
# swaps the entry point for the runtime interface client and cloudmcp's Lambda handler).
"""


def extras(config: DeployConfig) -> list[str]:
    """cloudmcp's optional dependencies this deployment needs, and only those."""
    found = set()
    if config.redis is not None:
        found.add("redis")
    auth = {config.env.get("AUTH", "")} | {
        e.env.get("AUTH", "") for e in config.environments.values()
    }
    if any("oauth" in value for value in auth):
        found.add("auth")
    return sorted(found)


def cloudmcp_requirement(config: DeployConfig) -> str | None:
    """`cloudmcp[redis]==<version>`: the extras, pinned to the cloudmcp that rendered the file."""
    wanted = extras(config)
    if not wanted:
        return None
    return f"cloudmcp[{','.join(wanted)}]=={cloudmcp_version()}"


def cloudmcp_version() -> str:
    try:
        return metadata.version("cloudmcp")
    except metadata.PackageNotFoundError:  # running from a source tree
        from cloudmcp import __version__

        return __version__


def render_dockerfile(config: DeployConfig, source: str = "cloudmcp.toml") -> str:
    python = config.build.python
    base = f"python:{python}-slim-bookworm"
    health = config.service.health_path
    # The container's interface: Cloud Run's and the load balancer's proxies connect to it.
    command = ["cloudmcp", "serve", config.service.app, "--host", "0.0.0.0"]  # nosec B104
    healthcheck = [
        "python",
        "-c",
        "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:'"
        f" + os.environ.get('PORT', '{CONTAINER_PORT}') + '{health}', timeout=2)",
    ]
    app_files = "".join(
        f"COPY --chown=root:root {path} /app/{path}\n" for path in config.build.app_files
    )
    # Dependencies first, each in a layer that only changes when they do.
    dependencies = ""
    if config.build.requirements:
        dependencies += (
            f"COPY {config.build.requirements} /src/requirements.txt\n"
            "RUN pip install -r /src/requirements.txt\n"
        )
    # Lambda's runtime interface client only in an image Lambda runs.
    packages = [config.build.install]
    requirement = cloudmcp_requirement(config)
    if requirement:
        packages.append(f'"{requirement}"')
    if config.aws is not None:
        packages.append(AWSLAMBDARIC)
    return (
        HEADER.format(source=source)
        + f"""
FROM {base} AS build
ENV PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
{dependencies}COPY . .
# Bytecode is compiled here, once: Lambda's file system is read-only, so an image without
# .pyc files would compile every module on every cold start.
RUN pip install {" ".join(packages)} \\
    && python -m compileall -q /opt/venv/lib

FROM {base} AS runtime
ENV PYTHONUNBUFFERED=1 \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PATH=/opt/venv/bin:$PATH \\
    PYTHONPATH=/app \\
    PORT={CONTAINER_PORT} \\
    CLOUDMCP_APP={config.service.app}
RUN groupadd --system --gid {APP_UID} mcp \\
    && useradd --system --uid {APP_UID} --gid mcp --no-create-home --shell /usr/sbin/nologin mcp
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
{app_files}USER {APP_UID}:{APP_UID}
EXPOSE {CONTAINER_PORT}
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \\
    CMD {json.dumps(healthcheck)}
CMD {json.dumps(command)}
"""
    )


DOCKERIGNORE = """\
# Rendered by `cloudmcp deploy render`: keep the build context to what the image needs,
# and keep local secrets and state out of it.
.git
.github
.venv
venv
.tools
.env
.env.*
*.pem
*.key
**/__pycache__
**/*.pyc
.pytest_cache
.mypy_cache
.ruff_cache
.hypothesis
node_modules
tests
bench
docs
dist
build
**/.terraform
**/*.tfstate
**/*.tfstate.*
**/*.tfvars
**/.aws-sam
"""


def render_dockerignore() -> str:
    return DOCKERIGNORE


GCLOUDIGNORE = """\
# Rendered by `cloudmcp deploy render`: what `gcloud builds submit` leaves out of the upload
# (the plan passes it with --ignore-file, so a .gitignore that lists the rendered files does not
# drop them from the build).
.git
.github
.venv
venv
.tools
.env
.env.*
*.pem
*.key
**/__pycache__
**/*.pyc
.pytest_cache
.mypy_cache
.ruff_cache
.hypothesis
node_modules
**/.terraform
**/*.tfstate
**/*.tfstate.*
**/.aws-sam
"""


def render_gcloudignore() -> str:
    return GCLOUDIGNORE
