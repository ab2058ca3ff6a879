"""`deploy render`: write every artifact for one config into an output directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cloudmcp.deploy.cloudbuild import render_cloudbuild
from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.dockerfile import (
    render_dockerfile,
    render_dockerignore,
    render_gcloudignore,
)
from cloudmcp.deploy.errors import ConfigError
from cloudmcp.deploy.sam import render_sam
from cloudmcp.deploy.stdio_image import stdio_dockerfile
from cloudmcp.deploy.terraform import render_terraform
from cloudmcp.ops.dashboard import render_json as render_dashboard


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the output directory
    text: str


# What release/release.py imports, copied beside it as a package of their own: the release
# steps run in the cloud CLI images, where cloudmcp's dependencies are not installed. Each of
# these uses only the standard library (tests/deploy run the copy under a bare Python).
RELEASE_MODULES = ("cloudmcp/errors.py", "cloudmcp/ops/probe.py")
RELEASE_PACKAGE_DOC = '"""The slice of cloudmcp the release script runs with."""\n'


def release_files() -> list[RenderedFile]:
    """The release script and the modules it imports, as the pipeline's CLI steps run them."""
    from cloudmcp.deploy import release

    source = Path(release.__file__).resolve().parents[2]
    files = [
        RenderedFile("release/release.py", Path(release.__file__).read_text(encoding="utf-8")),
        RenderedFile("release/cloudmcp/__init__.py", RELEASE_PACKAGE_DOC),
        RenderedFile("release/cloudmcp/ops/__init__.py", RELEASE_PACKAGE_DOC),
    ]
    files += [
        RenderedFile(f"release/{module}", (source / module).read_text(encoding="utf-8"))
        for module in RELEASE_MODULES
    ]
    return files


def render_all(
    config: DeployConfig,
    default_environment: str,
    out_in_context: str = ".",
    source: str = "cloudmcp.toml",
) -> list[RenderedFile]:
    """Every file, in memory; `out_in_context` is the output directory inside the build context."""
    files = [
        RenderedFile("Dockerfile", _dockerfile(config, source)),
        RenderedFile(".dockerignore", render_dockerignore()),
        RenderedFile(".gcloudignore", render_gcloudignore()),
        RenderedFile(
            "cloudbuild.yaml", render_cloudbuild(config, default_environment, out_in_context)
        ),
        *release_files(),
    ]
    if out_in_context != ".":
        # BuildKit reads <Dockerfile>.dockerignore beside a Dockerfile outside the context root.
        files.append(RenderedFile("Dockerfile.dockerignore", render_dockerignore()))
    if config.aws is not None and config.aws.deployer == "sam":
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


def output_in_context(config_path: Path, out: Path) -> str:
    """The output directory relative to the build context: the config file's directory.

    Cloud Build uploads only the context, and the Dockerfile and release script must be in it.
    """
    context = config_path.resolve().parent
    relative = Path(os.path.relpath(out.resolve(), context)).as_posix()
    if relative == ".." or relative.startswith("../"):
        raise ConfigError(
            "--out",
            str(out),
            f"must be inside the build context {context} (the config file's directory): "
            "Cloud Build uploads only that directory",
        )
    return relative


def render_to(config: DeployConfig, config_path: Path, out: Path, environment: str) -> list[Path]:
    """Render into `out`, which must lie inside the build context (the config's directory)."""
    files = render_all(
        config, environment, output_in_context(config_path, out), source=config_path.name
    )
    write_files(files, out)
    return [out / item.path for item in files]
