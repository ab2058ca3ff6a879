"""Operations tests: a live `cloudmcp serve` of tests/ops/slow_app.py per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ops_serving import Live, start, stop


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    server = start(tmp_path)
    yield server
    stop(server)
