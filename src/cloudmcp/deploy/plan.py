"""`deploy plan`: the exact gcloud, aws, docker, terraform and sam commands, in order.

The output is a shell script a person reads and runs step by step: first-time setup, then the
commands every release repeats. Secret values are typed at a prompt, never written anywhere.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.environments import resolve_environment
from cloudmcp.deploy.names import MCP_PATH
from cloudmcp.deploy.sam import secret_ids


@dataclass
class Step:
    title: str
    commands: list[str] = field(default_factory=list)


def build_plan(
    config: DeployConfig, environment: str, out: str, config_path: str = "cloudmcp.toml"
) -> list[Step]:
    env = resolve_environment(config, environment)
    project = env.gcp_project
    gcp = config.gcp
    aws = config.aws
    tf = shlex.quote(f"{out}/terraform")
    image = (
        f"{gcp.region}-docker.pkg.dev/{project}/{gcp.artifact_repository}-{env.name}/"
        f"{config.service.name}"
    )
    terraform_apply = f"terraform -chdir={tf} apply -var-file={env.name}.tfvars -var image_tag=$SHA"
    cloudbuild = (
        f"gcloud builds submit --project={project} --config={shlex.quote(out)}/cloudbuild.yaml "
        f"--substitutions=COMMIT_SHA=$SHA,_ENVIRONMENT={env.name}"
    )
    steps = [
        Step(
            "Pin the commit every command below releases",
            [
                'SHA="$(git rev-parse HEAD)"',
                f"cloudmcp deploy render --config {shlex.quote(config_path)} "
                f"--out {shlex.quote(out)} --env {env.name}",
            ],
        )
    ]
    secrets = secret_ids(config)
    if secrets:
        setup = Step("Create each secret once and type its value (it is never stored in a file)")
        for name, secret in secrets.items():
            setup.commands += [
                f"gcloud secrets create {secret} --project={project} "
                "--replication-policy=automatic",
                f"read -rs -p '{name}: ' VALUE && printf %s \"$VALUE\" | "
                f"gcloud secrets versions add {secret} --project={project} --data-file=-",
            ]
            if aws is not None:
                setup.commands.append(
                    f"aws secretsmanager create-secret --region={aws.region} --name={secret} "
                    '--secret-string="$VALUE"'
                )
        setup.commands.append("unset VALUE")
        steps.append(setup)
    registries = ["-target=google_artifact_registry_repository.images"]
    if aws is not None:
        registries.append("-target=aws_ecr_repository.images")
    steps += [
        Step(
            f"Select the {env.name} workspace (its own state) and create the image registries",
            [
                f"terraform -chdir={tf} init -backend-config=bucket={project}-tfstate",
                f"terraform -chdir={tf} workspace select -or-create {env.name}",
                f"{terraform_apply} " + " ".join(registries),
            ],
        ),
        Step(
            "First release only: build and push the image without deploying "
            "(the service does not exist yet)",
            [f"{cloudbuild},_DEPLOY=false ."],
        ),
    ]
    if aws is not None:
        steps.append(
            Step(
                "Copy the image to ECR (Lambda runs images only from ECR in its own region)",
                [
                    f'ECR="$(terraform -chdir={tf} output -raw ecr_repository_url)"',
                    f"gcloud auth configure-docker {gcp.region}-docker.pkg.dev --quiet",
                    f"aws ecr get-login-password --region={aws.region} | "
                    'docker login --username AWS --password-stdin "${ECR%%/*}"',
                    f"docker pull {image}:$SHA",
                    f'docker tag {image}:$SHA "$ECR:$SHA"',
                    'docker push "$ECR:$SHA"',
                ],
            )
        )
    steps.append(
        Step(
            "Create or update everything else: Cloud Run, IAM, "
            + ("Lambda, HTTP API, " if aws and aws.deployer == "terraform" else "")
            + ("load balancer, failover DNS, " if config.domain else "")
            + "alarms",
            [terraform_apply],
        )
    )
    if aws is not None and aws.deployer == "sam":
        stack = shlex.quote(f"{config.service.name}-{env.name}")
        template = shlex.quote(f"{out}/template.yaml")
        steps.append(
            Step(
                "Release the Lambda side with SAM (CodeDeploy canary, rolls back on alarms)",
                [
                    f"sam validate --lint --template-file {template} --region {aws.region}",
                    f"sam deploy --template-file {template} --stack-name {stack} "
                    f"--region {aws.region} --capabilities CAPABILITY_IAM "
                    f'--parameter-overrides Stage={env.name} ImageUri="$ECR:$SHA" '
                    "--no-fail-on-empty-changeset",
                ],
            )
        )
    release = Step(
        "Every later release: new revision with no traffic, probe, stepped traffic "
        f"({', '.join(str(p) for p in gcp.traffic_steps)}%)",
        [f"{cloudbuild} ."],
    )
    if aws is not None:
        release.commands.append("# then repeat the ECR copy above, and:")
        if aws.deployer == "terraform":
            release.commands.append(
                f"{terraform_apply}  # canary: add -var lambda_live_version=N "
                "-var lambda_canary_version=M -var lambda_canary_weight=0.1"
            )
        else:
            release.commands.append("# the sam deploy command above")
    steps.append(release)
    if env.domain:
        target = f"https://{env.domain}{MCP_PATH}"
    else:
        target = f'"$(terraform -chdir={tf} output -raw cloud_run_url){MCP_PATH}"'
    probe = Step("Smoke-test the public endpoint", [f"cloudmcp probe {target}"])
    if aws is not None and aws.deployer == "terraform":
        probe.commands.append(
            f'cloudmcp probe "$(terraform -chdir={tf} output -raw http_api_endpoint){MCP_PATH}"'
        )
    steps.append(probe)
    return steps


def render_plan(steps: list[Step]) -> str:
    lines = ["#!/usr/bin/env bash", "set -euo pipefail"]
    for number, step in enumerate(steps, 1):
        lines += ["", f"# {number}. {step.title}"]
        lines += step.commands
    return "\n".join(lines) + "\n"
