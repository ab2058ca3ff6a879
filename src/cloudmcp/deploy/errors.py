"""Errors the deploy command reports to a person, each naming what to fix."""

from __future__ import annotations


class DeployError(Exception):
    """Base of every error `cloudmcp deploy` prints instead of a traceback."""


class ConfigError(DeployError):
    """The config is invalid; `key` is the dotted TOML key at fault."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}")
        self.source = source
        self.key = key
        self.reason = reason
