"""The frameworks whose apps cloudmcp serves, each in its own virtual environment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cloudmcp_serving import ROOT, Served, free_port, run_server

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass(frozen=True)
class Framework:
    name: str
    #: What `serverInfo.name` says.
    server_name: str
    fixture: Path
    #: Whether the framework has a completion handler API (FastMCP 2 and 3 have none).
    completions: bool = True

    @property
    def venv(self) -> Path:
        return ROOT / ".tools" / "frameworks" / self.name

    @property
    def target(self) -> str:
        return f"{self.fixture}:mcp"

    def bin(self, program: str) -> Path:
        path = self.venv / "bin" / program
        if not path.exists():
            raise RuntimeError(f"{path} is missing: run scripts/install-tools.sh")
        return path

    def serve(self, log: Path, *, env: dict[str, str] | None = None) -> Iterator[Served]:
        port = free_port()
        command = [str(self.bin("cloudmcp")), "serve", self.target]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        yield from run_server(command, port, log, path="/mcp", env=env)


FRAMEWORKS = {
    framework.name: framework
    for framework in (
        Framework("mcp1", "sdk-v1-fixture", FIXTURES / "sdk_v1_server.py"),
        Framework("mcp2", "sdk-v2-fixture", FIXTURES / "sdk_v2_server.py"),
        Framework("fastmcp2", "fastmcp2-fixture", FIXTURES / "fastmcp2_server.py", False),
        Framework("fastmcp3", "fastmcp3-fixture", FIXTURES / "fastmcp3_server.py", False),
        Framework("fastmcp4", "fastmcp4-fixture", FIXTURES / "fastmcp4_server.py"),
    )
}
