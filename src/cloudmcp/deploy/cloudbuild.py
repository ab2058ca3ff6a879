"""cloudbuild.yaml: one release pipeline for both clouds.

Build (with the last image as cache), push, deploy a tagged Cloud Run revision with no traffic,
then release/release.py probes it and moves traffic in steps, rolling back on a failure. With
[aws], the same build copies the image to ECR (keyless: the build's Google identity assumes an
AWS role) and releases the Lambda side: release.py again on the Terraform path, `sam deploy`
(CodeDeploy canary with a PreTraffic hook) on the SAM path.

Every environment's settings are rendered into the file and picked at build time by the
`_ENVIRONMENT` substitution, so one file serves staging and production and nothing about an
environment (least of all a secret) is passed as a free-form substitution.
"""

from __future__ import annotations

import shlex
from typing import Any

from cloudmcp.deploy import yaml_text
from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.environments import EnvironmentSettings, all_environments
from cloudmcp.deploy.names import CONTAINER_PORT, MCP_PATH, environment_secrets
from cloudmcp.deploy.sam import vpc_parameter_names

# The Terraform-path Lambda alarms a release watches (monitoring_aws.tf names them alike).
LAMBDA_ALARMS = ("lambda-errors", "lambda-throttles")

DOCKER = "gcr.io/cloud-builders/docker"
GCLOUD = "gcr.io/google.com/cloudsdktool/cloud-sdk:slim"
# AWS's own image with the aws and sam CLIs and Python: the AWS half of the release runs there.
AWS_TOOLS = "public.ecr.aws/sam/build-python3.11:latest"
# Terraform names per-environment resources `<name>-<environment>`, so one project can hold
# both environments; these expressions follow the same rule.
IMAGE = "${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}-${_ENVIRONMENT}/${_SERVICE}"
RUN_SERVICE = "${_SERVICE}-${_ENVIRONMENT}"
ECR_HOST = "${_AWS_ACCOUNT_ID}.dkr.ecr.${_AWS_REGION}.amazonaws.com"
ECR_IMAGE = ECR_HOST + "/" + RUN_SERVICE + ":${COMMIT_SHA}"
# Files the AWS steps share through the build's /workspace (removed by the last AWS step).
AWS_TOKEN = "/workspace/.aws-web-identity-token"  # nosec B105 - a file path, not a secret
ECR_PASSWORD = "/workspace/.ecr-password"  # nosec B105 - a file path, not a secret
ECR_HAS_IMAGE = "/workspace/.ecr-has-image"

# Shell preamble shared by the gcloud steps: the revision tag is derived from the commit so a
# rerun of the same commit reuses it. `$$` is Cloud Build's escape for a literal shell `$`.
TAG_SCRIPT = 'TAG="sha-$${COMMIT_SHA:0:12}"\n'
# The first build of an environment runs with _DEPLOY=false: it only pushes the image that
# Terraform then creates the service from (gcloud cannot add a no-traffic revision to a
# service that does not exist yet).
DEPLOY_GUARD = (
    '[ "${_DEPLOY}" = "true" ] || { echo "_DEPLOY=${_DEPLOY}: image pushed only"; exit 0; }\n'
)


def _env_flag(env_vars: dict[str, str]) -> str:
    # gcloud's `^;^` prefix switches the list delimiter, so values may contain commas
    # (ALLOWED_ORIGINS is itself a comma-separated list).
    return "^;^" + ";".join(f"{key}={value}" for key, value in env_vars.items())


def _secrets_flag(config: DeployConfig, environment: str) -> str:
    pairs = environment_secrets(config, environment)
    if not pairs:
        return "--clear-secrets"
    return "--set-secrets=" + ",".join(f"{name}={secret}:latest" for name, secret in pairs.items())


def _environment_case(config: DeployConfig, environments: list[EnvironmentSettings]) -> str:
    lines = ['case "${_ENVIRONMENT}" in']
    for env in environments:
        lines.append(f"  {env.name})")
        settings = {
            "MEMORY": env.memory,
            "CPU": str(env.cpu),
            "MIN_INSTANCES": str(env.min_instances),
            "MAX_INSTANCES": str(env.max_instances),
            # The project names each log line's trace for Cloud Logging (cloudmcp.ops.logs).
            "ENV_VARS": _env_flag({"GOOGLE_CLOUD_PROJECT": env.gcp_project, **env.env_vars}),
            "SECRETS": _secrets_flag(config, env.name),
        }
        lines.extend(f"    {key}={shlex.quote(value)}" for key, value in settings.items())
        lines.append("    ;;")
    lines.append('  *) echo "unknown _ENVIRONMENT ${_ENVIRONMENT}" >&2; exit 1 ;;')
    lines.append("esac")
    return "\n".join(lines) + "\n"


