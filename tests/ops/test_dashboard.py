"""The Grafana dashboard reads only series cloudmcp exports, and ships with the deploy files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from cloudmcp.ops.dashboard import render, render_json
from cloudmcp.ops.metrics import Metrics


def exported_names() -> set[str]:
    metrics = Metrics(CollectorRegistry())
    names = set()
    for family in metrics.registry.collect():
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_count", "_sum")}
        else:
            names.add(family.name)
    return names


def test_every_query_reads_an_exported_series() -> None:
    dashboard = render("cloudmcp: test")
    exported = exported_names()
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queried |= set(re.findall(r"(?:cloudmcp|mcp_server)_[a-z_]+", target["expr"]))
    assert queried and queried <= exported, queried - exported
    # The conventions' names, and cloudmcp's own beside them.
    assert {
        "mcp_server_operation_duration_seconds_count",
        "mcp_server_operation_duration_seconds_bucket",
        "mcp_server_session_duration_seconds_bucket",
        "cloudmcp_rejections_total",
    } <= queried
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dashboard["panels"])
    assert json.loads(render_json()) == render()


def test_deploy_render_writes_the_dashboard() -> None:
    from cloudmcp.deploy.config import load_config
    from cloudmcp.deploy.render import render_all

    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "examples" / "deploy" / "minimal.toml")
    files = {f.path: f.text for f in render_all(config, "production")}
    dashboard = json.loads(files["grafana/cloudmcp-dashboard.json"])
    assert dashboard["title"] == f"cloudmcp: {config.service.name}"
    assert dashboard["panels"]


def test_cloud_run_knows_its_project_for_trace_links() -> None:
    """Access lines link to Cloud Trace only with `GOOGLE_CLOUD_PROJECT`, which Cloud Run
    does not set: the pipeline and Terraform both do."""
    from cloudmcp.deploy.config import load_config
    from cloudmcp.deploy.render import render_all

    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "examples" / "deploy" / "minimal.toml")
    files = {f.path: f.text for f in render_all(config, "production")}
    build = next(text for path, text in files.items() if path.endswith("cloudbuild.yaml"))
    assert f"GOOGLE_CLOUD_PROJECT={config.gcp.project}" in build
    run = next(text for path, text in files.items() if path.endswith("gcp_cloud_run.tf"))
    assert "merge({ GOOGLE_CLOUD_PROJECT = var.gcp_project }, var.env_vars)" in run
