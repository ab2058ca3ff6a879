"""`AdaptedApp`: an `MCPApp` whose entries ask another framework's server."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from cloudmcp.adapters.lifespan import FrameworkLifespan
from cloudmcp.application import MCPApp

log = logging.getLogger("cloudmcp")


class AdaptedApp(MCPApp):
    """Serves an app written for `framework`; its lifespan runs once per process."""

    def __init__(
        self, name: str, version: str, *, framework: str, lifespan: FrameworkLifespan, **info: Any
    ) -> None:
        super().__init__(name, version, **info)
        #: The framework and version the app was written for, e.g. `mcp 1.30.0 FastMCP`.
        self.framework = framework
        self.framework_lifespan = lifespan

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        async with super().lifespan(_app):
            await self.framework_lifespan.start()
            try:
                yield
            finally:
                await self.framework_lifespan.stop()


def not_carried(framework: str, features: list[str]) -> None:
    """Say once, at load, which of the app's features cloudmcp does not serve."""
    if features:
        log.warning(
            "%s app: not served by cloudmcp (configure cloudmcp instead, see docs/migrate.md): %s",
            framework,
            "; ".join(features),
        )


__all__ = ["AdaptedApp", "not_carried"]
