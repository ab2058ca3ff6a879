"""Task records (the tasks extension, SEP-2663): durable, changed by compare-and-swap.

One value per task holds all of it: what to run, for whom, its status, the questions it
waits on and the answers so far, its result, and who runs it. Every change reads the
record, works out the next one, and writes it with `Store.swap` only if nobody changed
it in between; so of two instances racing for one transition exactly one wins.

`attempt` is the fencing token. Each claim of the work adds one and lasts until `lease`
(milliseconds since the epoch); the worker renews it while it runs. A worker that lost
its lease (paused, partitioned, frozen by its platform) carries an attempt that is no
longer the record's, so whatever it writes later (a renewal, a question, a result) is
refused, and a later worker's result stands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from cloudmcp.state.keys import Keys
from cloudmcp.state.store import Store

#: The record's own states; `queued` and `running` are both `working` on the wire.
State = Literal["queued", "running", "input", "completed", "failed", "cancelled"]
TERMINAL = frozenset({"completed", "failed", "cancelled"})
STATUS = {
    "queued": "working",
    "running": "working",
    "input": "input_required",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}
#: Events on a task's signal log.
CANCELLED, RUNNABLE = b"cancelled", b"runnable"


class TaskRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    state: State
    tool: str
    arguments: dict[str, Any]
    #: The `_meta` of the `tools/call` that made it, and what the tool's Context reads
    #: from it: the client's capabilities and info, and the log level it asked for.
    meta: dict[str, Any]
    capabilities: dict[str, Any]
    client_info: dict[str, Any] | None = None
    log_level: str | None = None
    #: The caller's principal id (None: no authentication), and the scopes it held.
    owner: str | None = None
    scopes: list[str] = []
    created: int
    updated: int
    ttl_ms: int
    poll_ms: int
    message: str | None = None
    #: Questions outstanding (`inputRequests`), and every answer received so far.
    pending: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    #: Every question asked, by key: a fingerprint of it, so that a key is never used
    #: for a different question over the task's lifetime.
    asked: dict[str, str] = {}
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    attempt: int = 0
    lease: int = 0
    worker: str | None = None
    #: Claims that took the work over from a worker whose lease ran out, this leg.
    retries: int = 0
    #: Runs of the tool so far (each answer to a question starts another).
    legs: int = 1

    @property
    def status(self) -> str:
        return STATUS[self.state]

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def expires(self) -> float:
        """Seconds since the epoch after which the record is gone."""
        return (self.created + self.ttl_ms) / 1000


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(TaskRecord).decode

#: A transition: the next record, or None when it does not apply to this one.
Transition = Callable[[TaskRecord], "TaskRecord | None"]


def fingerprint(request: Any) -> str:
    """A short digest of a question (an `inputRequests` entry), independent of key order."""
    import hashlib

    canonical = msgspec.json.encode(request, order="sorted")
    return hashlib.sha256(canonical).hexdigest()[:16]


def now_ms() -> int:
    return int(time.time() * 1000)


class TaskStore:
    """Task records in the shared `Store`, and the transitions between their states."""

    def __init__(self, store: Store, keys: Keys) -> None:
        self.store = store
        self.keys = keys

    async def create(self, record: TaskRecord) -> None:
        """Write a new task; it is readable from every instance once this returns."""
        ttl = _ttl(record)
        await self.store.set(self.keys.task(record.id), _encode(record), ttl, only_new=True)
        await self.store.add_member(self.keys.tasks, record.id, ttl)

    async def load(self, task_id: str) -> TaskRecord | None:
        raw = await self.store.get(self.keys.task(task_id))
        return None if raw is None else _decode(raw)

    async def change(self, task_id: str, transition: Transition) -> tuple[TaskRecord | None, bool]:
        """Apply `transition` atomically: (the record as it now is, whether it changed).
        None for a task that does not exist (or expired)."""
        key = self.keys.task(task_id)
        while True:
            raw = await self.store.get(key)
            if raw is None:
                return None, False
            record = _decode(raw)
            changed = transition(msgspec.structs.replace(record))
            if changed is None:
                return record, False
            changed.updated = now_ms()
            if await self.store.swap(key, raw, _encode(changed), _ttl(changed)):
                if changed.terminal:
                    await self.store.remove_member(self.keys.tasks, task_id)
                return changed, True

    async def unfinished(self) -> set[str]:
        return await self.store.members(self.keys.tasks)

    async def forget(self, task_id: str) -> None:
        await self.store.remove_member(self.keys.tasks, task_id)

    async def signal(self, task_id: str, what: bytes, ttl: float) -> None:
        """Wake whoever waits on the task (its worker): it was cancelled or may run."""
        await self.store.append(self.keys.task_signals(task_id), what, ttl=ttl, cap=16)

    async def runnable(self, task_id: str, ttl: float) -> None:
        """Tell every instance's worker that the task waits for one."""
        await self.store.append(self.keys.runnable, task_id.encode(), ttl=ttl, cap=10_000)


