"""The README documents every setting, and its two front-door commands exist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import mcp
import msgspec
import pytest
from cloudmcp_serving import Served, serve
from mcp import types

from cloudmcp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    names = {f.name.upper() for f in msgspec.structs.fields(Settings)}
    assert names - documented == set(), "document these settings in README.md"


def test_front_door_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "```sh\nmake serve\n```" in readme and "```sh\nmake test\n```" in readme
    assert re.search(r"^serve:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def readme_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The README's "Write a server" example, served as written."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"## Write a server\n\n```python\n(.*?)```", readme, re.S)
    assert found, "the README lost its example"
    folder = tmp_path_factory.mktemp("readme")
    (folder / "inventory.py").write_text(found[1])
    yield from serve(folder / "inventory.py", folder / "server.log")


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_readme_example_works(readme_app: Served, mode: str) -> None:
    async def confirm(context: object, params: object) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"ok": True})

    async with mcp.Client(readme_app.url, mode=mode, elicitation_callback=confirm) as client:  # type: ignore[arg-type]
        stock = await client.call_tool("lookup", {"sku": "A1"})
        assert stock.structured_content == {"sku": "A1", "warehouse": "main", "on_hand": 12}
        refused = await client.call_tool("lookup", {"sku": "a-1"})
        assert refused.is_error
        ordered = await client.call_tool("restock", {"sku": "A1", "region": "eu"})
        assert ordered.content[0].text == "ordered"  # type: ignore[union-attr]
        summary = await client.read_resource("stock://north/summary")
        assert '"skus":1200' in summary.contents[0].text  # type: ignore[union-attr]
        prompt = await client.get_prompt("reorder_plan", {"warehouse": "north"})
        assert "north" in prompt.messages[0].content.text  # type: ignore[union-attr]


def test_readme_testing_example_runs_as_written(tmp_path: Path) -> None:
    """The README's `cloudmcp.testing` example, against its "Write a server" app."""
    import subprocess
    import sys
    import textwrap

    readme = (ROOT / "README.md").read_text()
    server = re.search(r"## Write a server\n\n```python\n(.*?)```", readme, re.S)
    testing = re.search(r"- \*\*Test it\*\*.*?```python\n(.*?)```", readme, re.S)
    assert server and testing, "the README lost an example"
    script = tmp_path / "check.py"
    script.write_text(
        server[1]
        + "\n"
        + textwrap.dedent(testing[1])
        + "\nimport asyncio\n\nasyncio.run(test_lookup())\nprint('ran')\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ran"
