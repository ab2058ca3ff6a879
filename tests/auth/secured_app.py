"""The app the security tests serve: tools with and without scopes, and tools that
misbehave (slow, huge, failing). Settings come from the environment when served with
`cloudmcp serve tests/auth/secured_app.py`."""

from __future__ import annotations

import asyncio
from typing import Any

from cloudmcp import Context, MCPApp
from cloudmcp.settings import Settings
from cloudmcp.state.store import Store

INTERNAL_DETAIL = "internal detail: /etc/shadow is unreadable"


def build_app(settings: Settings | None = None, store: Store | None = None) -> MCPApp:
    app = MCPApp("secured", title="Secured test server", settings=settings, store=store)

    @app.tool()
    def echo(text: str) -> str:
        """Repeat the text."""
        return text

    @app.tool()
    def whoami(ctx: Context) -> dict[str, Any]:
        """Who the server thinks is calling."""
        principal = ctx.principal
        return {"id": principal.id, "kind": principal.kind, "scopes": sorted(principal.scopes)}

    @app.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @app.tool(scopes=["admin"])
    def reset(confirm: bool = False) -> str:
        """Only for admins."""
        return "reset" if confirm else "not confirmed"

    @app.tool(scopes=["files:read"])
    def read_file(path: str) -> str:
        return f"contents of {path}"

    @app.resource("file:///secret.txt", scopes=["files:read"])
    def secret() -> str:
        return "the secret"

    @app.resource("file:///public.txt")
    def public() -> str:
        return "public"

    @app.prompt(scopes=["admin"])
    def audit() -> str:
        return "Audit everything."

    @app.tool(timeout=0.3)
    async def slow(seconds: float) -> str:
        await asyncio.sleep(min(seconds, 5.0))
        return "done"

    @app.tool()
    def big(size: int) -> str:
        return "x" * max(0, min(size, 20_000_000))

    @app.tool()
    def boom() -> str:
        raise RuntimeError(INTERNAL_DETAIL)

    return app


app = build_app()
