"""`cloudmcp init NAME`: a project that runs, tests and deploys as made."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cloudmcp_serving import cloudmcp_command

from cloudmcp.loader import load_app
from cloudmcp.project import FILES, create, requirement_of
from cloudmcp.testing import TestClient


def test_the_project_has_every_file_filled_in(tmp_path: Path) -> None:
    folder = create("weather-tools", tmp_path, requirement="cloudmcp @ file:///x.whl")
    for name in FILES:
        text = (folder / name).read_text()
        assert "$" not in text.replace("${", "").replace("$ ", ""), name
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert project["project"]["name"] == "weather-tools"
    assert project["project"]["dependencies"] == ["cloudmcp @ file:///x.whl"]
    deploy = tomllib.loads((folder / "cloudmcp.toml").read_text())
    assert deploy["service"] == {"name": "weather-tools", "app": "server.py"}


async def test_the_app_answers(tmp_path: Path) -> None:
    folder = create("weather-tools", tmp_path)
    app = load_app(str(folder / "server.py"))
    async with TestClient(app) as client:
        result = await client.call_tool("count_words", {"text": "a b"})
    assert result["structuredContent"] == {"words": 2, "characters": 3}


def test_its_tests_pass_and_its_deploy_config_renders(tmp_path: Path) -> None:
    folder = create("weather-tools", tmp_path)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout
    rendered = subprocess.run(
        [*cloudmcp_command(), "deploy", "render", "--config", "cloudmcp.toml", "--out", "out"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert (folder / "out" / "Dockerfile").is_file()


@pytest.mark.parametrize("name", ["Weather", "1st", "x-", "a--b", "x" * 60, "a_b", "a/b"])
def test_names_that_cannot_be_a_package_and_a_service_are_refused(
    tmp_path: Path, name: str
) -> None:
    done = subprocess.run(
        [*cloudmcp_command(), "init", name, "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"cloudmcp init: {name!r}: expected lower-case")
    assert not any(tmp_path.iterdir())


def test_an_existing_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ValueError, match="exists already"):
        create("taken", tmp_path)


def test_the_requirement_follows_where_cloudmcp_came_from() -> None:
    assert requirement_of("cloudmcp @ git+https://example.com/c.git@v1") == (
        "cloudmcp @ git+https://example.com/c.git@v1"
    )
    # This checkout is installed editable from its folder (PEP 610 direct_url.json).
    assert requirement_of(None) == f"cloudmcp @ {Path(__file__).resolve().parents[2].as_uri()}"
