"""The cold-start floor: a hand-written Lambda handler that answers JSON-RPC, nothing else."""

import base64
import json
from typing import Any

from floor_app import answer


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(answer(json.loads(body))),
        "isBase64Encoded": False,
    }
