"""The wire of the tasks extension: a `tools/call` answered with a task, and the three
methods on tasks (`tasks/get`, `tasks/update`, `tasks/cancel`).

A task is written to the store before its id goes out, so a `tasks/get` that follows at
once, on any instance, finds it. Task ids are 192 random bits and act as bearer
tokens; every call is still checked against the caller: another principal's task, like
an unknown or expired one, is "not found" (-32602), so nothing tells them apart.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from typing import Any

from cloudmcp.protocol.call import Call
from cloudmcp.protocol.errors import invalid_params
from cloudmcp.protocol.tasks.worker import Dispatch, TaskCounters, TaskWorker, short
from cloudmcp.protocol.transport import principal_id
from cloudmcp.settings import Settings
from cloudmcp.state.tasks import CANCELLED, TaskRecord, TaskStore, answer, cancel, now_ms

log = logging.getLogger("cloudmcp")

#: Largest `inputResponses` a `tasks/update` may carry, in entries.
MAX_RESPONSES = 100


class TaskMethods:
    def __init__(
        self,
        tasks: TaskStore,
        worker: TaskWorker,
        settings: Settings,
        counters: TaskCounters,
        dispatch: Dispatch | None = None,
    ) -> None:
        self.tasks = tasks
        self.worker = worker
        self.settings = settings
        self.counters = counters
        #: Where work starts; None: this process's workers (or any instance's).
        self.dispatch = dispatch

    async def create(
        self,
        call: Call,
        principal: Any,
        meta: dict[str, Any],
        capabilities: dict[str, Any],
        *,
        client_info: Any = None,
        log_level: Any = None,
        answers: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Make a task of a `tools/call`: stored, then started; its `CreateTaskResult`."""
        now = now_ms()
        arguments = call.params.get("arguments")
        if arguments is not None and not isinstance(arguments, dict):
            raise invalid_params('"arguments" must be an object')
        record = TaskRecord(
            id=secrets.token_urlsafe(24),
            state="queued",
            tool=call.target or "",
            arguments=arguments if isinstance(arguments, dict) else {},
            meta=meta,
            capabilities=capabilities,
            client_info=client_info if isinstance(client_info, dict) else None,
            log_level=log_level if isinstance(log_level, str) else None,
            owner=principal_id(principal),
            scopes=sorted(getattr(principal, "scopes", ()) or ()),
            created=now,
            updated=now,
            ttl_ms=int(self.settings.task_ttl * 1000),
            poll_ms=self.settings.task_poll_interval_ms,
            answers=answers or {},
        )
        await self.tasks.create(record)
        self.counters.created += 1
        await self.start(record.id)
        return {"resultType": "task", **task_view(record)}

    async def start(self, task_id: str) -> None:
        """Have the task's work start: dispatched, run here, or left for any worker."""
        if self.dispatch is not None:
            try:
                await self.dispatch(task_id)
            except Exception as exc:  # the task is stored: a sweep starts it later
                log.warning("task %s: could not start its work: %s", short(task_id), exc)
        elif not self.worker.kick(task_id):
            await self.tasks.runnable(task_id, self.settings.task_ttl)

    async def serve(self, call: Call, principal: Any) -> dict[str, Any]:
        """`tasks/get`, `tasks/update` or `tasks/cancel`; the result, undecorated."""
        task_id = call.params.get("taskId")
        if not isinstance(task_id, str):
            raise invalid_params('"taskId" must be a string')
        record = await self.tasks.load(task_id)
        if record is None or record.owner != principal_id(principal):
            raise invalid_params(f"Task not found: {task_id}")
        if call.method == "tasks/get":
            return detailed_view(record)
        if call.method == "tasks/update":
            responses = call.params.get("inputResponses")
            if not isinstance(responses, dict) or len(responses) > MAX_RESPONSES:
                raise invalid_params(
                    f'"inputResponses" must be an object of at most {MAX_RESPONSES} answers'
                )
            now, changed = await self.tasks.change(task_id, answer(responses))
            if changed and now is not None and now.state == "queued":
                await self.start(task_id)
            return {}
        now, changed = await self.tasks.change(task_id, cancel)
        if changed:
            await self.tasks.signal(task_id, CANCELLED, ttl=self.settings.task_ttl)
            if now is not None:
                self.counters.ended(now)
        return {}


def _iso(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def task_view(record: TaskRecord) -> dict[str, Any]:
    """The `Task` object: what `tools/call` answers with, and `tasks/get` starts from."""
    view: dict[str, Any] = {
        "taskId": record.id,
        "status": record.status,
        "createdAt": _iso(record.created),
        "lastUpdatedAt": _iso(record.updated),
        "ttlMs": record.ttl_ms,
        "pollIntervalMs": record.poll_ms,
    }
    if record.message:
        view["statusMessage"] = record.message
    return view


def detailed_view(record: TaskRecord) -> dict[str, Any]:
    """The `DetailedTask` of `tasks/get`: the questions, result or error inlined."""
    view = task_view(record)
    if record.state == "input":
        view["inputRequests"] = record.pending
    elif record.state == "completed":
        view["result"] = record.result
    elif record.state == "failed":
        view["error"] = record.error
    return view


__all__ = ["TaskMethods", "detailed_view", "task_view"]
