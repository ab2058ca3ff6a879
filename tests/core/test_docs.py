"""The README documents every setting, and its two front-door commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

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
