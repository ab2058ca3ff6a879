"""Errors the deploy command reports to a person, each naming what to fix."""

from __future__ import annotations

from cloudmcp.errors import ConfigError, DeployError

__all__ = ["ConfigError", "DeployError"]
