"""An app that exercises every feature, for the in-process protocol tests."""

from __future__ import annotations

from typing import Any

from cloudmcp import Context, MCPApp, ToolError
from cloudmcp.state.memory import MemoryStore


def make_app(**options: Any) -> MCPApp:
    options.setdefault("store", MemoryStore())
    app = MCPApp("protocol-test", "1.2.3", instructions="For tests.", **options)

    @app.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @app.tool()
    def refuse() -> str:
        raise ToolError("no, and the model may read why")

    @app.tool()
    async def ask_name(ctx: Context) -> str:
        """Asks the user for a name, even from inside a broad `except Exception`."""
        try:
            answer = await ctx.elicit("Your name?", {"type": "object", "properties": {}})
        except Exception:  # a user's defensive habit must not swallow the ask
            return "swallowed"
        return f"hello {(answer.content or {}).get('name')}"

    @app.tool()
    async def confirm(ctx: Context) -> str:
        answer = await ctx.elicit("Sure?", {"type": "object", "properties": {}})
        return answer.action

    @app.tool()
    async def progress(ctx: Context) -> str:
        await ctx.report_progress(1, total=2)
        await ctx.info("halfway")
        await ctx.report_progress(2, total=2)
        return "done"

    @app.tool(rate_limit="2/60")
    def limited() -> str:
        return "ok"

    @app.tool()
    def big() -> str:
        return "x" * 5000

    @app.resource("note://{name}", mime_type="text/plain")
    def note(name: str) -> str:
        return f"note {name}"

    @app.resource("config://app")
    def config() -> dict[str, Any]:
        return {"debug": False}

    @app.prompt()
    def greet(name: str) -> str:
        return f"Greet {name}."

    @app.completion("ref/prompt", "greet")
    def names(argument: str, value: str, context: dict[str, Any]) -> list[str]:
        return [n for n in ("ada", "alan", "grace") if n.startswith(value)]

    return app
