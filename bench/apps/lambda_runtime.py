"""A stand-in for the Lambda runtime's cold start: import a handler, invoke it once.

    python lambda_runtime.py MODULE:ATTR EVENT.json [RESPONSE_FD]

Imports the handler the way the Python runtime does (its module on sys.path), reads the
event, calls the handler with a Lambda-like context and writes the response as one JSON
line to RESPONSE_FD (default: stdout). As in Lambda, where the response goes back to the
runtime API and not to the logs, the handler's own output to stdout never mixes with it.
The parent times this process from spawn to that line.
"""

import json
import os
import sys
import time
import uuid
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


class Context:
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30.0

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def main() -> None:
    module_name, _, attr = sys.argv[1].partition(":")
    handler = getattr(import_module(module_name), attr)
    event = json.loads(Path(sys.argv[2]).read_text())
    response = handler(event, Context())
    line = (json.dumps(response) + "\n").encode()
    os.write(int(sys.argv[3]) if len(sys.argv) > 3 else 1, line)


if __name__ == "__main__":
    main()
