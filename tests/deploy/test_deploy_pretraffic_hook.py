"""The SAM path's PreTraffic hook, run: it invokes the new version with an MCP request as API
Gateway would, and tells CodeDeploy whether it answered.

The hook's own code (the inline code in template.yaml) runs here. Only the AWS APIs it calls
are stood in for: Lambda's `invoke` hands the event to a real cloudmcp Lambda handler (auth on,
API keys), CodeDeploy's status call is recorded, Secrets Manager returns the API keys.
"""

from __future__ import annotations

import io
import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_support import render, yaml_file

from cloudmcp.aws_lambda import lambda_handler
from cloudmcp.aws_lambda.local import LocalContext
from cloudmcp.loader import load_app

KEY = "pretraffic-key-0123456789abcdef"
APP = 'from cloudmcp import MCPApp\n\napp = MCPApp("hook-target")\n'


class Aws:
    """Lambda, CodeDeploy and Secrets Manager clients, as the hook uses them."""

    def __init__(self, handler: Any, secret: str) -> None:
        self.handler = handler
        self.secret = secret
        self.statuses: list[dict[str, Any]] = []
        self.invoked: list[str] = []

    def client(self, service: str) -> Any:
        aws = self

        class Client:
            def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
                aws.invoked.append(FunctionName)
                answer = aws.handler(json.loads(Payload), LocalContext())
                return {"Payload": io.BytesIO(json.dumps(answer).encode())}

            def put_lifecycle_event_hook_execution_status(self, **status: Any) -> None:
                aws.statuses.append(status)

            def get_secret_value(self, SecretId: str) -> dict[str, str]:
                assert SecretId == "hello-mcp-api-keys-production"
                return {"SecretString": aws.secret}

        return Client()


@pytest.fixture(scope="module")
def hook_code(tmp_path_factory: pytest.TempPathFactory) -> str:
    rendered = render("minimal", tmp_path_factory.mktemp("hook"))
    hook = yaml_file(rendered.out / "template.yaml")["Resources"]["PreTrafficHook"]
    code: str = hook["Properties"]["InlineCode"]
    return code


@pytest.fixture
def handler(tmp_path: Path) -> Iterator[Any]:
    server = tmp_path / "server.py"
    server.write_text(APP)
    app = load_app(str(server))
    app.settings.auth = "api_key"
    app.settings.api_keys = (KEY,)
    made = lambda_handler(app)
    yield made
    made.close()


def run_hook(code: str, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = types.ModuleType("boto3")
    boto3.client = aws.client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", boto3)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("NEW_VERSION", "arn:aws:lambda:eu-west-1:123456789012:function:f:7")
    monkeypatch.setenv("API_KEYS_SECRET_ID", "hello-mcp-api-keys-production")
    namespace: dict[str, Any] = {}
    # The hook exactly as the rendered template carries it.
    exec(compile(code, "PreTrafficHook", "exec"), namespace)
    event = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "hook-1"}
    namespace["handler"](event, None)


def test_the_hook_passes_a_version_that_answers_mcp(
    hook_code: str, handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = Aws(handler, f"{KEY}:codedeploy\nanother-key")
    run_hook(hook_code, aws, monkeypatch)
    assert aws.invoked == ["arn:aws:lambda:eu-west-1:123456789012:function:f:7"]
    assert aws.statuses == [
        {"deploymentId": "d-1", "lifecycleEventHookExecutionId": "hook-1", "status": "Succeeded"}
    ]


def test_the_hook_fails_a_version_that_refuses_the_key(
    hook_code: str, handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = Aws(handler, "a-key-the-version-does-not-know")
    run_hook(hook_code, aws, monkeypatch)
    assert [status["status"] for status in aws.statuses] == ["Failed"]
