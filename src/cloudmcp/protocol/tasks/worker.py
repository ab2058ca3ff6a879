"""Running tasks: claim one, run its tool, renew the claim, write what came of it.

Any instance may run any task. A run claims the task (`claim`: its `attempt`, the
fencing token, goes up by one and a lease starts), runs the tool, and, while it runs,
renews the lease and listens on the task's signal log: a cancellation from any
instance stops the tool at once, a renewal refused means another worker took the task
over (this one was presumed dead), and shutdown (SIGTERM) hands the task back for
another instance to run again. What the tool came to (a result, an error, questions
for the client) is written under the claimed attempt, so a late write by a worker that
lost its claim is refused.

Each process that serves tasks also runs one loop: it takes the ids on the `runnable`
log (tasks handed back, answered, or started where no worker was free) and, every
`TASK_SWEEP_INTERVAL`, looks through unfinished tasks for work nobody holds: queued, or
running under a lease that ran out.

Execution is at least once: a run cut short (its instance died, or shut down) runs
again from the start on another instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cloudmcp.app.context import Context
from cloudmcp.app.registry import Registry
from cloudmcp.app.tools import error_result
from cloudmcp.auth.principal import Principal
from cloudmcp.errors import InputRequired, MCPError, StoreUnavailable
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.call import parse
from cloudmcp.protocol.closing import Closing
from cloudmcp.protocol.errors import internal_error
from cloudmcp.protocol.features import Features
from cloudmcp.protocol.tasks.exchange import TaskExchange
from cloudmcp.protocol.versions import STATELESS
from cloudmcp.settings import Settings
from cloudmcp.state.tasks import (
    CANCELLED,
    TaskRecord,
    TaskStore,
    Transition,
    claim,
    finish,
    now_ms,
    park,
    release,
    renew,
    report,
)

log = logging.getLogger("cloudmcp")


class TaskCounters:
    """What happened to tasks in this process, for metrics."""

    def __init__(self) -> None:
        self.created = 0
        #: Runs started (claims won), and those that took over from a lost worker.
        self.started = 0
        self.reclaimed = 0
        #: Runs handed back at shutdown.
        self.released = 0
        #: Writes refused because the run had lost its claim (or the task had ended).
        self.fenced = 0
        #: Final status -> count, and the seconds from creation to it.
        self.finished: dict[str, int] = {}
        self.durations: list[tuple[str, float]] = []
        #: Runs under way in this process.
        self.running = 0

    def ended(self, record: TaskRecord) -> None:
        self.finished[record.state] = self.finished.get(record.state, 0) + 1
        if len(self.durations) < 10_000:  # drained by the metrics sink
            self.durations.append((record.state, (record.updated - record.created) / 1000))


class TaskWorker:
    def __init__(
        self,
        registry: Registry,
        features: Features,
        tasks: TaskStore,
        settings: Settings,
        closing: Closing,
        counters: TaskCounters,
    ) -> None:
        self.registry = registry
        self.features = features
        self.tasks = tasks
        self.settings = settings
        self.closing = closing
        self.counters = counters
        #: Who claims, as the task record shows it: unique to this process.
        base = settings.instance_id or f"{socket.gethostname()}-{os.getpid()}"
        self.name = f"{base}-{secrets.token_hex(3)}"
        self.lease_ms = max(1, int(settings.task_lease * 1000))
        #: Task id -> its run in this process.
        self.runs: dict[str, asyncio.Future[TaskRecord | None]] = {}
        self._loop: asyncio.Task[None] | None = None

    # one run

    def kick(self, task_id: str) -> bool:
        """Run the task here, in the background, if a worker is free."""
        if (
            task_id in self.runs
            or len(self.runs) >= self.settings.task_workers
            or self.closing.closing
        ):
            return False
        run = asyncio.ensure_future(self._background(task_id))
        self.runs[task_id] = run
        run.add_done_callback(lambda _: self.runs.pop(task_id, None))
        return True

    async def _background(self, task_id: str) -> TaskRecord | None:
        try:
            return await self.run(task_id)
        except StoreUnavailable as exc:  # the sweep, here or elsewhere, tries again
            log.warning("task %s: store unavailable: %s", short(task_id), exc)
        except Exception:
            log.exception("task %s: run failed", short(task_id))
        return None

    async def run(
        self, task_id: str, *, deadline: float | None = None, platform: Any = None
    ) -> TaskRecord | None:
        """Claim the task and run its tool once, to a result, an error, questions for the
        client, or a stop. None when there was nothing to claim (finished, held by a live
        worker, waiting for answers). `deadline` (`time.monotonic()`) bounds the run."""
        record, won = await self.tasks.change(
            task_id, claim(self.name, self.lease_ms, self.settings.task_max_retries)
        )
        if record is None or not won:
            return None
        if record.state == "failed":  # taken over too many times
            log.warning(
                "task %s failed: its worker was lost %d times", short(task_id), record.retries
            )
            self.counters.ended(record)
            return record
        self.counters.started += 1
        if record.retries:
            self.counters.reclaimed += 1
            log.info(
                "task %s: attempt %d takes over from a lost worker", short(task_id), record.attempt
            )
        signals = self.tasks.keys.task_signals(record.id)
        # From the start: a cancellation that came before this claim stops the run too
        # (the signal log of a task that may be claimed holds no other event).
        last = "0"
        self.counters.running += 1
        leg = asyncio.ensure_future(self._execute(record, deadline, platform))
        try:
            try:
                why = await self._watch(record, leg, signals, last)
            except StoreUnavailable as exc:  # the run goes on; its write will tell
                log.warning("task %s: cannot renew its claim: %s", short(task_id), exc)
                why = None
                await asyncio.wait((leg,))
            if why is not None:
                await self._stop(record, leg, why)
                return None
            outcome = await leg
        finally:
            self.counters.running -= 1
            if not leg.done():  # this run was cancelled itself
                leg.cancel()
        return await self._write(record, outcome)

    async def _stop(self, record: TaskRecord, leg: asyncio.Future[Transition], why: str) -> None:
        leg.cancel()
        with contextlib.suppress(BaseException):
            await leg
        if why == "closing":
            _, released = await self.tasks.change(record.id, release(record.attempt))
            if released:
                self.counters.released += 1
                await self.tasks.runnable(record.id, self.settings.task_ttl)
                log.info(
                    "task %s handed back at shutdown (attempt %d)", short(record.id), record.attempt
                )
        elif why == "cancelled":
            log.info("task %s cancelled: its run stopped", short(record.id))
        else:
            self.counters.fenced += 1
            log.warning(
                "task %s: attempt %d lost its claim; its lease renewal was refused and its run "
                "stopped",
                short(record.id),
                record.attempt,
            )
        return None

    async def _write(self, record: TaskRecord, outcome: Transition) -> TaskRecord | None:
        written, won = await self.tasks.change(record.id, outcome)
        if not won:
            self.counters.fenced += 1
            state = written.state if written is not None else "gone"
            log.warning(
                "task %s: attempt %d lost its claim (task is %s); its write was refused",
                short(record.id),
                record.attempt,
                state,
            )
            return written
        if written is not None and written.terminal:
            self.counters.ended(written)
            log.info(
                "task %s %s after %.3fs (tool %s, attempt %d)",
                short(written.id),
                written.status,
                (written.updated - written.created) / 1000,
                written.tool,
                written.attempt,
            )
        return written

    async def _execute(
        self, record: TaskRecord, deadline: float | None, platform: Any
    ) -> Transition:
        """Run the tool once; the transition that records what came of it."""
        attempt = record.attempt
        params = {"name": record.tool, "arguments": record.arguments}
        call = parse(
            {"id": record.id, "method": "tools/call", "params": params}, "stateless", self.registry
        )

        async def status(message: str) -> None:
            await self.tasks.change(record.id, report(attempt, message[:1000]))

        if self.settings.task_timeout:
            limit = time.monotonic() + self.settings.task_timeout
            deadline = limit if deadline is None else min(deadline, limit)
        ctx = Context(
            request_id=record.id,
            method="tools/call",
            protocol_version=STATELESS,
            client_capabilities=record.capabilities,
            client_info=record.client_info,
            # Progress needs a token to be reported; inside a task it becomes the status.
            meta={**record.meta, "progressToken": record.id},
            exchange=TaskExchange(record.capabilities, record.answers, status, record.asked),
            principal=_principal(record),
            deadline=deadline,
            platform=platform,
            log_level=record.log_level,
        )
        try:
            result = await self.features.run(call, ctx)
        except InputRequired as needed:
            return park(attempt, needed.requests)
        except MCPError as exc:
            return finish(attempt, error=exc.to_error())
        except Exception:  # Features reports a tool's own failures; this is ours
            log.exception("task %s: tool %s failed", short(record.id), call.target)
            return finish(attempt, error=internal_error().to_error())
        limit = self.settings.max_result_size
        if limit and len(jsonrpc.encode(result)) > limit:
            log.warning(
                "task %s: tool %s returned more than MAX_RESULT_SIZE", record.id, record.tool
            )
            result = error_result(
                f"Tool {record.tool} returned a result larger than this server sends"
            )
        return finish(attempt, result=result)

    async def _watch(
        self, record: TaskRecord, leg: asyncio.Future[Transition], signals: str, last: str
    ) -> str | None:
        """Renew the claim while the run goes on. None once it ended; otherwise why it
        must stop: "cancelled", "lost" (another worker holds the task) or "closing"."""
        beat = self.settings.task_lease / 3
        while not leg.done():
            # Waits on the run too: a blocked read is not always quick to cancel.
            reader = asyncio.ensure_future(self.closing.read({signals: last}, timeout=beat))
            await asyncio.wait((reader, leg), return_when=asyncio.FIRST_COMPLETED)
            if leg.done():
                reader.cancel()
                return None
            events = reader.result()
            if self.closing.closing:
                return "closing"
            if any(event.data == CANCELLED for event in events):
                return "cancelled"
            if events:
                last = events[-1].id
            now, renewed = await self.tasks.change(record.id, renew(record.attempt, self.lease_ms))
            if not renewed:
                return "cancelled" if now is not None and now.state == "cancelled" else "lost"
        return None

    # finding work

    async def orphans(self) -> list[str]:
        """Unfinished tasks nobody works on: queued, or running under a lease that ran out."""
        found = []
        now = now_ms()
        for task_id in await self.tasks.unfinished():
            if task_id in self.runs:
                continue
            record = await self.tasks.load(task_id)
            if record is None or record.terminal:
                await self.tasks.forget(task_id)
            elif record.state == "queued" or (record.state == "running" and record.lease < now):
                found.append(task_id)
        return found

    def start(self) -> None:
        """Run the loop that picks up runnable and orphaned tasks (on a running loop)."""
        if self._loop is None and self.settings.task_workers > 0:
            self._loop = asyncio.ensure_future(self._serve())

    async def _serve(self) -> None:
        runnable = self.tasks.keys.runnable
        last: str | None = None
        next_sweep = 0.0
        while not self.closing.closing:
            try:
                if last is None:
                    last = await self.tasks.store.tail(runnable)
                interval = self.settings.task_sweep_interval
                events = await self.closing.read({runnable: last}, timeout=interval)
                for event in events:
                    last = event.id
                    self.kick(event.data.decode())
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + interval
                    for task_id in await self.orphans():
                        self.kick(task_id)
            except StoreUnavailable as exc:
                log.warning("task worker: store unavailable: %s", exc)
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("task worker loop failed; going on")
                await asyncio.sleep(1.0)

    async def close(self, grace: float = 5.0) -> None:
        """Stop taking work; runs under way hand their tasks back (closing has begun)."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(BaseException):
                await self._loop
        runs = list(self.runs.values())
        if runs:
            await asyncio.wait(runs, timeout=grace)


def short(task_id: str) -> str:
    """A task id as logs show it: enough to correlate, too little to use (an id may act
    as a bearer token)."""
    return task_id[:8] + "..."


def _principal(record: TaskRecord) -> Principal | None:
    if record.owner is None:
        return None
    return Principal(id=record.owner, scopes=frozenset(record.scopes))


#: Starts a task's work somewhere: this process, or an invocation of a function.
Dispatch = Callable[[str], Awaitable[None]]

__all__ = ["Dispatch", "TaskCounters", "TaskWorker"]
