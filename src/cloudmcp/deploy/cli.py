"""`cloudmcp deploy render | plan`: registered by cloudmcp.cli; imports happen when run."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(commands: Any) -> None:
    deploy = commands.add_parser(
        "deploy",
        help="render and plan the Cloud Run + Lambda deployment from one config",
        description="Render the Dockerfile, cloudbuild.yaml, SAM template and Terraform from "
        "cloudmcp.toml (or [tool.cloudmcp] in pyproject.toml), or print the commands to run.",
    )
    actions = deploy.add_subparsers(dest="deploy_command", metavar="ACTION", required=True)

    render = actions.add_parser("render", help="write every deployment file into a directory")
    render.add_argument("--config", required=True, help="cloudmcp.toml or pyproject.toml")
    render.add_argument("--out", required=True, help="directory to write into")
    render.add_argument(
        "--env", help="environment the files default to (default: the first in the config)"
    )
    render.set_defaults(run=run_render)

    plan = actions.add_parser("plan", help="print the gcloud, sam and terraform commands, in order")
    plan.add_argument("--config", required=True, help="cloudmcp.toml or pyproject.toml")
    plan.add_argument("--env", required=True, help="environment to deploy")
    plan.add_argument(
        "--out", default="deploy", help="where the files are rendered (default: deploy)"
    )
    plan.set_defaults(run=run_plan)


def run_render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cloudmcp.deploy.config import load_config
    from cloudmcp.deploy.environments import resolve_environment
    from cloudmcp.deploy.errors import DeployError
    from cloudmcp.deploy.render import render_to

    try:
        config = load_config(args.config)
        environment = args.env or next(iter(config.environments))
        resolve_environment(config, environment)
        written = render_to(config, Path(args.config), Path(args.out), environment)
    except DeployError as exc:
        print(f"cloudmcp deploy: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def run_plan(args: argparse.Namespace) -> int:
    from cloudmcp.deploy.config import load_config
    from cloudmcp.deploy.errors import DeployError
    from cloudmcp.deploy.plan import build_plan, render_plan

    try:
        config = load_config(args.config)
        steps = build_plan(config, args.env, args.out, args.config)
    except DeployError as exc:
        print(f"cloudmcp deploy: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_plan(steps))
    return 0
