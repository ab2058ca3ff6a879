"""Apps written for other Python MCP frameworks, served by `cloudmcp serve` from the
framework's own virtual environment (.tools/frameworks/<name>, from
scripts/install-tools.sh: the frameworks conflict with one another).

Tests that run a framework are marked `integration` and `frameworks`:
`pytest -m frameworks` runs them alone, `pytest -m "not frameworks"` leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cloudmcp_serving import Served
from frameworks import FRAMEWORKS, Framework


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "frameworks: runs apps of other MCP frameworks (.tools/frameworks venvs)"
    )


@pytest.fixture(scope="module", params=list(FRAMEWORKS))
def framework(request: pytest.FixtureRequest) -> Framework:
    return FRAMEWORKS[request.param]


@pytest.fixture(scope="module")
def served(framework: Framework, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`cloudmcp serve fixture.py:mcp` from the framework's venv, on a free port."""
    log = tmp_path_factory.mktemp(framework.name) / "server.log"
    yield from framework.serve(log)
