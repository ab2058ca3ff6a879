"""Tasks on AWS Lambda: the work runs in an asynchronous invocation of the same function.

Lambda freezes the execution environment once the handler returns, so a task cannot run
in the background of the HTTP invocation that created it. That invocation writes the task
(durable in Redis), asks Lambda to invoke this function again asynchronously
(`InvocationType: Event`, Lambda's `Invoke` API, signed with the function's own
credentials), and answers with the task at once, well inside API Gateway's 29 s. The
asynchronous invocation carries `{"cloudmcp": "tasks.run", "taskId": ...}` and runs the
work within the time Lambda gives it; a run that outlives it fails with a clear timeout.

A duplicate delivery (Lambda retries asynchronous events, and may deliver one twice)
finds the task claimed or finished and changes nothing. `{"cloudmcp": "tasks.sweep"}`,
sent by a schedule, runs whatever nobody holds: an invocation that was lost, or a worker
that died with its lease. The execution role needs `lambda:InvokeFunction` on the
function itself; set the function's asynchronous `MaximumRetryAttempts` to 0, since the
task's lease and the sweep do the retrying.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from cloudmcp.aws_lambda.invocation import deadline
from cloudmcp.aws_lambda.secrets import sign_v4
from cloudmcp.errors import LambdaError
from cloudmcp.protocol.tasks.methods import TaskMethods

log = logging.getLogger("cloudmcp")

RUN, SWEEP = "tasks.run", "tasks.sweep"
#: Seconds a sweep keeps back from the invocation's deadline before starting another run.
SWEEP_RESERVE = 10.0


class SelfInvoke:
    """Starts a task's work in an asynchronous invocation of this function."""

    def __init__(
        self,
        function: str,
        region: str,
        access_key: str,
        secret_key: str,
        session_token: str | None = None,
        endpoint: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.endpoint = (endpoint or f"https://lambda.{region}.amazonaws.com").rstrip("/")
        if not self.endpoint.startswith(("https://", "http://")):
            raise LambdaError(f"the Lambda endpoint must be an http(s) URL: {endpoint!r}")
        quoted = urllib.parse.quote(function, safe="")
        self.url = f"{self.endpoint}/2015-03-31/functions/{quoted}/invocations"
        self.region = region
        self.credentials = (access_key, secret_key, session_token)
        self.timeout = timeout

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> SelfInvoke:
        """From the variables Lambda sets: the function (its version unless `$LATEST`),
        region and credentials, and the AWS SDKs' endpoint overrides."""
        function = env.get("AWS_LAMBDA_FUNCTION_NAME")
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        access_key, secret_key = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not function or not region or not access_key or not secret_key:
            raise LambdaError(
                "tasks on Lambda need AWS_LAMBDA_FUNCTION_NAME, AWS_REGION and AWS credentials"
            )
        version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        if version and version != "$LATEST":
            function = f"{function}:{version}"
        endpoint = env.get("AWS_ENDPOINT_URL_LAMBDA") or env.get("AWS_ENDPOINT_URL")
        return cls(function, region, access_key, secret_key, env.get("AWS_SESSION_TOKEN"), endpoint)

    async def __call__(self, task_id: str) -> None:
        await asyncio.to_thread(self.invoke, {"cloudmcp": RUN, "taskId": task_id})

    def invoke(self, payload: dict[str, Any]) -> None:
        import urllib.error
        import urllib.request

        body = json.dumps(payload).encode()
        access_key, secret_key, session_token = self.credentials
        headers = sign_v4(
            "POST",
            self.url,
            {"content-type": "application/json", "x-amz-invocation-type": "Event"},
            body,
            region=self.region,
            service="lambda",
            access_key=access_key,
            secret_key=secret_key,
            session_token=session_token,
        )
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            # nosec B310 below: the endpoint's scheme is checked to be http(s) in __init__.
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # nosec B310
                status = response.status
        except urllib.error.HTTPError as exc:
            raise LambdaError(f"Lambda Invoke answered HTTP {exc.code}") from None
        except OSError as exc:
            raise LambdaError(f"Lambda Invoke failed: {exc}") from None
        if status != 202:
            raise LambdaError(f"Lambda Invoke answered HTTP {status}, not 202")


def is_task_event(event: Mapping[str, Any]) -> bool:
    return event.get("cloudmcp") in (RUN, SWEEP)


async def serve_task_event(
    tasks: TaskMethods, event: Mapping[str, Any], context: Any
) -> dict[str, Any]:
    """Run what a `tasks.run` or `tasks.sweep` event asks for, within the invocation."""
    until = deadline(context)
    if event.get("cloudmcp") == RUN:
        task_id = event.get("taskId")
        if not isinstance(task_id, str):
            return {"error": "taskId must be a string"}
        record = await tasks.worker.run(task_id, deadline=until, platform=context)
        # None: claimed or finished already (a duplicate delivery), or waiting for input.
        return {"taskId": task_id, "ran": record is not None, "status": _status(record)}
    ran = []
    for task_id in await tasks.worker.orphans():
        if until is not None and until - time.monotonic() < SWEEP_RESERVE:
            break  # the next sweep takes the rest
        if await tasks.worker.run(task_id, deadline=until, platform=context) is not None:
            ran.append(task_id)
    return {"ran": ran}


def _status(record: Any) -> str | None:
    return None if record is None else str(record.status)


__all__ = ["SelfInvoke", "is_task_event", "serve_task_event"]
