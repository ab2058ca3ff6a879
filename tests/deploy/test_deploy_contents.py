"""What the rendered files say: the details published versions of this deployment get wrong."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from deploy_support import Rendered, hcl_file, hcl_module, render, yaml_file

from cloudmcp.deploy.cloudbuild import build_cloudbuild
from cloudmcp.deploy.render import render_all
from cloudmcp.deploy.sam import build_template


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def resources(documents: list[dict[str, Any]], kind: str = "resource") -> dict[str, Any]:
    """`type.name` -> body, across every file of a module."""
    found: dict[str, Any] = {}
    for document in documents:
        for block in document.get(kind, []):
            for type_, named in block.items():
                for name, body in named.items():
                    if not name.startswith("__"):
                        found[f"{_unquote(type_)}.{_unquote(name)}"] = body
    return found


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render("full", tmp_path_factory.mktemp("full"))


@pytest.fixture(scope="module")
def minimal(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render("minimal", tmp_path_factory.mktemp("minimal"))


@pytest.fixture(scope="module")
def sam_rest(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render("sam-rest", tmp_path_factory.mktemp("sam-rest"))


@pytest.fixture(scope="module")
def full_terraform(full: Rendered) -> dict[str, Any]:
    return resources(hcl_module(full.terraform))


# --- DNS failover ------------------------------------------------------------------------------


def test_failover_records_are_a_pair_of_type_a_valid_for_each_target(
    full_terraform: dict[str, Any],
) -> None:
    primary = full_terraform["aws_route53_record.primary"]
    secondary = full_terraform["aws_route53_record.secondary"]
    assert _unquote(primary["type"]) == _unquote(secondary["type"]) == "A"
    assert _unquote(primary["failover_routing_policy"][0]["type"]) == "PRIMARY"
    assert _unquote(secondary["failover_routing_policy"][0]["type"]) == "SECONDARY"
    assert primary["name"] == secondary["name"] == "${var.domain_name}"
    # Cloud Run's side is a plain A record to the load balancer's IP, never an alias...
    assert primary["records"] == ["${google_compute_global_address.mcp.address}"]
    assert "alias" not in primary
    assert primary["health_check_id"] == "${aws_route53_health_check.primary.id}"
    # ...and AWS's side an alias to the API Gateway regional custom domain.
    alias = secondary["alias"][0]
    assert "aws_apigatewayv2_domain_name.mcp" in alias["name"]
    assert "target_domain_name" in alias["name"]
    assert "hosted_zone_id" in alias["zone_id"]
    assert "records" not in secondary


def test_no_record_points_at_a_run_app_hostname(full: Rendered) -> None:
    code = [
        line
        for path in full.terraform.glob("*.tf")
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    text = "\n".join(code)
    assert "run.app" not in text
    assert "ghs.googlehosted.com" not in text  # the load balancer replaces domain mappings


def test_health_check_is_https_with_sni_on_the_ready_path_without_a_scheme(
    full: Rendered, full_terraform: dict[str, Any]
) -> None:
    check = full_terraform["aws_route53_health_check.primary"]
    assert _unquote(check["type"]) == "HTTPS"
    assert check["enable_sni"] is True
    assert check["port"] == 443
    # Readiness: a primary whose store is down fails over (defect 14).
    assert check["resource_path"] == "${var.ready_path}"
    assert check["fqdn"] == "${var.domain_name}"
    # Probes the primary's own address, not the failover name it steers.
    assert check["ip_address"] == "${google_compute_global_address.mcp.address}"
    for name in full.config.environments:
        domain = _unquote(hcl_file(full.terraform / f"{name}.tfvars")["domain_name"])
        assert "://" not in domain and "/" not in domain
    variables = {
        _unquote(name): body
        for document in hcl_module(full.terraform)
        for block in document.get("variable", [])
        for name, body in block.items()
    }
    assert _unquote(variables["health_path"]["default"]) == "/health"


def test_certificates_are_validated_through_route_53(full_terraform: dict[str, Any]) -> None:
    assert "aws_acm_certificate_validation.mcp" in full_terraform
    assert "aws_route53_record.acm_validation" in full_terraform
    # Google's certificate is DNS-authorized, so it issues even while traffic is failed over.
    assert "aws_route53_record.google_dns_authorization" in full_terraform
    domain = full_terraform["aws_apigatewayv2_domain_name.mcp"]
    config = domain["domain_name_configuration"][0]
    assert _unquote(config["endpoint_type"]) == "REGIONAL"
    assert "aws_acm_certificate_validation.mcp" in config["certificate_arn"]


# --- secrets -----------------------------------------------------------------------------------


def test_redis_url_only_ever_comes_from_a_secret_store(full: Rendered) -> None:
    every_file = [p for p in full.out.rglob("*") if p.is_file() and "release" not in p.parts]
    for path in every_file:
        text = path.read_text()
        for line in text.splitlines():
            if "redis://" in line or "rediss://" in line:
                # Only Terraform writing a managed store's URL into its secret, from attributes.
                assert "secret_data" in line or "secret_string" in line, (path, line)
                assert "${google_redis_instance" in line or "${aws_elasticache" in line
            if "REDIS_URL" in line and "=" in line and "--set-secrets" not in line:
                assert "secret" in line.lower() or "#" in line, (path, line)
    cloud_run = resources(hcl_module(full.terraform))["google_cloud_run_v2_service.mcp"]
    container = cloud_run["template"][0]["containers"][0]
    secret_env = container["dynamic"][1]['"env"']["content"][0]
    assert "value_source" in secret_env


def test_cloudbuild_sets_redis_url_from_secret_manager(full: Rendered) -> None:
    document = build_cloudbuild(full.config, full.environment)
    deploy = next(s for s in document["steps"] if s["id"] == "deploy-no-traffic")
    script = deploy["args"][-1]
    for name in full.config.environments:
        assert re.search(rf"--set-secrets=\S*REDIS_URL=weather-mcp-redis-url-{name}:latest", script)
    assert "REDIS_URL" not in str(document["substitutions"])


def test_lambda_reads_secrets_by_id_with_least_privilege(sam_rest: Rendered) -> None:
    template = build_template(sam_rest.config, sam_rest.environment)
    function = template["Resources"]["McpFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    assert variables["REDIS_URL_SECRET_ID"] == {"Fn::Sub": "files-mcp-redis-url-${Stage}"}
    assert variables["API_KEYS_SECRET_ID"] == {"Fn::Sub": "files-mcp-api-keys-${Stage}"}
    assert "REDIS_URL" not in variables
    (policy,) = function["Policies"]
    (statement,) = policy["Statement"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert all("*" not in r["Fn::Sub"].replace("-??????", "") for r in statement["Resource"])


def test_cloudbuild_builds_pushes_deploys_without_traffic_then_releases(full: Rendered) -> None:
    document = yaml_file(full.out / "cloudbuild.yaml")
    assert document == build_cloudbuild(full.config, full.environment) | {
        "substitutions": document["substitutions"]
    }
    steps = document["steps"]
    ids = [step["id"] for step in steps]
    assert ids == [
        "pull-cache",
        "build",
        "push",
        "deploy-no-traffic",
        "release-gcp",
        "aws-identity",
        "ecr-login",
        "ecr-push",
        "release-aws",
    ]
    build = " ".join(steps[1]["args"])
    assert ":${COMMIT_SHA}" in build and ":latest" in build and "--cache-from=" in build
    assert "docker.pkg.dev" in build
    deploy = steps[3]["args"][-1]
    assert "--no-traffic" in deploy and '--tag="$${TAG}"' in deploy
    for flag in ("--timeout=300", "--concurrency=100", "--cpu-boost", "--cpu-throttling"):
        assert flag in deploy
    assert "MEMORY=1Gi" in deploy and "MIN_INSTANCES=1" in deploy and "MAX_INSTANCES=50" in deploy
    release = steps[4]["args"][-1]
    assert "release/release.py gcp" in release and "--steps=10,50,100" in release
    assert "--api-key-secret=weather-mcp-api-keys-${_ENVIRONMENT}" in release
    assert "release/release.py aws" in steps[8]["args"][-1]
    # Each step waits for the one before it: nothing is released before its image is pushed.
    for before, after in itertools.pairwise(steps):
        assert after["waitFor"] == [before["id"]]


def test_sam_template_covers_the_lambda_checklist(sam_rest: Rendered) -> None:
    template = yaml_file(sam_rest.out / "template.yaml")
    assert template == build_template(sam_rest.config, sam_rest.environment)
    assert template["Parameters"]["Stage"]["AllowedValues"] == ["staging", "production"]
    function = template["Resources"]["McpFunction"]["Properties"]
    assert function["PackageType"] == "Image"
    assert function["ImageConfig"]["Command"] == ["cloudmcp.aws_lambda.handler"]
    assert function["AutoPublishAlias"] == "live"
    preference = function["DeploymentPreference"]
    assert preference["Type"] == "Linear10PercentEvery1Minute"
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "PreTrafficHook"}}
    alarm_names = [ref["Ref"] for ref in preference["Alarms"]]
    assert alarm_names == ["ErrorsAlarm", "ThrottlesAlarm", "DurationP90Alarm"]
    for name in alarm_names:
        assert template["Resources"][name]["Type"] == "AWS::CloudWatch::Alarm"
    assert template["Resources"]["DurationP90Alarm"]["Properties"]["ExtendedStatistic"] == "p90"
    assert function["Tracing"] == "Active"
    assert function["VpcConfig"]["SubnetIds"] == {"Ref": "VpcSubnetIds"}
    assert template["Resources"]["FunctionLogGroup"]["Properties"]["RetentionInDays"] == 30
    paths = {
        (e["Properties"]["Path"], e["Properties"]["Method"]) for e in function["Events"].values()
    }
    assert paths == {("/mcp", "ANY"), ("/health", "GET"), ("/ready", "GET")}
    assert function["FunctionUrlConfig"]["AuthType"] == "NONE"
    cors = template["Resources"]["McpHttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == ["https://app.example.com", "https://admin.example.com"]


def test_sam_has_no_cors_vpc_or_url_unless_configured(minimal: Rendered) -> None:
    template = yaml_file(minimal.out / "template.yaml")
    function = template["Resources"]["McpFunction"]["Properties"]
    assert "VpcConfig" not in function
    assert "FunctionUrlConfig" not in function
    assert "ReservedConcurrentExecutions" not in function
    # Only the API keys secret: SAM's execution role plus reading exactly that.
    (policy,) = function["Policies"]
    (statement,) = policy["Statement"]
    assert statement["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
         "secret:hello-mcp-api-keys-${Stage}-??????"}
    ]  # fmt: skip
    assert "CorsConfiguration" not in template["Resources"]["McpHttpApi"]["Properties"]


def test_terraform_has_a_file_per_concern_and_a_var_file_per_environment(full: Rendered) -> None:
    names = {p.name for p in full.terraform.iterdir()}
    assert {
        "gcp_cloud_run.tf",
        "gcp_iam.tf",
        "gcp_artifact_registry.tf",
        "gcp_load_balancer.tf",
        "gcp_redis.tf",
        "aws_redis.tf",
        "aws_release.tf",
        "aws_ecr.tf",
        "aws_iam.tf",
        "aws_lambda.tf",
        "aws_api_gateway.tf",
        "dns_failover.tf",
        "monitoring_gcp.tf",
        "monitoring_aws.tf",
        "variables.tf",
        "outputs.tf",
        "staging.tfvars",
        "production.tfvars",
        "README.md",
    } <= names
    readme = (full.terraform / "README.md").read_text()
    assert "init -reconfigure" in readme and "cloudmcp/weather-mcp/<environment>" in readme


def test_every_variable_is_described_and_validated_where_it_can_be_wrong(full: Rendered) -> None:
    variables: dict[str, Any] = {}
    for document in hcl_module(full.terraform):
        for block in document.get("variable", []):
            variables.update({_unquote(k): v for k, v in block.items() if not k.startswith("__")})
    assert all(len(_unquote(v["description"])) > 10 for v in variables.values())
    for name in ("lambda_reserved_concurrency", "build_service_account_id", "redis_gcp_tier"):
        assert variables[name]["validation"], name
    # Traffic is the pipeline's: no Terraform variable moves it.
    assert not any("canary" in name or "stable" in name for name in variables)


def test_cloud_run_has_probes_scaling_and_its_own_identity(full_terraform: dict[str, Any]) -> None:
    service = full_terraform["google_cloud_run_v2_service.mcp"]["template"][0]
    assert service["service_account"] == "${google_service_account.run.email}"
    assert service["scaling"][0]["min_instance_count"] == "${var.min_instances}"
    container = service["containers"][0]
    # Both on liveness: a store outage neither restarts instances nor blocks scale-out.
    assert container["startup_probe"][0]["http_get"][0]["path"] == "${var.health_path}"
    assert container["liveness_probe"][0]["http_get"][0]["path"] == "${var.health_path}"
    assert "vpc_access" in service
    grant = full_terraform["google_secret_manager_secret_iam_member.run_reads"]
    assert _unquote(grant["role"]) == "roles/secretmanager.secretAccessor"


def test_monitoring_on_both_clouds(full_terraform: dict[str, Any]) -> None:
    for name in (
        "google_monitoring_alert_policy.error_rate",
        "google_monitoring_alert_policy.latency",
        "google_monitoring_notification_channel.email",
        "aws_sns_topic.alarms",
        "aws_cloudwatch_metric_alarm.lambda_errors",
        "aws_cloudwatch_metric_alarm.lambda_throttles",
        "aws_cloudwatch_metric_alarm.lambda_duration_p90",
        "aws_cloudwatch_metric_alarm.primary_unhealthy",
    ):
        assert name in full_terraform, name


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_slim_non_root_with_a_healthcheck(full: Rendered) -> None:
    text = (full.out / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(froms) == 2 and all("-slim" in image for image in froms)
    assert re.search(r"^USER 10001", text, re.M)
    assert re.search(r"^HEALTHCHECK .*", text, re.M)
    assert "/health" in text
    assert "--port" not in text  # the server reads PORT, which Cloud Run sets
    ignore = (full.out / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", "**/*.tfstate"} <= set(ignore)


def test_rendering_is_deterministic(full: Rendered) -> None:
    first = render_all(full.config, full.environment)
    assert render_all(full.config, full.environment) == first


def test_every_cloudbuild_substitution_is_used_and_defined(rendered: Rendered) -> None:
    # substitutionOption MUST_MATCH fails a build on an unused or undefined substitution.
    document = build_cloudbuild(rendered.config, rendered.environment)
    text = json.dumps(document["steps"]) + json.dumps(document["images"])
    used = set(re.findall(r"(?<!\$)\$\{?(_[A-Z0-9_]+)", text))
    assert used == set(document["substitutions"])
    builtins = set(re.findall(r"(?<!\$)\$\{?([A-Z][A-Z0-9_]*)", text))
    assert builtins <= {"PROJECT_ID", "COMMIT_SHA", "BUILD_ID"}
