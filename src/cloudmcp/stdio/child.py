"""One stdio MCP server process: JSON-RPC 2.0 over newline-delimited stdin/stdout.

The child is initialized once, at whatever revision it speaks, and then serves the
calls of whoever leased it (`Pool`). Nothing on the stdio wire says which call a
child's request to the client (sampling, elicitation, roots) or log line belongs to, so
they go to the caller only while the child serves one call; progress notifications
carry the caller's own token. Its stderr goes to our log, line by line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from cloudmcp.errors import MCPError
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.errors import INTERNAL_ERROR, METHOD_NOT_FOUND
from cloudmcp.protocol.versions import LEGACY

log = logging.getLogger("cloudmcp.stdio")

#: The revision offered in `initialize`; the child may answer with an older one.
OFFERED_VERSION = LEGACY[0]
#: What the bridge tells the child it can do: everything a client might; each request
#: goes to the caller's client, which refuses what it cannot do.
CLIENT_CAPABILITIES: dict[str, Any] = {
    "roots": {"listChanged": True},
    "sampling": {},
    "elicitation": {"form": {}, "url": {}},
}
#: Longest line read from the child (a bigger one ends the child: memory stays bounded).
LINE_LIMIT = 64 * 1024 * 1024
#: Seconds a cancelled or timed-out call's child gets to answer a ping before it is
#: deemed hung and replaced.
PING_TIMEOUT = 5.0


class ChildExited(Exception):
    """The child exited, or was stopped, while a request was waiting for its answer."""


class Abandoned(Exception):
    """A wait for the child's answer ended before the answer came (time ran out, or the
    client must answer a question first)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: The child's answer to one request: the message, `None` when the child exited, or the
#: `Abandoned` that ended the wait.
Answer = asyncio.Future["dict[str, Any] | Abandoned | None"]
Expected = tuple[int, Answer]


class Caller(Protocol):
    """Whoever the child serves now: its requests and notifications go there."""

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]: ...

    async def notify(self, method: str, params: dict[str, Any]) -> None: ...


Notified = Callable[["Child", str, dict[str, Any]], Awaitable[None]]


