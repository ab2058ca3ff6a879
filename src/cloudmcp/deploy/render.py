"""`deploy render`: write every artifact for one config into an output directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cloudmcp.deploy.cloudbuild import render_cloudbuild
from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.dockerfile import render_dockerfile, render_dockerignore
from cloudmcp.deploy.sam import render_sam
from cloudmcp.deploy.stdio_image import stdio_dockerfile
from cloudmcp.deploy.terraform import render_terraform
from cloudmcp.ops.dashboard import render_json as render_dashboard


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the output directory
    text: str


def render_all(
    config: DeployConfig,
    default_environment: str,
    dockerfile_path: str = "Dockerfile",
    source: str = "cloudmcp.toml",
) -> list[RenderedFile]:
    """Every file, in memory; `dockerfile_path` is the Dockerfile relative to the build context."""
    files = [
        RenderedFile("Dockerfile", _dockerfile(config, source)),
        RenderedFile(".dockerignore", render_dockerignore()),
        RenderedFile(
            "cloudbuild.yaml", render_cloudbuild(config, default_environment, dockerfile_path)
        ),
    ]
    if dockerfile_path != "Dockerfile":
        # BuildKit reads <Dockerfile>.dockerignore beside a Dockerfile outside the context root.
        files.append(RenderedFile("Dockerfile.dockerignore", render_dockerignore()))
    if config.aws is not None:
        files.append(RenderedFile("template.yaml", render_sam(config, default_environment)))
    files.extend(
        RenderedFile(f"terraform/{name}", text) for name, text in render_terraform(config).items()
    )
    # Graphs of the service's /metrics, to import into Grafana (cloudmcp.ops.dashboard).
    dashboard = render_dashboard(f"cloudmcp: {config.service.name}")
    files.append(RenderedFile("grafana/cloudmcp-dashboard.json", dashboard))
    return files


def _dockerfile(config: DeployConfig, source: str) -> str:
    dockerfile = render_dockerfile(config, source)
    return dockerfile if config.stdio is None else stdio_dockerfile(dockerfile, config.stdio)


def write_files(files: list[RenderedFile], out: Path) -> None:
    for item in files:
        target = out / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.text, encoding="utf-8")


def render_to(config: DeployConfig, config_path: Path, out: Path, environment: str) -> list[Path]:
    """Render into `out`; the build context is the config file's directory (the project root)."""
    context = config_path.resolve().parent
    dockerfile = Path(os.path.relpath(out.resolve() / "Dockerfile", context)).as_posix()
    files = render_all(config, environment, dockerfile, source=config_path.name)
    write_files(files, out)
    return [out / item.path for item in files]
