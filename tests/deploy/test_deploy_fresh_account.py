"""Issue 15: what stopped a fresh GCP project and AWS account from deploying, one test a defect.

Each test names the defect it covers (`defect_N`, the issue's numbering) and failed on the
render before the fix. The release logic itself (traffic steps, probes, rollback) runs against
real servers in test_deploy_release.py; the plan runs twice in test_deploy_plan_runs.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from deploy_support import Rendered, hcl_file, hcl_module, render, yaml_file
from test_deploy_contents import resources

from cloudmcp.cli import main
from cloudmcp.deploy.cloudbuild import RUN_SERVICE, build_cloudbuild
from cloudmcp.deploy.config import load_config
from cloudmcp.deploy.plan import build_plan, render_plan
from cloudmcp.deploy.render import render_to


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
def url(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render("terraform-url", tmp_path_factory.mktemp("terraform-url"))


@pytest.fixture(scope="module")
def gcp_only(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render("pyproject", tmp_path_factory.mktemp("pyproject"))


# Small configs that every version of the config reads, so these tests fail on the old render
# for the defect itself, not for a key it did not know.
REST_API = """
[service]
name = "rest-mcp"
app = "server:app"
[gcp]
project = "acme-rest-mcp"
region = "us-central1"
[aws]
region = "us-east-1"
deployer = "sam"
api = "rest"
[cors]
allowed_origins = ["https://app.example.com", "https://admin.example.com"]
[environments.staging]
"""
PUBLIC_URL = """
[service]
name = "url-mcp"
app = "server:app"
[gcp]
project = "acme-url-mcp"
region = "us-central1"
[aws]
region = "us-east-1"
function_url = "NONE"
reserved_concurrency = 20
"""


def render_text(text: str, root: Path, environment: str) -> Rendered:
    project = root / "project"
    project.mkdir(parents=True)
    path = project / "cloudmcp.toml"
    path.write_text(text)
    config = load_config(path)
    render_to(config, path, project / "deploy", environment)
    return Rendered("inline", config, path, environment, project / "deploy")


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render_text(REST_API, tmp_path_factory.mktemp("rest"), "staging")


@pytest.fixture(scope="module")
def public_url(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render_text(PUBLIC_URL, tmp_path_factory.mktemp("url"), "production")


def plan_text(rendered: Rendered, environment: str) -> str:
    steps = build_plan(rendered.config, environment, "deploy", str(rendered.config_path))
    return render_plan(steps)


def scripts(rendered: Rendered) -> str:
    document = yaml_file(rendered.out / "cloudbuild.yaml")
    return "\n".join(step["args"][-1] for step in document["steps"])


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


# --- breaks apply or deploy ----------------------------------------------------------------------


def test_defect_1_every_cloud_run_command_names_the_deployed_service(full: Rendered) -> None:
    text = scripts(full)
    named = re.findall(r"gcloud run (?:deploy|services [a-z-]+) (\S+)", text)
    named += re.findall(r"--service=(\S+)", text)
    assert named and set(named) == {RUN_SERVICE}
    assert RUN_SERVICE == "${_SERVICE}-${_ENVIRONMENT}"


def test_defect_2_sam_deploy_names_an_image_repository(minimal: Rendered) -> None:
    every = plan_text(minimal, "production") + "\n" + scripts(minimal)
    deploys = re.findall(r"sam deploy(?:[^\n]*\\\n)*[^\n]*", every)
    assert deploys
    for command in deploys:
        assert re.search(r"--image-repository=\S+|--resolve-image-repos", command), command


def test_defect_3_rest_api_access_logs_have_the_account_role_first(rest: Rendered) -> None:
    lines = plan_text(rest, "staging").splitlines()
    account = next(i for i, line in enumerate(lines) if "aws apigateway update-account" in line)
    assert "path=/cloudwatchRoleArn" in lines[account]
    role = next(i for i, line in enumerate(lines) if "aws iam create-role" in line)
    first_release = next(i for i, line in enumerate(lines) if "gcloud builds submit" in line)
    assert role < account < first_release
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in "\n".join(lines)


def test_defect_4_bootstrap_apis_state_bucket_and_a_build_identity(full: Rendered) -> None:
    lines = plan_text(full, "staging").splitlines()

    def first(pattern: str) -> int:
        return next(i for i, line in enumerate(lines) if re.search(pattern, line))

    enable = first(r"^gcloud services enable ")
    for api in ("secretmanager", "cloudbuild", "run", "artifactregistry", "iam"):
        assert f"{api}.googleapis.com" in lines[enable]
    assert enable < first(r"gcloud secrets (create|describe)")
    assert enable < first(r"gcloud storage buckets create gs://acme-mcp-staging-tfstate")
    assert first("buckets create") < first(
        r"buckets update gs://acme-mcp-staging-tfstate --versioning"
    )
    assert first("--versioning") < first(r"terraform .* init ")
    build = lines[first("gcloud builds submit")]
    assert (
        "--service-account=projects/acme-mcp-staging/serviceAccounts/weather-mcp-stagin-build@"
        in build
    )
    found = resources(hcl_module(full.terraform))
    roles = unquote(found["google_project_iam_member.build"]["for_each"])
    assert "roles/run.developer" in roles and "roles/owner" not in roles
    acts_as = found["google_service_account_iam_member.build_acts_as_run"]
    assert unquote(acts_as["role"]) == "roles/iam.serviceAccountUser"
    assert acts_as["service_account_id"] == "${google_service_account.run.name}"
    assert "google_artifact_registry_repository_iam_member.build_pushes" in found


def test_defect_5_each_environment_has_its_own_state_and_commands_create_or_update(
    full: Rendered,
) -> None:
    inits = []
    for environment in ("staging", "production"):
        text = plan_text(full, environment)
        (init,) = re.findall(r"^terraform .* init .*$", text, re.M)
        assert "-reconfigure" in init
        inits.append(re.search(r"prefix=(\S+)", init)[1])  # type: ignore[index]
        assert "workspace" not in text
        for line in text.splitlines():
            if " secrets create " in line:
                assert re.match(r"gcloud secrets describe \S+ .*\|\| gcloud secrets create", line)
        assert "create-secret" in text and "put-secret-value" in text
    assert inits == ["cloudmcp/weather-mcp/staging", "cloudmcp/weather-mcp/production"]
    # An immutable ECR tag is pushed once: a rerun finds it and skips the copy.
    text = scripts(full)
    assert "aws ecr describe-images" in text and ".ecr-has-image" in text


def test_defect_6_no_reservation_unless_asked_and_then_the_quota_is_checked(
    minimal: Rendered, public_url: Rendered
) -> None:
    url = public_url
    template = yaml_file(minimal.out / "template.yaml")
    assert "ReservedConcurrentExecutions" not in template["Resources"]["McpFunction"]["Properties"]
    lines = plan_text(url, "production").splitlines()
    check = next(i for i, line in enumerate(lines) if "UnreservedConcurrentExecutions" in line)
    assert re.search(r'\[ "\$UNRESERVED" -ge 120 \]', lines[check + 1])
    assert check < next(i for i, line in enumerate(lines) if line.startswith("terraform"))
    variables = {
        unquote(name): body
        for document in hcl_module(url.terraform)
        for block in document.get("variable", [])
        for name, body in block.items()
    }
    assert variables["lambda_reserved_concurrency"]["default"] == 20
    assert "lambda_reserved_concurrency" not in str(
        [d for d in hcl_module(minimal.terraform) if d.get("variable")]
    )


def test_defect_7_the_dockerfile_is_inside_the_build_context(
    full: Rendered, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = yaml_file(full.out / "cloudbuild.yaml")
    build = next(step for step in document["steps"] if step["id"] == "build")
    assert "--file=${_OUT}/Dockerfile" in build["args"] and build["args"][-1] == "."
    assert document["substitutions"]["_OUT"] == "deploy"
    # Rendering outside the config's folder (the context Cloud Build uploads) is refused.
    project = tmp_path / "project"
    project.mkdir()
    config = project / "cloudmcp.toml"
    config.write_text(full.config_path.read_text())
    code = main(["deploy", "render", "--config", str(config), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "must be inside the build context" in capsys.readouterr().err
    # The plan submits from the config's folder, with the same _OUT, and its own ignore file:
    # a .gitignore listing the rendered files must not drop them from the upload.
    text = plan_text(full, "staging")
    assert "--ignore-file=deploy/.gcloudignore" in text
    ignored = [
        line for line in (full.out / ".gcloudignore").read_text().splitlines() if line[:1] != "#"
    ]
    assert ".git" in ignored
    assert not any(line.startswith(("deploy", "*.py", "Dockerfile")) for line in ignored)
    assert text.splitlines()[4] == f"cd {full.config_path.parent}"
    assert re.search(r"gcloud builds submit .*_OUT=deploy\S* \.$", text, re.M)


def test_the_first_build_copies_the_image_to_ecr_before_terraform_needs_it(
    full: Rendered,
) -> None:
    # `_DEPLOY=false` (the plan's first build) must still reach ECR: the function is created
    # from that image; only the releases wait for a deployed service.
    steps = {
        step["id"]: step["args"][-1] for step in yaml_file(full.out / "cloudbuild.yaml")["steps"]
    }
    for copy in ("push", "aws-identity", "ecr-login", "ecr-push"):
        assert "_DEPLOY" not in steps[copy], copy
    for release in ("deploy-no-traffic", "release-gcp", "release-aws"):
        assert '[ "${_DEPLOY}" = "true" ] ||' in steps[release], release
    assert "docker push" in steps["ecr-push"] and "docker login" in steps["ecr-push"]


def test_defect_8_managed_redis_creates_its_networks(full: Rendered) -> None:
    found = resources(hcl_module(full.terraform))
    for name in (
        "google_compute_network.redis",
        "google_compute_subnetwork.run",
        "google_redis_instance.state",
        "aws_vpc.state",
        "aws_subnet.private",
        "aws_security_group.lambda",
        "aws_security_group.redis",
        "aws_elasticache_serverless_cache.state",
    ):
        assert name in found, name
    vpc = found["aws_lambda_function.mcp"]["vpc_config"][0]
    assert vpc["subnet_ids"] == "${aws_subnet.private[*].id}"
    access = found["google_cloud_run_v2_service.mcp"]["template"][0]["vpc_access"][0]
    assert access["network_interfaces"][0]["network"] == "${google_compute_network.redis.id}"
    deploy = scripts(full)
    assert "--network=${_SERVICE}-${_ENVIRONMENT}" in deploy
    assert "--subnet=${_SERVICE}-${_ENVIRONMENT}-run" in deploy


# --- wrong at runtime or insecure ----------------------------------------------------------------


def test_defect_9_the_image_installs_the_redis_extra(full: Rendered, gcp_only: Rendered) -> None:
    for rendered in (full, gcp_only):
        dockerfile = (rendered.out / "Dockerfile").read_text()
        assert re.search(r'^RUN pip install .*"cloudmcp\[redis\]==[0-9.]+"', dockerfile, re.M)


def test_defect_10_terraform_never_moves_traffic_or_tags(full: Rendered) -> None:
    found = resources(hcl_module(full.terraform))
    service = found["google_cloud_run_v2_service.mcp"]
    ignored = {item.strip("${}") for item in service["lifecycle"][0]["ignore_changes"]}
    assert {"traffic", "template[0].revision", "template[0].containers[0].image"} <= ignored
    (traffic,) = service["traffic"]
    assert unquote(traffic["type"]) == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    for alias in ("aws_lambda_alias.live",):
        ignored = str(found[alias]["lifecycle"][0]["ignore_changes"])
        assert "function_version" in ignored and "routing_config" in ignored
    text = "\n".join(p.read_text() for p in full.terraform.glob("*.tf*"))
    assert "cloud_run_latest_percent" not in text and "lambda_canary_weight" not in text


def test_defect_11_cors_is_one_setting_for_every_edge(rest: Rendered, full: Rendered) -> None:
    template = yaml_file(rest.out / "template.yaml")
    assert "Cors" not in template["Resources"]["McpRestApi"]["Properties"]
    # `Access-Control-Allow-Origin` holds one origin: no API-level list of them.
    assert "'AllowOrigin':" not in str(template)
    variables = template["Resources"]["McpFunction"]["Properties"]["Environment"]["Variables"]
    mapping = variables["CORS_ALLOW_ORIGINS"]["Fn::FindInMap"]
    assert template["Mappings"]["Environments"]["staging"][mapping[2]] == (
        "https://app.example.com,https://admin.example.com"
    )
    for name in full.config.environments:
        env_vars = hcl_file(full.terraform / f"{name}.tfvars")["env_vars"]
        assert unquote(env_vars["CORS_ALLOW_ORIGINS"]) == "https://app.example.com"


def test_defect_12_secrets_and_key_prefix_are_per_environment(full: Rendered) -> None:
    prefixes = {
        name: unquote(hcl_file(full.terraform / f"{name}.tfvars")["env_vars"]["KEY_PREFIX"])
        for name in full.config.environments
    }
    assert prefixes == {"staging": "weather-mcp:staging:", "production": "weather-mcp:production:"}
    deploy = scripts(full)
    assert "STATE_KEYS=weather-mcp-state-keys-staging:latest" in deploy
    assert "STATE_KEYS=weather-mcp-state-keys-production:latest" in deploy
    locals_ = (full.terraform / "locals.tf").read_text()
    assert '"${id}-${var.environment}"' in locals_
    assert "weather-mcp-api-keys-staging" in plan_text(full, "staging")
    assert "weather-mcp-api-keys-staging" not in plan_text(full, "production")


def test_defect_13_a_public_function_url_has_both_invoke_permissions(
    public_url: Rendered,
) -> None:
    found = resources(hcl_module(public_url.terraform))
    permission = found["aws_lambda_permission.live_url"]
    actions = {unquote(v) for v in permission["for_each"].values()}
    assert actions == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert permission["qualifier"] == "${aws_lambda_alias.live.name}"
    assert unquote(permission["principal"]) == "*"


def test_defect_14_failover_follows_readiness_and_probes_follow_liveness(full: Rendered) -> None:
    found = resources(hcl_module(full.terraform))
    check = found["aws_route53_health_check.primary"]
    assert check["resource_path"] == "${var.ready_path}"
    container = found["google_cloud_run_v2_service.mcp"]["template"][0]["containers"][0]
    assert container["startup_probe"][0]["http_get"][0]["path"] == "${var.health_path}"
    assert container["liveness_probe"][0]["http_get"][0]["path"] == "${var.health_path}"


def test_defect_15_a_lambda_in_a_vpc_reaches_secrets_manager_and_x_ray(full: Rendered) -> None:
    found = resources(hcl_module(full.terraform))
    endpoint = found["aws_vpc_endpoint.interface"]
    assert set(unquote(endpoint["for_each"])) >= {"secretsmanager", "xray"} or (
        "secretsmanager" in str(endpoint["for_each"]) and "xray" in str(endpoint["for_each"])
    )
    assert unquote(endpoint["vpc_endpoint_type"]) == "Interface"
    assert endpoint["private_dns_enabled"] is True
    assert endpoint["subnet_ids"] == "${aws_subnet.private[*].id}"
    vpc = found["aws_vpc.state"]
    assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True
    assert "${aws_vpc_endpoint.interface}" in found["aws_lambda_function.mcp"]["depends_on"]


def test_defect_16_examples_have_auth_on_and_the_release_probes_carry_a_key(
    full: Rendered, minimal: Rendered
) -> None:
    for rendered in (full, minimal):
        assert rendered.config.env["AUTH"] == "api_key"
        assert "API_KEYS" in rendered.config.secrets
        document = build_cloudbuild(rendered.config, rendered.environment)
        release = "\n".join(step["args"][-1] for step in document["steps"])
        assert re.search(r"--api-key-secret=\S+-api-keys-\$\{_ENVIRONMENT\}", release) or (
            "PreTraffic" in (rendered.out / "template.yaml").read_text()
        )
    hook = yaml_file(minimal.out / "template.yaml")["Resources"]["PreTrafficHook"]
    assert "API_KEYS_SECRET_ID" in hook["Properties"]["Environment"]["Variables"]


# --- hygiene -------------------------------------------------------------------------------------


def test_hygiene_destroy_works_and_cpu_is_billed_per_request(full: Rendered) -> None:
    service = resources(hcl_module(full.terraform))["google_cloud_run_v2_service.mcp"]
    assert service["deletion_protection"] is False
    limits = service["template"][0]["containers"][0]["resources"][0]
    assert limits["cpu_idle"] is True
    assert "--cpu-throttling" in scripts(full)


def test_hygiene_dockerfile_caches_dependencies_and_ships_only_what_runs(
    full: Rendered, gcp_only: Rendered
) -> None:
    dockerfile = (full.out / "Dockerfile").read_text()
    assert dockerfile.index("COPY requirements.txt") < dockerfile.index("COPY . .")
    assert "awslambdaric==" in dockerfile
    gcp = (gcp_only.out / "Dockerfile").read_text()
    assert "awslambdaric" not in gcp


def test_hygiene_alarms_watch_the_new_version(minimal: Rendered) -> None:
    template = yaml_file(minimal.out / "template.yaml")
    for name in ("ErrorsAlarm", "ThrottlesAlarm", "DurationP90Alarm"):
        dimensions = template["Resources"][name]["Properties"]["Dimensions"]
        version = next(d for d in dimensions if d["Name"] == "ExecutedVersion")
        assert version["Value"] == {"Fn::GetAtt": ["McpFunction.Version", "Version"]}


def test_hygiene_http_redirects_to_https_and_images_are_cleaned_up(full: Rendered) -> None:
    found = resources(hcl_module(full.terraform))
    redirect = found["google_compute_url_map.https_redirect"]["default_url_redirect"][0]
    assert redirect["https_redirect"] is True
    rule = found["google_compute_global_forwarding_rule.http"]
    assert unquote(rule["port_range"]) == "80"
    repository = found["google_artifact_registry_repository.images"]
    assert repository["cleanup_policy_dry_run"] is False
    assert "aws_ecr_lifecycle_policy.images" in found


def test_hygiene_optional_cloud_armor_and_waf(full: Rendered, sam_rest: Rendered) -> None:
    found = resources(hcl_module(full.terraform))
    assert found["google_compute_backend_service.run"]["security_policy"] == (
        "${google_compute_security_policy.mcp.id}"
    )
    template = yaml_file(sam_rest.out / "template.yaml")
    assert template["Resources"]["WebAcl"]["Properties"]["Scope"] == "REGIONAL"
    association = template["Resources"]["WebAclAssociation"]["Properties"]
    assert "/restapis/${McpRestApi}/stages/${Stage}" in association["ResourceArn"]["Fn::Sub"]
