"""Shared test setup. Helpers are found through pytest's `pythonpath` (pyproject.toml).

Suites that start processes, talk to Redis or run the Node tools are marked
`integration`, by folder: `pytest -m "not integration"` runs the in-process ones alone.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.path).relative_to(TESTS).parts[0]
        if folder in INTEGRATION:
            item.add_marker(pytest.mark.integration)


def _shared_redis_run_id() -> str | None:
    """The `run_id` of the shared Redis on 6379 (None when none answers): a new one means
    something restarted it."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), 1) as sock:
            sock.sendall(b"INFO server\r\n")
            received = b""
            while b"run_id:" not in received or not received.endswith(b"\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
    except OSError:
        return None
    for line in received.decode(errors="replace").splitlines():
        if line.startswith("run_id:"):
            return line.partition(":")[2].strip()
    return None


@pytest.fixture(scope="session", autouse=True)
def _shared_redis_left_alone() -> Iterator[None]:
    """The Redis on 127.0.0.1:6379 serves everything on the machine: no test may stop or
    restart it (tests that need to start their own, on a free port)."""
    before = _shared_redis_run_id()
    yield
    if before is not None:
        assert _shared_redis_run_id() == before, "a test restarted the Redis on 127.0.0.1:6379"