class Child:
    """A running stdio server. `await Child.start(argv)`, then `request(...)`."""

    def __init__(self, process: asyncio.subprocess.Process, on_notification: Notified) -> None:
        self.process = process
        self.pid = process.pid
        self.on_notification = on_notification
        #: Whom the child serves now: one caller, or several when the pool shares it.
        self.callers: list[Caller] = []
        #: Leases held on the child (the pool's count).
        self.leases = 0
        #: Set when leased by a caller with an isolation key (per principal).
        self.owner: str | None = None
        self.version = OFFERED_VERSION
        self.info: dict[str, Any] = {}
        self.capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, Answer] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._exit: str | None = None
        self.stopping = False
        self.exited = asyncio.Event()

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        on_notification: Notified,
        *,
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Child:
        """Spawn `argv` and complete the `initialize` handshake within `timeout` seconds."""
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=LINE_LIMIT,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # our signals (Ctrl-C, SIGTERM) are not its
            )
        except OSError as exc:
            raise ChildExited(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        child = cls(process, on_notification)
        child._spawn(child._read_stdout())
        child._spawn(child._read_stderr())
        try:
            async with asyncio.timeout(timeout):
                await child._initialize()
        except BaseException:
            await child.stop()
            raise
        return child

    @property
    def caller(self) -> Caller | None:
        """The one caller the child serves now, if it serves exactly one."""
        return self.callers[0] if len(self.callers) == 1 else None

    @property
    def alive(self) -> bool:
        return self._exit is None

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _initialize(self) -> None:
        try:
            result = await self.request(
                "initialize",
                {
                    "protocolVersion": OFFERED_VERSION,
                    "capabilities": CLIENT_CAPABILITIES,
                    "clientInfo": {"name": "cloudmcp-stdio", "version": "1"},
                },
            )
        except MCPError as exc:
            raise ChildExited(f"the server refused initialize: {exc.message}") from None
        version = result.get("protocolVersion")
        if version not in LEGACY:
            raise ChildExited(f"the server answered initialize with revision {version!r}")
        self.version = version
        self.info = result.get("serverInfo") or {}
        self.capabilities = result.get("capabilities") or {}
        instructions = result.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) else None
        await self.send(jsonrpc.notification("notifications/initialized", {}))
        if "logging" in self.capabilities:
            # Every line comes to us; each caller's own level filters what it sees.
            await self.request("logging/setLevel", {"level": "debug"})

    # the wire

    async def send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        if stdin is None or not self.alive:
            raise ChildExited(self._exit or "the server's stdin is closed")
        try:
            stdin.write(jsonrpc.encode(message) + b"\n")
            await stdin.drain()
        except (ConnectionError, RuntimeError):
            # Most likely it exited: its exit code says more than the broken pipe.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.exited.wait()
            self._ended("the stdio server closed its stdin")
            raise ChildExited(self._exit or "the stdio server exited") from None

    def expect(self) -> Expected:
        """An id for the next request and the future its answer will resolve; resolve it
        with `Abandoned` to stop waiting (the child is then told to stop)."""
        request_id = next(self._ids)
        answer: Answer = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        return request_id, answer

    async def request(
        self, method: str, params: dict[str, Any], expected: Expected | None = None
    ) -> dict[str, Any]:
        """Send a request; its result, or `MCPError` with the child's error, or
        `ChildExited`, or the `Abandoned` its wait was ended with. Cancelling or abandoning
        the wait tells the child (`notifications/cancelled`)."""
        request_id, answer = expected or self.expect()
        try:
            await self.send(jsonrpc.request(request_id, method, params))
            message = await answer
        except asyncio.CancelledError:
            if self.alive:
                self._spawn(self._cancel(request_id, "the caller went away"))
            raise
        finally:
            self._waiting.pop(request_id, None)
        if message is None:
            raise ChildExited(self._exit or "the stdio server exited")
        if isinstance(message, Abandoned):
            if self.alive:
                self._spawn(self._cancel(request_id, message.reason))
            raise message
        if "error" in message:
            error = message["error"] if isinstance(message["error"], dict) else {}
            code = error.get("code")
            raise MCPError(
                code if isinstance(code, int) else INTERNAL_ERROR,
                str(error.get("message") or "the stdio server answered with an error"),
                error.get("data"),
            )
        result = message.get("result")
        return result if isinstance(result, dict) else {}

    async def _cancel(self, request_id: int, reason: str) -> None:
        """Tell the child to stop work on a request; replace it if it no longer answers."""
        with contextlib.suppress(ChildExited):
            params = {"requestId": request_id, "reason": reason}
            await self.send(jsonrpc.notification("notifications/cancelled", params))
        await self.check()

    async def check(self) -> bool:
        """Ping the child; stop it if it does not answer within `PING_TIMEOUT`."""
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self.request("ping", {})
            return True
        except (TimeoutError, ChildExited, MCPError):
            log.warning("stdio server pid %s is not answering: replacing it", self.pid)
            await self.stop(graceful=False)
            return False

    async def _read_stdout(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None  # nosec B101 - for mypy: opened with PIPE
        try:
            while True:
                line = await stdout.readline()
                if not line:
                    break
                if line.strip():
                    self._received(line)
        except (ValueError, asyncio.LimitOverrunError):
            log.error("stdio server pid %s wrote a line over %d bytes", self.pid, LINE_LIMIT)
        code = await self._reap()
        self._ended(f"the stdio server exited (code {code})", expected=self.stopping)

    async def _reap(self) -> int | None:
        with contextlib.suppress(ProcessLookupError):
            if self.process.returncode is None:
                # stdout closed or garbled: the process is of no more use.
                self.process.kill()
        try:
            async with asyncio.timeout(5.0):
                return await self.process.wait()
        except TimeoutError:
            return None

    def _ended(self, reason: str, *, expected: bool = False) -> None:
        if self._exit is not None:
            return
        self._exit = reason
        log.log(
            logging.INFO if expected else logging.WARNING,
            "stdio server pid %s: %s",
            self.pid,
            reason,
        )
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_result(None)  # no answer will come (a result: nothing to retrieve)
        self.exited.set()

    async def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None  # nosec B101 - for mypy: opened with PIPE
        with contextlib.suppress(ValueError, asyncio.LimitOverrunError):
            while line := await stderr.readline():
                text = line.decode(errors="replace").rstrip()
                if text:
                    log.info("stdio server pid %s: %s", self.pid, text[:8192])

    def _received(self, line: bytes) -> None:
        try:
            message = jsonrpc.decode(line)
        except Exception:
            log.warning("stdio server pid %s wrote a line that is not JSON", self.pid)
            return
        if not isinstance(message, dict):
            return
        method = message.get("method")
        if isinstance(method, str):
            if "id" in message:
                self._spawn(self._answer(message["id"], method, message.get("params") or {}))
            else:
                self._spawn(self._notified(method, message.get("params") or {}))
            return
        answer = self._waiting.get(message.get("id"))  # type: ignore[arg-type]
        if answer is not None and not answer.done():
            answer.set_result(message)

    async def _notified(self, method: str, params: dict[str, Any]) -> None:
        try:
            await self.on_notification(self, method, params)
        except Exception:
            log.exception("stdio server pid %s: handling %s failed", self.pid, method)

    async def _answer(self, request_id: Any, method: str, params: dict[str, Any]) -> None:
        """Answer a request the child sent: a ping here, anything else by the caller."""
        try:
            if method == "ping":
                result: dict[str, Any] = {}
            elif not self.callers:
                raise MCPError(METHOD_NOT_FOUND, f"{method}: no client is attached right now")
            elif len(self.callers) > 1:
                raise MCPError(
                    INTERNAL_ERROR,
                    f"{method}: {len(self.callers)} calls share this server, so which one asks "
                    "is unknown (STDIO_CALLS_PER_CHILD=1 gives each call a server of its own)",
                )
            else:
                result = await self.callers[0].request(method, params)
            reply = jsonrpc.result(request_id, result)
        except MCPError as exc:
            reply = jsonrpc.error(request_id, exc)
        except asyncio.CancelledError:
            raise
        except BaseException:  # the caller's round ended (InputRequired), or it failed
            # The caller has what it needs to end its round; the child's work is cancelled.
            error = MCPError(INTERNAL_ERROR, f"{method}: the request that asked was cancelled")
            reply = jsonrpc.error(request_id, error)
        with contextlib.suppress(ChildExited):
            await self.send(reply)

    async def stop(self, *, graceful: bool = True) -> None:
        """End the child: close its stdin, then terminate, then kill (at once if not
        `graceful`: a hung child would not listen)."""
        self.stopping = True
        if not graceful:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        if self.process.returncode is None:
            if self.process.stdin is not None:
                with contextlib.suppress(Exception):
                    self.process.stdin.close()
            try:
                async with asyncio.timeout(2.0):
                    await self.process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.terminate()
                try:
                    async with asyncio.timeout(2.0):
                        await self.process.wait()
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        self.process.kill()
        self._ended(f"stopped (code {self.process.returncode})", expected=True)
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