def _ttl(record: TaskRecord) -> float:
    return max(1.0, record.expires - time.time())


# transitions


def claim(worker: str, lease_ms: int, max_retries: int) -> Transition:
    """Take the work: a queued task, or a running one whose worker's lease ran out."""

    def apply(record: TaskRecord) -> TaskRecord | None:
        now = now_ms()
        if record.state == "running" and record.lease < now:
            record.retries += 1
            if record.retries > max_retries:
                record.state = "failed"
                record.error = {"code": -32603, "message": "Task failed: its worker was lost"}
                record.message = "worker lost"
                record.worker = None
                return record
        elif record.state != "queued":
            return None
        record.state = "running"
        record.attempt += 1
        record.lease = now + lease_ms
        record.worker = worker
        return record

    return apply


def renew(attempt: int, lease_ms: int) -> Transition:
    def apply(record: TaskRecord) -> TaskRecord | None:
        if record.state != "running" or record.attempt != attempt:
            return None
        record.lease = now_ms() + lease_ms
        return record

    return apply


def report(attempt: int, message: str) -> Transition:
    def apply(record: TaskRecord) -> TaskRecord | None:
        if record.state != "running" or record.attempt != attempt or record.message == message:
            return None
        record.message = message
        return record

    return apply


def park(attempt: int, requests: dict[str, Any]) -> Transition:
    """Wait for the client's answers to `requests` (`input_required`)."""

    def apply(record: TaskRecord) -> TaskRecord | None:
        if record.state != "running" or record.attempt != attempt:
            return None
        record.state = "input"
        record.pending = requests
        record.asked = {**record.asked, **{k: fingerprint(r) for k, r in requests.items()}}
        record.worker = None
        record.lease = 0
        return record

    return apply


def finish(attempt: int, *, result: Any = None, error: Any = None) -> Transition:
    def apply(record: TaskRecord) -> TaskRecord | None:
        if record.state != "running" or record.attempt != attempt:
            return None
        record.state = "failed" if error is not None else "completed"
        record.result, record.error = result, error
        if error is not None:
            record.message = error.get("message")
        record.worker = None
        record.lease = 0
        return record

    return apply


def release(attempt: int) -> Transition:
    """Hand the work back (shutdown): another worker runs the leg again."""

    def apply(record: TaskRecord) -> TaskRecord | None:
        if record.state != "running" or record.attempt != attempt:
            return None
        record.state = "queued"
        record.worker = None
        record.lease = 0
        return record

    return apply


def answer(responses: dict[str, Any]) -> Transition:
    """Take the answers to outstanding questions (others are ignored); once none is left
    outstanding, the task is queued for its next leg."""

    def apply(record: TaskRecord) -> TaskRecord | None:
        if record.state != "input":
            return None
        taken = {k: v for k, v in responses.items() if k in record.pending}
        if not taken:
            return None
        record.answers = {**record.answers, **taken}
        record.pending = {k: v for k, v in record.pending.items() if k not in taken}
        if not record.pending:
            record.state = "queued"
            record.legs += 1
            record.retries = 0
        return record

    return apply


def cancel(record: TaskRecord) -> TaskRecord | None:
    if record.terminal:
        return None
    record.state = "cancelled"
    record.pending = {}
    record.worker = None
    record.lease = 0
    record.message = "cancelled by the client"
    return record


__all__ = [
    "CANCELLED",
    "RUNNABLE",
    "STATUS",
    "TERMINAL",
    "State",
    "TaskRecord",
    "TaskStore",
    "Transition",
    "answer",
    "cancel",
    "claim",
    "fingerprint",
    "finish",
    "now_ms",
    "park",
    "release",
    "renew",
    "report",
]
