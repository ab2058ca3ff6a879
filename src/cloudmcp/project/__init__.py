"""`cloudmcp init NAME`: a new project, ready to run, test and deploy.

It writes `NAME/` with a server module holding an `MCPApp`, a `pyproject.toml` that
depends on cloudmcp, a test that calls the app in-process (`cloudmcp.testing`), a
`cloudmcp.toml` for `cloudmcp deploy`, and a README saying what to run. The files come
from `templates/` (package data, `.tmpl` so that linters leave them alone), with
`$name`-style placeholders.

cloudmcp is not on a package index yet, so the project depends on it where this copy
came from (PEP 610's `direct_url.json`): the wheel file, the git commit or the folder it
was installed from; `--cloudmcp SPEC` names another.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from importlib import metadata, resources
from pathlib import Path
from string import Template
from typing import Any

#: A project name: what PyPI and `cloudmcp deploy` (a DNS label) both accept.
_NAME = re.compile(r"[a-z][a-z0-9-]{0,48}[a-z0-9]")
#: The project's files; each is `templates/<path>.tmpl` (".gitignore": `gitignore.tmpl`).
FILES = (
    "server.py",
    "pyproject.toml",
    "cloudmcp.toml",
    "README.md",
    ".gitignore",
    "tests/test_server.py",
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "init",
        help="create a new project: an MCP server, its tests and its deploy config",
        description="Create NAME/ with server.py (an MCPApp), pyproject.toml, "
        "tests/test_server.py and cloudmcp.toml. Then: cd NAME && pip install -e '.[test]' "
        "&& pytest && cloudmcp serve server:app",
    )
    parser.add_argument(
        "name", help="the project's name: lower-case letters, digits and dashes (my-server)"
    )
    parser.add_argument(
        "--cloudmcp",
        metavar="SPEC",
        help="the cloudmcp requirement to depend on (default: where this cloudmcp was "
        "installed from, e.g. 'cloudmcp @ git+https://github.com/ORG/cloudmcp@v0.1.0')",
    )
    parser.add_argument(
        "--dir", default=".", help="the folder to create the project in (default: here)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        folder = create(args.name, Path(args.dir), requirement=args.cloudmcp)
    except ValueError as exc:
        print(f"cloudmcp init: {exc}", file=sys.stderr)
        return 2
    print(f"Created {folder}. Next:")
    print(f"  cd {folder}")
    print("  python -m venv .venv && .venv/bin/pip install -e '.[test]'")
    print("  .venv/bin/pytest                      # the test calls the app in-process")
    print("  .venv/bin/cloudmcp serve server:app   # http://127.0.0.1:8000/mcp")
    if "file://" in requirement_of(args.cloudmcp):
        print(
            "Before `cloudmcp deploy`, point the cloudmcp dependency in pyproject.toml at a "
            "git URL or an index: the image build cannot reach a file on this machine."
        )
    return 0


def create(name: str, parent: Path, *, requirement: str | None = None) -> Path:
    """Write the project `name` into `parent/name`; ValueError when the name is not
    allowed or the folder exists already."""
    if not _NAME.fullmatch(name) or "--" in name:
        raise ValueError(
            f"{name!r}: expected lower-case letters, digits and dashes, starting with a "
            "letter (it names the package and the deployed service)"
        )
    folder = parent / name
    if folder.exists():
        raise ValueError(f"{folder} exists already")
    values = {
        "name": name,
        "title": name.replace("-", " ").capitalize(),
        "requirement": requirement_of(requirement),
    }
    templates = resources.files(__name__).joinpath("templates")
    for target in FILES:
        source = templates.joinpath(f"{target.lstrip('.')}.tmpl")
        text = source.read_text(encoding="utf-8")
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
    return folder


def requirement_of(given: str | None) -> str:
    """The cloudmcp requirement a new project gets: `given`, else where this copy was
    installed from, else a version range for an index."""
    if given:
        return given
    try:
        distribution = metadata.distribution("cloudmcp")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "cloudmcp"
    origin = json.loads(distribution.read_text("direct_url.json") or "{}")
    url = origin.get("url", "")
    vcs = origin.get("vcs_info")
    if vcs and url:
        return f"cloudmcp @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}".rstrip("@")
    if url:
        return f"cloudmcp @ {url}"  # a wheel, an sdist or a folder on this machine
    major, minor, *_ = distribution.version.split(".")
    return f"cloudmcp>={major}.{minor},<{int(major) + 1}"
