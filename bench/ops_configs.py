"""The operations configurations both operations benches measure (`ops_overhead.py`
over HTTP, `ops_inprocess.py` in-process), and how a run picks and adds to them."""

from __future__ import annotations

import argparse

JSON_LINES = {"METRICS": "on", "ACCESS_LOG": "on", "LOG_FORMAT": "json"}

#: Environments of `cloudmcp serve`, by name; the first is what the others are compared with.
CONFIGS = {
    "off": {"METRICS": "off", "ACCESS_LOG": "off"},
    "metrics": {"METRICS": "on", "ACCESS_LOG": "off"},
    "metrics+log": JSON_LINES,
    "metrics+every-line": {**JSON_LINES, "ACCESS_LOG_PER_SECOND": "0"},
    "metrics+log@1%": {**JSON_LINES, "ACCESS_LOG_SAMPLE_RATE": "0.01"},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", help="measure these configurations (comma-separated) besides off")
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME:K=V,K=V",
        help="another configuration to measure, e.g. 'text-log:ACCESS_LOG=on,LOG_FORMAT=text' "
        "(PYTHONPATH=... measures another checkout)",
    )


def chosen(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """The built-in configurations `--only` keeps (off always), then every `--config`."""
    configs = dict(CONFIGS)
    if args.only:
        configs = {k: v for k, v in configs.items() if k == "off" or k in args.only.split(",")}
    for spec in args.config:
        name, _, assignments = spec.partition(":")
        configs[name] = dict(item.split("=", 1) for item in assignments.split(",") if item)
    return configs
