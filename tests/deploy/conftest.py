"""Fixtures for the deploy tests: each config rendered once per test module."""

from __future__ import annotations

import pytest
from deploy_support import CONFIGS, Rendered, render


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render(request.param, tmp_path_factory.mktemp(f"render-{request.param}"))