def _deploy_script(config: DeployConfig, environments: list[EnvironmentSettings]) -> str:
    resources = config.resources
    flags = [
        "--image=" + IMAGE + ":${COMMIT_SHA}",
        "--region=${_REGION}",
        "--no-traffic",
        '--tag="$${TAG}"',
        f"--port={CONTAINER_PORT}",
        '--memory="$${MEMORY}"',
        '--cpu="$${CPU}"',
        f"--timeout={resources.timeout}",
        f"--concurrency={resources.concurrency}",
        '--min-instances="$${MIN_INSTANCES}"',
        '--max-instances="$${MAX_INSTANCES}"',
        "--execution-environment=gen2",
        "--cpu-boost",
        # CPU only while a request is being served, as Terraform sets it (cpu_idle).
        "--cpu-throttling",
        '--set-env-vars="$${ENV_VARS}"',
        '"$${SECRETS}"',
    ]
    if config.redis is not None and config.redis.managed:
        # The network Terraform made for Memorystore (gcp_redis.tf); Direct VPC egress.
        flags += [
            f"--network={RUN_SERVICE}",
            f"--subnet={RUN_SERVICE}-run",
            "--vpc-egress=private-ranges-only",
        ]
    body = " \\\n  ".join(flags)
    return (
        "set -euo pipefail\n"
        + DEPLOY_GUARD
        + TAG_SCRIPT
        + _environment_case(config, environments)
        + "# Terraform creates the service (identity, probes, ingress); releases add revisions.\n"
        + f"gcloud run deploy {RUN_SERVICE} \\\n  "
        + body
        + "\n"
    )


def _release_args(config: DeployConfig) -> list[str]:
    steps = ",".join(str(p) for p in config.gcp.traffic_steps)
    args = [
        f"--steps={steps}",
        "--soak=${_SOAK_SECONDS}",
        f"--mcp-path={MCP_PATH}",
        # Readiness: a revision that cannot reach its store must not get traffic.
        f"--health-path={config.service.ready_path}",
    ]
    if "API_KEYS" in config.secrets:
        args.append(f"--api-key-secret={config.secrets['API_KEYS']}-${{_ENVIRONMENT}}")
    return args


def _release_gcp_script(config: DeployConfig) -> str:
    args = [
        "--project=${PROJECT_ID}",
        "--region=${_REGION}",
        f"--service={RUN_SERVICE}",
        '--tag="$${TAG}"',
        *_release_args(config),
        # The revision's alarm: its 5xx answers while it holds a share of the traffic.
        f"--max-errors={config.alarms.lambda_errors}",
    ]
    return (
        "set -euo pipefail\n"
        + DEPLOY_GUARD
        + TAG_SCRIPT
        + "# Probe the tagged revision, move traffic in steps with a probe each, roll back on a\n"
        + "# failure (release.py: the same code tests/deploy run against real servers).\n"
        + "python3 ${_OUT}/release/release.py gcp \\\n  "
        + " \\\n  ".join(args)
        + "\n"
    )


def _aws_steps(config: DeployConfig) -> list[dict[str, Any]]:
    """Copy the image to ECR (no local Docker: Cloud Build's) and release the Lambda side."""
    aws = config.aws
    assert aws is not None  # nosec B101 - for mypy: only called with [aws]
    # Keyless: the build's service account proves itself to AWS STS with a Google ID token.
    credentials = [
        "AWS_ROLE_ARN=arn:aws:iam::${_AWS_ACCOUNT_ID}:role/" + RUN_SERVICE + "-release",
        f"AWS_WEB_IDENTITY_TOKEN_FILE={AWS_TOKEN}",
        "AWS_ROLE_SESSION_NAME=cloudbuild-${BUILD_ID}",
        "AWS_REGION=${_AWS_REGION}",
    ]
    # The copy to ECR runs on the first build too (_DEPLOY=false): Terraform creates the
    # function from that image.
    identity = (
        "set -euo pipefail\n"
        + f"gcloud auth print-identity-token --audiences=sts.amazonaws.com > {AWS_TOKEN}\n"
    )
    login = (
        "set -euo pipefail\n"
        + f"aws ecr get-login-password > {ECR_PASSWORD}\n"
        + "# An IMMUTABLE repository refuses a second push of a tag: a rerun skips the copy.\n"
        + f"if aws ecr describe-images --repository-name={RUN_SERVICE} "
        + "--image-ids=imageTag=${COMMIT_SHA} >/dev/null 2>&1; then\n"
        + f"  touch {ECR_HAS_IMAGE}\nfi\n"
    )
    push = (
        "set -euo pipefail\n"
        + f'[ -f {ECR_HAS_IMAGE} ] && {{ echo "{ECR_IMAGE} is in ECR already"; exit 0; }}\n'
        + f"docker login --username=AWS --password-stdin {ECR_HOST} < {ECR_PASSWORD}\n"
        + f"docker tag {IMAGE}:${{COMMIT_SHA}} {ECR_IMAGE}\n"
        + f"docker push {ECR_IMAGE}\n"
    )
    if aws.deployer == "terraform":
        release = (
            "python3 ${_OUT}/release/release.py aws \\\n  "
            + " \\\n  ".join(
                [
                    "--region=${_AWS_REGION}",
                    f"--function={RUN_SERVICE}",
                    f"--image-uri={ECR_IMAGE}",
                    *_release_args(config),
                    "--alarms",
                    *(f"{RUN_SERVICE}-{name}" for name in LAMBDA_ALARMS),
                ]
            )
            + "\n"
        )
    else:
        vpc = ""
        if config.redis is not None and config.redis.managed:
            names = vpc_parameter_names(config, "${_ENVIRONMENT}")
            vpc = "".join(f" {key}={value}" for key, value in names.items())
        release = (
            "# CodeDeploy shifts traffic; the PreTraffic hook probes the new version first and\n"
            "# the alarms on that version roll it back.\n"
            "sam deploy --template-file=${_OUT}/template.yaml \\\n"
            f"  --stack-name={RUN_SERVICE} --region=${{_AWS_REGION}} \\\n"
            f"  --image-repository={ECR_HOST}/{RUN_SERVICE} \\\n"
            "  --capabilities=CAPABILITY_IAM --no-confirm-changeset \\\n"
            "  --no-fail-on-empty-changeset \\\n"
            f"  --parameter-overrides Stage=${{_ENVIRONMENT}} ImageUri={ECR_IMAGE}{vpc}\n"
        )
    finish = (
        "set -euo pipefail\n"
        + f"trap 'rm -f {AWS_TOKEN} {ECR_PASSWORD}' EXIT\n"
        + DEPLOY_GUARD
        + release
    )
    return [
        {"id": "aws-identity", "name": GCLOUD, "entrypoint": "bash", "args": ["-c", identity]},
        {
            "id": "ecr-login",
            "name": AWS_TOOLS,
            "entrypoint": "bash",
            "args": ["-c", login],
            "env": credentials,
        },
        {"id": "ecr-push", "name": DOCKER, "entrypoint": "bash", "args": ["-c", push]},
        {
            "id": "release-aws",
            "name": AWS_TOOLS,
            "entrypoint": "bash",
            "args": ["-c", finish],
            "env": credentials,
        },
    ]


