"""Where each piece of state lives in the store: the one key layout every backend shares.

On a Redis Cluster a command, transaction or script may only touch keys of one hash
slot. Every key of one session carries the session id as its hash tag (`{id}`), so a
session's record, SSE logs and replies live together on one shard while sessions
spread over all of them. The fleet-wide logs (`notifications`, `cancellations`, one
per resource) are single keys, read on their own slot; rate-limit windows and cached
results are single keys, used by single-key commands.
"""

from __future__ import annotations


class Keys:
    """Where each piece of state lives in the store, under the deployment's prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.notifications = f"{prefix}notifications"
        #: `notifications/cancelled` for calls running on another instance.
        self.cancellations = f"{prefix}cancellations"
        #: Tasks not yet finished, for the sweep that finds work a lost worker held.
        self.tasks = f"{prefix}tasks"
        #: Ids of tasks ready to run: every instance's task worker reads it.
        self.runnable = f"{prefix}tasks:runnable"

    def session(self, session_id: str) -> str:
        return f"{self.prefix}session:{{{session_id}}}"

    def sse(self, session_id: str, token: str) -> str:
        return f"{self.prefix}sse:{{{session_id}}}:{token}"

    def reply(self, session_id: str, request_id: str) -> str:
        return f"{self.prefix}reply:{{{session_id}}}:{request_id}"

    def subscribers(self, uri: str) -> str:
        return f"{self.prefix}subscribers:{uri}"

    def resource(self, uri: str) -> str:
        return f"{self.prefix}resource:{uri}"

    def cache(self, tool: str, digest: str) -> str:
        return f"{self.prefix}cache:{tool}:{digest}"

    def hits(self, scope: str) -> str:
        return f"{self.prefix}hits:{scope}"

    # A task's keys share one hash tag, `{id}`, so a Redis Cluster keeps them in one slot.

    def task(self, task_id: str) -> str:
        return f"{self.prefix}task:{{{task_id}}}"

    def task_signals(self, task_id: str) -> str:
        """Cancellations and answers for a task, read by the worker that runs it."""
        return f"{self.prefix}task:{{{task_id}}}:signals"
