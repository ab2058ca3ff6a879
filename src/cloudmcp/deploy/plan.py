"""`deploy plan`: the exact gcloud, aws, terraform and cloudmcp commands, in order.

The output is a shell script a person reads and runs, top to bottom, from the config's folder:
checks of what only the clouds can answer, the bootstrap (APIs, state bucket, secrets), the
infrastructure, then the release. Every command can run again: each creates what is missing
and updates what is there, and each environment has its own state, secrets and names. Secret
values are typed at a prompt and piped, never written anywhere or passed as an argument.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.environments import resolve_environment
from cloudmcp.deploy.names import (
    MCP_PATH,
    build_service_account_id,
    state_bucket,
    user_secrets,
)

# APIs enabled before anything uses them (Terraform's google provider itself needs the first
# two); `gcloud services enable` is a no-op for those already on.
GCP_APIS = (
    "serviceusage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "secretmanager.googleapis.com",
    "cloudbuild.googleapis.com",
    "run.googleapis.com",
    "artifactregistry.googleapis.com",
    "storage.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
)
DOMAIN_APIS = ("compute.googleapis.com", "certificatemanager.googleapis.com")
REDIS_APIS = ("compute.googleapis.com", "redis.googleapis.com")
# AWS keeps this many concurrent executions unreserved in every account and region.
AWS_UNRESERVED_MINIMUM = 100
# The account-level role API Gateway REST APIs write access logs with.
APIGATEWAY_LOGS_ROLE = "apigateway-cloudwatch-logs"


@dataclass
class Step:
    title: str
    commands: list[str] = field(default_factory=list)


def _fail(message: str) -> str:
    return f"{{ echo {shlex.quote('cloudmcp deploy plan: ' + message)} >&2; exit 1; }}"


def _prerequisites(config: DeployConfig, project: str, environment: str) -> Step:
    aws = config.aws
    step = Step(
        "Check what only the clouds can answer, before anything depends on it",
        [
            f"gcloud projects describe {project} --format='value(projectId)' >/dev/null "
            f"|| {_fail(f'no access to GCP project {project} (gcloud auth login?)')}",
            f"[ \"$(gcloud billing projects describe {project} --format='value(billingEnabled)')\""
            f' = "True" ] || {_fail(f"billing is not enabled on {project}")}',
        ],
    )
    if aws is None:
        return step
    step.commands.append(
        'AWS_ACCOUNT_ID="$(aws sts get-caller-identity --query Account --output text)"'
    )
    if aws.reserved_concurrency is not None:
        need = aws.reserved_concurrency + AWS_UNRESERVED_MINIMUM
        step.commands += [
            f'UNRESERVED="$(aws lambda get-account-settings --region={aws.region} '
            '--query AccountLimit.UnreservedConcurrentExecutions --output text)"',
            f'[ "$UNRESERVED" -ge {need} ] || '
            + _fail(
                f"aws.reserved_concurrency = {aws.reserved_concurrency} needs {need} unreserved "
                f"concurrent executions in {aws.region} (AWS keeps {AWS_UNRESERVED_MINIMUM}); "
                "ask for a Lambda concurrency quota increase or lower it"
            ),
        ]
    if config.domain is not None:
        zone = config.domain.zone
        step.commands += [
            f'ZONE_ID="$(aws route53 list-hosted-zones-by-name --dns-name={zone} '
            f"--query \"HostedZones[?Name=='{zone}.' && !Config.PrivateZone].Id\" "
            '--output text)"',
            f'[ -n "$ZONE_ID" ] || {_fail(f"no public Route 53 hosted zone {zone}")}',
            # Failover answers come from Route 53 only if the parent delegates the zone to it.
            '[ "$(dig +short NS ' + zone + " | sed 's/[.]$//' | sort)\" = "
            '"$(aws route53 get-hosted-zone --id="$ZONE_ID" '
            "--query DelegationSet.NameServers --output text | tr '\\t' '\\n' | sort)\" ] || "
            + _fail(
                f"{zone} is not delegated to its Route 53 name servers (set them at the registrar)"
            ),
        ]
    return step


def _bootstrap(config: DeployConfig, project: str) -> Step:
    apis = set(GCP_APIS)
    if config.domain is not None or config.security.cloud_armor:
        apis.update(DOMAIN_APIS)
    if config.redis is not None and config.redis.managed:
        apis.update(REDIS_APIS)
    bucket = f"gs://{state_bucket(project)}"
    # Where `gcloud builds submit` stages the source; made here so Terraform can let the build
    # service account (and only it) read it.
    sources = f"gs://{project}_cloudbuild"
    create = (
        f"--project={project} --location={config.gcp.region} --uniform-bucket-level-access "
        "--public-access-prevention"
    )
    return Step(
        "Bootstrap the project: APIs first, then the Terraform state bucket (versioned) and "
        "the build sources bucket",
        [
            f"gcloud services enable {' '.join(sorted(apis))} --project={project}",
            f"gcloud storage buckets describe {bucket} >/dev/null 2>&1 || "
            f"gcloud storage buckets create {bucket} {create}",
            f"gcloud storage buckets update {bucket} --versioning",
            f"gcloud storage buckets describe {sources} >/dev/null 2>&1 || "
            f"gcloud storage buckets create {sources} {create}",
        ],
    )


def _apigateway_account(region: str) -> Step:
    # REST API access logs need this account-wide role; a fresh account or region has none.
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
        '{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    )
    role = APIGATEWAY_LOGS_ROLE
    return Step(
        f"Let API Gateway write REST API access logs in {region} (once per account and region)",
        [
            f"aws iam get-role --role-name={role} >/dev/null 2>&1 || "
            f"aws iam create-role --role-name={role} "
            f"--assume-role-policy-document={shlex.quote(trust)}",
            f"aws iam attach-role-policy --role-name={role} --policy-arn="
            "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
            f"aws apigateway update-account --region={region} --patch-operations "
            f'"op=replace,path=/cloudwatchRoleArn,value=$(aws iam get-role --role-name={role} '
            '--query Role.Arn --output text)"',
        ],
    )


def _secrets(config: DeployConfig, project: str, environment: str) -> Step | None:
    secrets = user_secrets(config, environment)
    if not secrets:
        return None
    aws = config.aws
    step = Step(
        f"Create or update {environment}'s secrets: type each value (it is never stored in a file)"
    )
    for name, secret in secrets.items():
        step.commands += [
            f"gcloud secrets describe {secret} --project={project} >/dev/null 2>&1 || "
            f"gcloud secrets create {secret} --project={project} --replication-policy=automatic",
            f"read -rs -p '{name} for {environment}: ' VALUE && echo",
            f'printf %s "$VALUE" | gcloud secrets versions add {secret} --project={project} '
            "--data-file=-",
        ]
        if aws is not None:
            where = f"--region={aws.region}"
            step.commands.append(
                f"if aws secretsmanager describe-secret --secret-id={secret} {where} "
                ">/dev/null 2>&1; then\n"
                f'  printf %s "$VALUE" | aws secretsmanager put-secret-value '
                f"--secret-id={secret} {where} --secret-string=file:///dev/stdin >/dev/null\n"
                "else\n"
                f'  printf %s "$VALUE" | aws secretsmanager create-secret --name={secret} '
                f"{where} --secret-string=file:///dev/stdin >/dev/null\n"
                "fi"
            )
    step.commands.append("unset VALUE")
    return step


# What the first build needs: the registries, the identities that build and release.
BOOTSTRAP_TARGETS = (
    "google_project_service.enabled",
    "google_artifact_registry_repository.images",
    "google_service_account.build",
    "google_project_iam_member.build",
    "google_service_account_iam_member.build_acts_as_run",
    "google_artifact_registry_repository_iam_member.build_pushes",
    "google_secret_manager_secret_iam_member.build_reads",
    "google_storage_bucket_iam_member.build_reads_sources",
)
AWS_BOOTSTRAP_TARGETS = (
    "aws_ecr_repository.images",
    "aws_iam_role.release",
    "aws_iam_role_policy.release",
)


def build_plan(
    config: DeployConfig, environment: str, out: str, config_path: str = "cloudmcp.toml"
) -> list[Step]:
    env = resolve_environment(config, environment)
    project = env.gcp_project
    aws = config.aws
    context = Path(config_path).parent.as_posix() or "."
    tf = shlex.quote(f"{out}/terraform")
    variables = f"-var-file={env.name}.tfvars -var image_tag=$SHA"
    build_account = (
        f"{build_service_account_id(config, env.name)}@{project}.iam.gserviceaccount.com"
    )
    substitutions = f"COMMIT_SHA=$SHA,_ENVIRONMENT={env.name},_OUT={out}"
    if aws is not None:
        substitutions += ",_AWS_ACCOUNT_ID=$AWS_ACCOUNT_ID"
    cloudbuild = (
        f"gcloud builds submit --project={project} --region={config.gcp.region} "
        f"--config={shlex.quote(out)}/cloudbuild.yaml "
        f"--gcs-source-staging-dir=gs://{project}_cloudbuild/source "
        f"--ignore-file={shlex.quote(out)}/.gcloudignore "
        f"--service-account=projects/{project}/serviceAccounts/{build_account} "
        f"--substitutions={substitutions}"
    )
    steps = [
        Step(
            "From the config's folder (the build context), render for the commit to release",
            [
                f"cd {shlex.quote(context)}",
                'SHA="$(git rev-parse HEAD)"',
                f"cloudmcp deploy render --config {shlex.quote(Path(config_path).name)} "
                f"--out {shlex.quote(out)} --env {env.name}",
            ],
        ),
        _prerequisites(config, project, env.name),
        _bootstrap(config, project),
    ]
    if aws is not None and aws.deployer == "sam" and aws.api in ("rest", "both"):
        steps.append(_apigateway_account(aws.region))
    secrets = _secrets(config, project, env.name)
    if secrets is not None:
        steps.append(secrets)
    targets = list(BOOTSTRAP_TARGETS) + (list(AWS_BOOTSTRAP_TARGETS) if aws else [])
    steps += [
        Step(
            f"Terraform state for {env.name} (its own prefix), then the registries and the "
            "build and release identities",
            [
                f"terraform -chdir={tf} init -reconfigure -input=false "
                f"-backend-config=bucket={state_bucket(project)} "
                f"-backend-config=prefix=cloudmcp/{config.service.name}/{env.name}",
                f"terraform -chdir={tf} apply -input=false {variables} "
                + " ".join(f"-target={t}" for t in targets),
            ],
        ),
        Step(
            "Build the image and push it"
            + (" to Artifact Registry and ECR" if aws else "")
            + " without releasing it (Terraform creates the services from it next)",
            [f"{cloudbuild},_DEPLOY=false ."],
        ),
        Step(
            "Create or update everything: Cloud Run, "
            + ("Lambda, HTTP API, " if aws and aws.deployer == "terraform" else "")
            + ("managed Redis and its networks, " if config.redis and config.redis.managed else "")
            + ("load balancer, failover DNS, " if config.domain else "")
            + "alarms (traffic and images stay the pipeline's)",
            [f"terraform -chdir={tf} apply -input=false {variables}"],
        ),
        Step(
            "Release: a new revision"
            + (" and Lambda version" if aws else "")
            + ", probed, traffic in steps "
            f"({', '.join(str(p) for p in config.gcp.traffic_steps)}%), rolled back on failure",
            [f"{cloudbuild} ."],
        ),
    ]
    steps.append(_smoke_test(config, env.domain, project, tf, env.name))
    return steps


def _smoke_test(
    config: DeployConfig, domain: str | None, project: str, tf: str, environment: str
) -> Step:
    if domain:
        targets = [f"https://{domain}{MCP_PATH}"]
    else:
        targets = [f'"$(terraform -chdir={tf} output -raw cloud_run_url){MCP_PATH}"']
        if config.aws is not None and config.aws.deployer == "terraform":
            targets.append(f'"$(terraform -chdir={tf} output -raw http_api_endpoint){MCP_PATH}"')
        elif config.aws is not None and config.aws.api in ("http", "both"):
            output = "Stacks[0].Outputs[?OutputKey=='HttpApiMcpUrl'].OutputValue"
            targets.append(
                f'"$(aws cloudformation describe-stacks --region={config.aws.region} '
                f'--stack-name={config.service.name}-{environment} --query "{output}" '
                '--output text)"'
            )
    step = Step("Smoke-test the public endpoint")
    header = ""
    if "API_KEYS" in config.secrets:
        secret = user_secrets(config, environment)["API_KEYS"]
        step.commands.append(
            f'PROBE_KEY="$(gcloud secrets versions access latest --secret={secret} '
            f'--project={project} | head -n 1 | cut -d, -f1 | cut -d: -f1)"'
        )
        header = ' --header "Authorization: Bearer $PROBE_KEY"'
    step.commands.append(f"cloudmcp probe {' '.join(targets)}{header}")
    return step


def render_plan(steps: list[Step]) -> str:
    lines = ["#!/usr/bin/env bash", "set -euo pipefail"]
    for number, step in enumerate(steps, 1):
        lines += ["", f"# {number}. {step.title}"]
        lines += step.commands
    return "\n".join(lines) + "\n"
