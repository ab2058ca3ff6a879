"""cloudbuild.yaml: build, push, deploy a tagged revision with no traffic, probe it, shift traffic.

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
from cloudmcp.deploy.names import CONTAINER_PORT, MCP_PATH

DOCKER = "gcr.io/cloud-builders/docker"
GCLOUD = "gcr.io/google.com/cloudsdktool/cloud-sdk:slim"
# Terraform names per-environment resources `<name>-<environment>`, so one project can hold
# both environments; these expressions follow the same rule.
IMAGE = "${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}-${_ENVIRONMENT}/${_SERVICE}"
RUN_SERVICE = "${_SERVICE}-${_ENVIRONMENT}"

# Shell preamble shared by the gcloud steps: the revision tag is derived from the commit so a
# rerun of the same commit reuses it. `$$` is Cloud Build's escape for a literal shell `$`.
TAG_SCRIPT = 'TAG="sha-$${COMMIT_SHA:0:12}"\n'
# The first build of an environment runs with _DEPLOY=false: it only pushes the image that
# Terraform then creates the service from (gcloud cannot add a no-traffic revision to a
# service that does not exist yet).
DEPLOY_GUARD = (
    '[ "${_DEPLOY}" = "true" ] || { echo "_DEPLOY=${_DEPLOY}: image pushed only"; exit 0; }\n'
)
# Prints the URL of the traffic target carrying the tag given as argv[1].
_TAGGED_URL = (
    "'import json, sys; "
    'traffic = json.load(open("/workspace/service.json"))["status"]["traffic"]; '
    'print(next(t["url"] for t in traffic if t.get("tag") == sys.argv[1]))\''
)


def _env_flag(env_vars: dict[str, str]) -> str:
    # gcloud's `^;^` prefix switches the list delimiter, so values may contain commas
    # (ALLOWED_ORIGINS is itself a comma-separated list).
    return "^;^" + ";".join(f"{key}={value}" for key, value in env_vars.items())


def _secrets_flag(config: DeployConfig) -> str:
    pairs = dict(config.secrets)
    if config.redis is not None:
        pairs["REDIS_URL"] = config.redis.secret
    return ",".join(f"{name}={secret}:latest" for name, secret in sorted(pairs.items()))


def _environment_case(config: DeployConfig, environments: list[EnvironmentSettings]) -> str:
    lines = ['case "${_ENVIRONMENT}" in']
    for env in environments:
        lines.append(f"  {env.name})")
        settings = {
            "MEMORY": env.memory,
            "CPU": str(env.cpu),
            "MIN_INSTANCES": str(env.min_instances),
            "MAX_INSTANCES": str(env.max_instances),
            "ENV_VARS": _env_flag(env.env_vars),
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
        '--set-env-vars="$${ENV_VARS}"',
    ]
    secrets = _secrets_flag(config)
    flags.append(f"--set-secrets={secrets}" if secrets else "--clear-secrets")
    if config.redis is not None:
        flags += [
            f"--network={config.redis.gcp_network}",
            f"--subnet={config.redis.gcp_subnetwork}",
            "--vpc-egress=private-ranges-only",
        ]
    # The tagged run.app URL must be reachable for the probe step (see gcp_cloud_run.tf).
    flags.append("--ingress=all")
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
        + f"gcloud run services describe {RUN_SERVICE} --region=${{_REGION}} --format=json \\\n"
        + "  > /workspace/service.json\n"
        + "# The tagged URL reaches only this revision: the smoke test skips live traffic.\n"
        + f'python3 -c {_TAGGED_URL} "$${{TAG}}" > /workspace/revision_url\n'
    )


def _probe_step(step_id: str, wait_for: str) -> dict[str, Any]:
    # The probe runs inside the image just built, so it tests with the cloudmcp it ships.
    script = (
        "set -eu\n"
        + DEPLOY_GUARD
        + f'URL="$$(cat /workspace/revision_url)"\ncloudmcp probe "$${{URL}}{MCP_PATH}"\n'
    )
    return {
        "id": step_id,
        "name": IMAGE + ":${COMMIT_SHA}",
        "entrypoint": "bash",
        "args": ["-c", script],
        "waitFor": [wait_for],
    }


def _shift_step(step_id: str, percent: int, wait_for: str) -> dict[str, Any]:
    command = "gcloud run services update-traffic ${_SERVICE} --region=${_REGION} " + (
        f'--to-tags="$${{TAG}}={percent}"' if percent < 100 else "--to-latest"
    )
    return {
        "id": step_id,
        "name": GCLOUD,
        "entrypoint": "bash",
        "args": ["-c", "set -euo pipefail\n" + DEPLOY_GUARD + TAG_SCRIPT + command + "\n"],
        "waitFor": [wait_for],
    }


def build_cloudbuild(config: DeployConfig, default_environment: str) -> dict[str, Any]:
    environments = all_environments(config)
    dockerfile = "${_DOCKERFILE}"
    steps: list[dict[str, Any]] = [
        {
            "id": "build",
            "name": DOCKER,
            "args": [
                "build",
                f"--file={dockerfile}",
                "--tag=" + IMAGE + ":${COMMIT_SHA}",
                "--tag=" + IMAGE + ":latest",
                ".",
            ],
        },
        {
            "id": "push",
            "name": DOCKER,
            "args": ["push", "--all-tags", IMAGE],
            "waitFor": ["build"],
        },
        {
            "id": "deploy-no-traffic",
            "name": GCLOUD,
            "entrypoint": "bash",
            "args": ["-c", _deploy_script(config, environments)],
            "waitFor": ["push"],
        },
        _probe_step("probe-revision", "deploy-no-traffic"),
    ]
    previous = "probe-revision"
    for percent in config.gcp.traffic_steps:
        shift = f"traffic-{percent}"
        steps.append(_shift_step(shift, percent, previous))
        previous = shift
        if percent < 100:
            # Let real traffic reach the revision, then probe again before the next step.
            steps.append(
                {
                    "id": f"soak-{percent}",
                    "name": GCLOUD,
                    "entrypoint": "bash",
                    "args": ["-c", DEPLOY_GUARD + "sleep ${_SOAK_SECONDS}\n"],
                    "waitFor": [shift],
                }
            )
            probe = _probe_step(f"probe-{percent}", f"soak-{percent}")
            steps.append(probe)
            previous = probe["id"]
    substitutions = {
        "_ENVIRONMENT": default_environment,
        "_REGION": config.gcp.region,
        "_REPOSITORY": config.gcp.artifact_repository,
        "_SERVICE": config.service.name,
        "_DOCKERFILE": "Dockerfile",
        "_DEPLOY": "true",
    }
    if any(percent < 100 for percent in config.gcp.traffic_steps):
        # Only when a soak step uses it: MUST_MATCH fails a build on an unused substitution.
        substitutions["_SOAK_SECONDS"] = "60"
    for step in steps:
        if "COMMIT_SHA:0:12" in step["args"][-1]:
            step["env"] = ["COMMIT_SHA=${COMMIT_SHA}"]
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


def render_cloudbuild(
    config: DeployConfig, default_environment: str, dockerfile: str = "Dockerfile"
) -> str:
    document = build_cloudbuild(config, default_environment)
    document["substitutions"]["_DOCKERFILE"] = dockerfile
    header = (
        "Rendered by `cloudmcp deploy render`; change the config, not this file.\n"
        "Release: gcloud builds submit --config=cloudbuild.yaml \\\n"
        "  --substitutions=COMMIT_SHA=$(git rev-parse HEAD),_ENVIRONMENT=<environment>\n"
        "REDIS_URL and other secrets come from Secret Manager (--set-secrets), never from here."
    )
    return yaml_text.dump(document, header=header)
