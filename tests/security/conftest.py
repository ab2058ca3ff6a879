"""The security tests reuse tests/auth: its authorization server, app and wire helpers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))

from auth_fixtures import authorization_server, wire_for

__all__ = ["authorization_server", "wire_for"]
