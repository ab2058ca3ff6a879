"""The `cloudmcp` command line.

Each command lives beside the code it drives and registers itself here; a command's
heavy imports happen when it runs, so `cloudmcp --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that define `register(commands)`, in the order `--help` lists them.
COMMAND_MODULES = (
    "cloudmcp.http.serve",
    "cloudmcp.aws_lambda.cli",
    "cloudmcp.deploy.cli",
    "cloudmcp.ops.probe",
    "cloudmcp.project",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudmcp", description="Run MCP servers in production.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command still being built
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # Whatever follows `--` is another program's command line (`serve --stdio -- npx ...`).
    split = words.index("--") if "--" in words else len(words)
    args = build_parser().parse_args(words[:split])
    args.trailing = words[split + 1 :]
    code: int | None = args.run(args)
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
