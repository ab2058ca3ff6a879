"""`StdioApp`: an `MCPApp` whose tools, resources and prompts are a stdio server's.

The child's lists are read once per change (its `list_changed` notifications) and kept
as registry entries, so `tools/list`, `server/discover` and the other lists never wait
on a child; calls go to a child leased from the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from cloudmcp.application import MCPApp
from cloudmcp.errors import MCPError
from cloudmcp.protocol.errors import INTERNAL_ERROR
from cloudmcp.stdio.call import forward
from cloudmcp.stdio.child import Child, ChildExited
from cloudmcp.stdio.entries import ChildPrompt, ChildResource, ChildTool
from cloudmcp.stdio.pool import Pool

if TYPE_CHECKING:
    from cloudmcp.app.context import Context

log = logging.getLogger("cloudmcp.stdio")

Kind = Literal["tools", "resources", "prompts"]
#: The list methods of each kind, and the key of their results.
LISTS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "tools": (("tools/list", "tools"),),
    "resources": (
        ("resources/list", "resources"),
        ("resources/templates/list", "resourceTemplates"),
    ),
    "prompts": (("prompts/list", "prompts"),),
}
#: Pages read of one list at most (a child that pages forever is not followed forever).
MAX_PAGES = 100


def _number(name: str, default: str, *, minimum: float) -> float:
    text = os.environ.get(name) or default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected a number") from None
    if value < minimum:
        raise ValueError(f"{name}={text!r}: expected {minimum:g} or more")
    return value


def _whole(name: str, default: str) -> int:
    value = _number(name, default, minimum=1)
    if not value.is_integer():
        raise ValueError(f"{name}={os.environ.get(name)!r}: expected a whole number")
    return int(value)


@dataclass(frozen=True)
class StdioConfig:
    """How the bridge runs its children (environment variables `STDIO_*`)."""

    #: Children running at once, per instance.
    pool_size: int = 4
    #: Calls one child serves at once. 1: each call has its child to itself, so the
    #: child's questions to the client and its log lines reach the right caller; more
    #: is faster for servers that never ask their client anything.
    calls_per_child: int = 1
    #: `principal`: a child serves one caller for its whole life; `none`: any caller.
    isolation: Literal["none", "principal"] = "none"
    #: Seconds a call may wait for its child's answer (0: no limit).
    call_timeout: float = 300.0
    #: Seconds a child has to start and answer `initialize`.
    start_timeout: float = 30.0
    #: Seconds a call waits for a free child when all are busy.
    wait_timeout: float = 30.0

    @classmethod
    def from_env(cls, *, pool_size: int = 4) -> StdioConfig:
        isolation = (os.environ.get("STDIO_ISOLATION") or "none").strip().lower()
        if isolation not in ("none", "principal"):
            raise ValueError(f"STDIO_ISOLATION={isolation!r}: expected none or principal")
        return cls(
            pool_size=_whole("STDIO_POOL_SIZE", str(pool_size)),
            calls_per_child=_whole("STDIO_CALLS_PER_CHILD", "1"),
            isolation="principal" if isolation == "principal" else "none",
            call_timeout=_number("STDIO_CALL_TIMEOUT", "300", minimum=0),
            start_timeout=_number("STDIO_START_TIMEOUT", "30", minimum=0.1),
            wait_timeout=_number("STDIO_WAIT_TIMEOUT", "30", minimum=0.1),
        )


def command_from_env() -> list[str] | None:
    """`CLOUDMCP_STDIO` as a command line (shell-quoted), if set."""
    text = os.environ.get("CLOUDMCP_STDIO", "").strip()
    if not text:
        return None
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"CLOUDMCP_STDIO: {exc}") from None
    return argv


class StdioApp(MCPApp):
    """Serves the stdio MCP server `argv` runs: `StdioApp(["npx", "-y", "pkg"])`.

    `await app.start()` (done by `lifespan`) starts the first child and reads its lists;
    the app then serves like any other `MCPApp`.
    """

    def __init__(
        self, argv: Sequence[str], config: StdioConfig | None = None, **options: Any
    ) -> None:
        if not argv:
            raise ValueError("no command to run: give one after --stdio --")
        super().__init__(os.path.basename(argv[0]), **options)
        self.argv = list(argv)
        self.config = config or StdioConfig.from_env()
        self.pool = Pool(
            self.argv,
            self._notified,
            size=self.config.pool_size,
            share=self.config.calls_per_child,
            isolate=self.config.isolation == "principal",
            start_timeout=self.config.start_timeout,
            wait_timeout=self.config.wait_timeout,
        )
        #: Bumped whenever a list read from a child differs from the one served.
        self.generation = 0
        self.started = False
        self._reading: dict[Kind, asyncio.Task[None]] = {}
        self._stale: set[Kind] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Start a child, take the server's name and instructions, read its lists."""
        if self.started:
            return
        async with self.pool.lease() as child:
            self._describe(child)
            for kind in LISTS:
                await self._read(child, kind)
        self.started = True

    def _describe(self, child: Child) -> None:
        info = child.info
        self.name = str(info.get("name") or self.name)
        self.version = str(info.get("version") or self.version)
        title, website = info.get("title"), info.get("websiteUrl")
        self.title = title if isinstance(title, str) else None
        self.website_url = website if isinstance(website, str) else None
        self.instructions = child.instructions

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        try:
            await self.start()
            async with super().lifespan(_app):
                yield
        finally:
            await self.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.pool.close()

    # calls

    async def forward(self, method: str, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        timeout = self.config.call_timeout or None
        return await forward(self.pool, method, params, ctx, timeout=timeout)

    async def _complete(
        self, argument: str, value: str, context: Any, *, ref: dict[str, Any]
    ) -> list[str]:
        params: dict[str, Any] = {"ref": ref, "argument": {"name": argument, "value": value}}
        if isinstance(context, dict) and context:
            params["context"] = context
        try:
            async with self.pool.lease() as child:
                result = await child.request("completion/complete", params)
        except ChildExited as exc:
            message = f"The stdio server exited during completion ({exc})"
            raise MCPError(INTERNAL_ERROR, message) from None
        values = (result.get("completion") or {}).get("values") or []
        return [str(v) for v in values]

    # lists

    async def _read(self, child: Child, kind: Kind) -> None:
        """Read one kind of list from `child` and serve it, if it changed."""
        if not self._offers(child, kind):
            return
        found: list[list[dict[str, Any]]] = []
        for method, key in LISTS[kind]:
            items: list[dict[str, Any]] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                result = await child.request(method, {"cursor": cursor} if cursor else {})
                items.extend(i for i in result.get(key) or [] if isinstance(i, dict))
                next_cursor = result.get("nextCursor")
                cursor = next_cursor if isinstance(next_cursor, str) and next_cursor else None
                if cursor is None:
                    break
            found.append(items)
        if self._install(kind, found, child):
            self.generation += 1
            if self.started:
                await self.notify_list_changed(kind)

    @staticmethod
    def _offers(child: Child, kind: Kind) -> bool:
        return kind in child.capabilities

    def _install(self, kind: Kind, found: list[list[dict[str, Any]]], child: Child) -> bool:
        """Put what the child listed in the registry; whether anything changed."""
        send = self.forward
        if kind == "tools":
            current = [t.definition for t in self.tools.values()]
            if current == found[0]:
                return False
            self.tools = {t["name"]: ChildTool(t, send) for t in found[0] if "name" in t}
        elif kind == "prompts":
            current = [p.definition for p in self.prompts.values()]
            if current == found[0]:
                return False
            self.prompts = {p["name"]: ChildPrompt(p, send) for p in found[0] if "name" in p}
        else:
            listed, templates = found
            current_listed = [r.definition for r in self.resources.values()]
            current_templates = [t.definition for t in self.templates]
            if current_listed == listed and current_templates == templates:
                return False
            self.resources = {r["uri"]: ChildResource(r, send) for r in listed if "uri" in r}
            self.templates = [ChildResource(t, send) for t in templates if "uriTemplate" in t]
        self._install_completions(child)
        return True

    def _install_completions(self, child: Child) -> None:
        self.completions.clear()
        if "completions" not in child.capabilities:
            return
        for name, prompt in self.prompts.items():
            if prompt.definition.get("arguments"):
                ref = {"type": "ref/prompt", "name": name}
                self.completions[("ref/prompt", name)] = self._completer(ref)
        for template in self.templates:
            ref = {"type": "ref/resource", "uri": template.uri}
            self.completions[("ref/resource", template.uri)] = self._completer(ref)

    def _completer(self, ref: dict[str, Any]) -> Any:
        async def complete(argument: str, value: str, context: Any) -> list[str]:
            return await self._complete(argument, value, context, ref=ref)

        return complete

    # what the children say outside any answer

    async def _notified(self, child: Child, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/progress":
            for caller in list(child.callers):  # each keeps only its own token's
                await caller.notify(method, params)
        elif method == "notifications/message":
            if child.caller is not None:
                await child.caller.notify(method, params)
            else:  # idle, or shared by several calls: whose line it is is unknown
                log.debug("stdio server pid %s logged: %s", child.pid, params.get("data"))
        elif method.endswith("/list_changed"):
            kind = method.split("/")[1]
            if kind in LISTS:
                self._reread(child, kind)
        elif method == "notifications/resources/updated":
            uri = params.get("uri")
            if isinstance(uri, str) and self.started:
                await self.notify_resource_updated(uri)

    def _reread(self, child: Child, kind: Kind) -> None:
        """Read a changed list again; changes announced meanwhile cause one more read."""
        if kind in self._reading:
            self._stale.add(kind)
            return

        async def read() -> None:
            try:
                while True:
                    self._stale.discard(kind)
                    try:
                        await self._read(child, kind)
                    except Exception as exc:
                        log.warning("reading the stdio server's %s failed: %r", kind, exc)
                    if kind not in self._stale:
                        return
            finally:
                del self._reading[kind]

        task = asyncio.ensure_future(read())
        self._reading[kind] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
