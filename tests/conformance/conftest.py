"""Serve examples/conformance/server.py with `cloudmcp serve` for the conformance suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from cloudmcp_serving import CONFORMANCE_FIXTURE, Served, serve


@pytest.fixture
def conformance_server(tmp_path: Path) -> Iterator[Served]:
    """A fresh fixture server for each run, so no run sees another's sessions or state."""
    yield from serve(CONFORMANCE_FIXTURE, tmp_path / "server.log")
