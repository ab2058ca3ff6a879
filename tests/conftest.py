"""Shared test setup. Helpers are found through pytest's `pythonpath` (pyproject.toml).

Suites that start processes, talk to Redis or run the Node tools are marked
`integration`, by folder: `pytest -m "not integration"` runs the in-process ones alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
#: Folders whose tests start servers, Redis, nginx, the Lambda emulator or Node tools.
INTEGRATION = frozenset(
    {
        "auth",
        "aws_lambda",
        "conformance",
        "interop",
        "multi_instance",
        "ops",
        "packaging",
        "security",
        "state",
        "stdio",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.path).relative_to(TESTS).parts[0]
        if folder in INTEGRATION:
            item.add_marker(pytest.mark.integration)