def build_cloudbuild(config: DeployConfig, default_environment: str) -> dict[str, Any]:
    environments = all_environments(config)
    steps: list[dict[str, Any]] = [
        {
            # Layers of the last image are the build cache (a fresh project has none yet).
            "id": "pull-cache",
            "name": DOCKER,
            "entrypoint": "bash",
            "args": ["-c", f"docker pull {IMAGE}:latest || true"],
        },
        {
            "id": "build",
            "name": DOCKER,
            "args": [
                "build",
                "--file=${_OUT}/Dockerfile",
                "--cache-from=" + IMAGE + ":latest",
                "--tag=" + IMAGE + ":${COMMIT_SHA}",
                "--tag=" + IMAGE + ":latest",
                ".",
            ],
        },
        {"id": "push", "name": DOCKER, "args": ["push", "--all-tags", IMAGE]},
        {
            "id": "deploy-no-traffic",
            "name": GCLOUD,
            "entrypoint": "bash",
            "args": ["-c", _deploy_script(config, environments)],
        },
        {
            "id": "release-gcp",
            "name": GCLOUD,
            "entrypoint": "bash",
            "args": ["-c", _release_gcp_script(config)],
        },
    ]
    if config.aws is not None:
        steps += _aws_steps(config)
    previous: str | None = None
    for step in steps:
        if previous is not None:
            step["waitFor"] = [previous]
        previous = step["id"]
    substitutions = {
        "_ENVIRONMENT": default_environment,
        "_REGION": config.gcp.region,
        "_REPOSITORY": config.gcp.artifact_repository,
        "_SERVICE": config.service.name,
        "_OUT": "deploy",
        "_DEPLOY": "true",
        "_SOAK_SECONDS": "60",
    }
    if config.aws is not None:
        substitutions["_AWS_REGION"] = config.aws.region
        # `deploy plan` passes the account: `aws sts get-caller-identity`.
        substitutions["_AWS_ACCOUNT_ID"] = "000000000000"
    for step in steps:
        if "COMMIT_SHA:0:12" in step["args"][-1]:
            step["env"] = [*step.get("env", []), "COMMIT_SHA=${COMMIT_SHA}"]
    return {
        "steps": steps,
        "substitutions": substitutions,
        "images": [IMAGE + ":${COMMIT_SHA}", IMAGE + ":latest"],
        "options": {
            "logging": "CLOUD_LOGGING_ONLY",
            "substitutionOption": "MUST_MATCH",
        },
        "timeout": "3600s",
        "tags": [config.service.name, "cloudmcp"],
    }


def render_cloudbuild(config: DeployConfig, default_environment: str, out: str = ".") -> str:
    document = build_cloudbuild(config, default_environment)
    document["substitutions"]["_OUT"] = out
    header = (
        "Rendered by `cloudmcp deploy render`; change the config, not this file.\n"
        "Release (`cloudmcp deploy plan` prints the full command, run from the config's folder):\n"
        "  gcloud builds submit --config=<out>/cloudbuild.yaml --service-account=<build SA> \\\n"
        "  --substitutions=COMMIT_SHA=$(git rev-parse HEAD),_ENVIRONMENT=<environment> .\n"
        "Secrets come from Secret Manager (--set-secrets), never from here."
    )
    return yaml_text.dump(document, header=header)
