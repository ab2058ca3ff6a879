"""The built wheel, as a new user gets it: built and checked like `make dist`, installed
into a fresh virtual environment, and serving a project made by `cloudmcp init` there,
probed with a real MCP request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudmcp_serving import free_port
from wire import meta, modern_headers

ROOT = Path(__file__).resolve().parents[2]


def run(command: list[str], cwd: Path, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and sdist of this checkout, built in isolation and checked."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], ROOT)
    built = sorted(out.iterdir())
    run([sys.executable, "-m", "twine", "check", "--strict", *map(str, built)], ROOT)
    return out


def test_the_wheel_carries_the_package_and_its_templates(dist: Path) -> None:
    (wheel,) = dist.glob("cloudmcp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cloudmcp/py.typed" in names
    assert "cloudmcp/project/templates/server.py.tmpl" in names
    assert not [name for name in names if name.startswith("tests/")]
    (sdist,) = dist.glob("cloudmcp-*.tar.gz")
    assert sdist.stat().st_size > 0


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only the wheel (and what it depends on)."""
    folder = tmp_path_factory.mktemp("venv") / "env"
    run([sys.executable, "-m", "venv", str(folder)], folder.parent)
    (wheel,) = dist.glob("cloudmcp-*.whl")
    run([str(folder / "bin" / "pip"), "install", "--quiet", str(wheel)], folder.parent)
    return folder


@pytest.fixture(scope="module")
def project(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cloudmcp init demo-mcp` from the fresh environment, installed there with its tests."""
    parent = tmp_path_factory.mktemp("projects")
    run([str(venv / "bin" / "cloudmcp"), "init", "demo-mcp"], parent)
    folder = parent / "demo-mcp"
    run([str(venv / "bin" / "pip"), "install", "--quiet", "-e", ".[test]"], folder)
    return folder


def test_the_project_depends_on_the_wheel_it_was_made_with(project: Path, dist: Path) -> None:
    (wheel,) = dist.glob("cloudmcp-*.whl")
    assert f'"cloudmcp @ {wheel.as_uri()}"' in (project / "pyproject.toml").read_text()


def test_the_projects_tests_pass(project: Path, venv: Path) -> None:
    out = run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project
    )
    assert "3 passed" in out


@pytest.fixture
def served(project: Path, venv: Path) -> Iterator[str]:
    """`cloudmcp serve server:app` in the project folder, as its README says."""
    port = free_port()
    log = project / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL", "PYTHONPATH")}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(venv / "bin" / "cloudmcp"), "serve", "server:app", "--port", str(port)],
            cwd=project,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_installed_wheel_serves_the_project(served: str) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "greet", "arguments": {"name": "Ada"}, "_meta": meta()},
    }
    answer = httpx.post(served, json=body, headers=modern_headers("tools/call", "greet"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["content"][0]["text"] == "Hello, Ada!"
