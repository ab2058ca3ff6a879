"""Fixtures for the security tests (defined in auth_fixtures.py, shared with tests/security)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from auth_fixtures import authorization_server, wire_for

__all__ = ["authorization_server", "wire_for"]
