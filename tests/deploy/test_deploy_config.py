"""The config: strict decoding, errors that name the key, environments and pyproject.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deploy_support import EXAMPLES, HERE

from cloudmcp.deploy.config import load_config, parse_config
from cloudmcp.deploy.environments import resolve_environment
from cloudmcp.deploy.errors import ConfigError

BASE: dict[str, Any] = {
    "service": {"name": "hello-mcp", "app": "server:app"},
    "gcp": {"project": "acme-hello", "region": "us-central1"},
}
AWS = {"aws": {"region": "us-east-1"}}


def with_(**tables: Any) -> dict[str, Any]:
    document = {key: dict(value) for key, value in BASE.items()}
    for table, value in tables.items():
        document[table] = {**document.get(table, {}), **value} if isinstance(value, dict) else value
    return document


@pytest.mark.parametrize(
    ("document", "key", "reason"),
    [
        (with_(service={"nmae": "x"}), "service.nmae", "unknown key"),
        (with_(colour={}), "colour", "unknown key"),
        ({"service": BASE["service"]}, "gcp", "required key is missing"),
        (with_(service={"app": None}), "service.app", "Expected `str`"),
        (with_(service={"name": "Hello_MCP"}), "service.name", "matching regex"),
        (with_(resources={"cpu": "2"}), "resources.cpu", "Expected `int`, got `str`"),
        (with_(resources={"memory": "1GB"}), "resources.memory", "matching regex"),
        (with_(resources={"max_instances": 0}), "resources.max_instances", ">= 1"),
        (with_(gcp={"region": "us-east-1"}), "gcp.region", "matching regex"),
        (with_(aws={"region": "us-central1"}), "aws.region", "matching regex"),
        (with_(aws={"region": "us-east-1", "api": "grpc"}), "aws.api", "Invalid enum value"),
        (
            with_(environments={"staging": {"memory": "lots"}}),
            "environments.staging.memory",
            "matching regex",
        ),
        (with_(environments={"staging": {"cpus": 2}}), "environments.staging.cpus", "unknown key"),
        (with_(env={"REDIS_URL": "redis://x"}), "env.REDIS_URL", "[redis].secret"),
        (with_(env={"STATE_KEYS": "k"}), "env.STATE_KEYS", "[secrets]"),
        (with_(env={"PORT": "9000"}), "env.PORT", "set by the deployment"),
        (with_(secrets={"API_KEYS": "not a valid id!"}), "secrets.API_KEYS", "matching regex"),
        (with_(domain={"name": "mcp.example.com", "zone": "example.com"}), "domain", "[aws]"),
        (
            with_(domain={"name": "https://mcp.example.com", "zone": "example.com"}, **AWS),
            "domain.name",
            "matching regex",
        ),
        (
            with_(domain={"name": "mcp.example.org", "zone": "example.com"}, **AWS),
            "domain.name",
            "not inside zone",
        ),
        (
            with_(environments={"staging": {"min_instances": 9, "max_instances": 2}}),
            "environments.staging.min_instances",
            "exceeds max_instances",
        ),
        (with_(gcp={"traffic_steps": [50, 10]}), "gcp.traffic_steps", "ending at 100"),
        (with_(redis={}, **AWS), "redis", "either managed = true or secret"),
        (with_(redis={"managed": True, "secret": "r"}), "redis", "either managed = true"),
        (with_(redis={"managed": True, "gcp_network": "n"}), "redis.gcp_network", "unknown key"),
        (with_(env={"KEY_PREFIX": "x:"}), "env.KEY_PREFIX", "per environment"),
        (with_(secrets={"API_KEYS": "keys"}), "secrets.API_KEYS", "AUTH including api_key"),
        (with_(security={"waf": True}, **AWS), "security.waf", "REST API"),
        (with_(aws={"region": "us-east-1", "api": "rest"}), "aws.api", "deployer = 'sam'"),
        (with_(security={"cloud_armor": True}), "security.cloud_armor", "[domain]"),
        (with_(resources={"timeout": 1200}, **AWS), "resources.timeout", "900"),
        (with_(environments={}), "environments", "at least one"),
    ],
)
def test_invalid_config_names_the_key(document: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"cloudmcp.toml: {key}: ")


def test_defaults_are_the_seed_settings() -> None:
    config = parse_config(BASE)
    resources = config.resources
    assert (resources.memory, resources.cpu, resources.timeout) == ("1Gi", 2, 300)
    assert (resources.concurrency, resources.min_instances, resources.max_instances) == (100, 1, 50)
    assert list(config.environments) == ["production"]


def test_environment_overrides_apply_over_top_level_values() -> None:
    config = load_config(EXAMPLES / "cloudmcp.toml")
    staging = resolve_environment(config, "staging")
    production = resolve_environment(config, "production")
    assert (staging.gcp_project, production.gcp_project) == ("acme-mcp-staging", "acme-mcp-prod")
    assert (staging.min_instances, staging.max_instances, staging.memory_mib) == (0, 5, 512)
    assert (production.min_instances, production.max_instances) == (1, 50)
    assert staging.env_vars["LOG_LEVEL"] == "debug" and production.env_vars["LOG_LEVEL"] == "info"
    assert staging.env_vars["ENVIRONMENT"] == "staging"
    assert staging.env_vars["ALLOWED_ORIGINS"] == "https://app.example.com"
    # A worker per vCPU where state is shared in Redis; staging has one vCPU.
    assert "WORKERS" not in staging.env_vars and production.env_vars["WORKERS"] == "2"
    assert staging.domain == "mcp-staging.example.com"
    assert production.domain == "mcp.example.com"
    with pytest.raises(ConfigError, match="qa: is not an environment"):
        resolve_environment(config, "qa")


def test_pyproject_tool_table_is_read() -> None:
    config = load_config(HERE / "configs" / "pyproject.toml")
    assert config.service.name == "notes-mcp"
    assert config.gcp.traffic_steps == [100]


def test_pyproject_without_the_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "tool.cloudmcp"


def test_unreadable_toml_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cloudmcp.toml"
    path.write_text("[service\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")
