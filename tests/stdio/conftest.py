"""Serve real stdio MCP servers from the registries with `cloudmcp serve --stdio`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cloudmcp_serving import Served
from stdio_serving import EVERYTHING, require, serve_stdio


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """server-everything behind `cloudmcp serve --stdio`, state in memory."""
    log = tmp_path_factory.mktemp("stdio") / "server.log"
    yield from serve_stdio([require(EVERYTHING)], log, {"LOG_LEVEL": "info"})
