"""Secrets by id at cold start: `<NAME>_SECRET_ID` -> `<NAME>`, read from Secrets Manager with
a Signature Version 4 request (checked against botocore's signer) from a local stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from lambda_calls import ROOT

from cloudmcp.aws_lambda.secrets import (
    CONTENT_TYPE,
    TARGET,
    SecretsError,
    SecretsManager,
    load_secrets,
    sign_v4,
)

BOTOCORE_PYTHON = ROOT / ".tools" / "sam" / "bin" / "python"  # aws-sam-cli brings botocore
ACCESS, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token"
SECRETS = {"prod/environment": "from-secrets-manager", "prod/binary": None}

BOTOCORE_SIGN = """
import datetime, json, sys
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

class Fixed(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return cls(2026, 11, 26, 12, 30, 45)

    @classmethod
    def now(cls, tz=None):
        return cls(2026, 11, 26, 12, 30, 45, tzinfo=tz)

botocore.auth.datetime.datetime = Fixed
url, region, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
request = AWSRequest(method="POST", url=url, data=body, headers={
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "secretsmanager.GetSecretValue"})
botocore.auth.SigV4Auth(Credentials(*sys.argv[4:7]), "secretsmanager", region).add_auth(request)
print(json.dumps({k.lower(): v for k, v in request.headers.items()}))
"""


@pytest.mark.parametrize(
    "url", ["https://secretsmanager.eu-west-1.amazonaws.com/", "http://127.0.0.1:4566/"]
)
@pytest.mark.parametrize("token", [TOKEN, ""])
def test_signature_matches_botocore(url: str, token: str) -> None:
    body = json.dumps({"SecretId": "prod/db"})
    done = subprocess.run(
        [str(BOTOCORE_PYTHON), "-c", BOTOCORE_SIGN, url, "eu-west-1", body, ACCESS, SECRET, token],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    reference = json.loads(done.stdout)
    ours = sign_v4(
        "POST",
        url,
        {"content-type": CONTENT_TYPE, "x-amz-target": TARGET},
        body.encode(),
        region="eu-west-1",
        service="secretsmanager",
        access_key=ACCESS,
        secret_key=SECRET,
        session_token=token or None,
        now=datetime(2026, 11, 26, 12, 30, 45, tzinfo=UTC),
    )
    assert ours["x-amz-date"] == reference["x-amz-date"] == "20261126T123045Z"
    assert ours["authorization"] == reference["authorization"]
    assert ours.get("x-amz-security-token") == reference.get("x-amz-security-token")


class FakeSecretsManager(BaseHTTPRequestHandler):
    """GetSecretValue, as the service answers it; it checks the request's form."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.seen.append({"body": body, **{k.lower(): v for k, v in self.headers.items()}})
        ok = (
            self.headers["x-amz-target"] == TARGET
            and self.headers["content-type"] == CONTENT_TYPE
            and self.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS}/")
            and "/us-east-1/secretsmanager/aws4_request" in self.headers["authorization"]
        )
        secret_id = body.get("SecretId")
        if not ok:
            self._answer(400, {"__type": "InvalidSignatureException", "message": "bad request"})
        elif secret_id == "prod/binary":
            self._answer(200, {"Name": secret_id, "SecretBinary": "YmluYXJ5LXNlY3JldA=="})
        elif secret_id in SECRETS:
            self._answer(200, {"Name": secret_id, "SecretString": SECRETS[secret_id]})
        else:
            self._answer(
                400,
                {
                    "__type": "com.amazonaws#ResourceNotFoundException",
                    "message": "Secrets Manager can't find the specified secret.",
                },
            )

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", CONTENT_TYPE)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSecretsManager)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": ACCESS,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": TOKEN,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
    }


def test_load_secrets(endpoint: str) -> None:
    env = {
        **aws_env(endpoint),
        "ENVIRONMENT_SECRET_ID": "prod/environment",
        "API_KEYS_SECRET_ID": "prod/binary",
        "LOG_LEVEL_SECRET_ID": "prod/never-read",
        "LOG_LEVEL": "DEBUG",  # set already: left alone, and its secret never read
        "EMPTY_SECRET_ID": "",
    }
    FakeSecretsManager.seen.clear()
    assert load_secrets(env) == ["API_KEYS", "ENVIRONMENT"]
    assert env["ENVIRONMENT"] == "from-secrets-manager"
    assert env["API_KEYS"] == "binary-secret"
    assert env["LOG_LEVEL"] == "DEBUG"
    assert sorted(s["body"]["SecretId"] for s in FakeSecretsManager.seen) == [
        "prod/binary",
        "prod/environment",
    ]
    assert all(s["x-amz-security-token"] == TOKEN for s in FakeSecretsManager.seen)


def test_nothing_to_read_costs_nothing() -> None:
    def never(secret_id: str) -> str:
        raise AssertionError("no secret should be read")

    assert load_secrets({"PATH": "/bin", "REDIS_URL": "redis://x"}, never) == []


def test_errors_name_the_secret(endpoint: str) -> None:
    client = SecretsManager.from_environ(aws_env(endpoint))
    with pytest.raises(SecretsError, match=r"prod/missing.*ResourceNotFoundException"):
        client.get_secret_value("prod/missing")
    with pytest.raises(SecretsError, match="credentials"):
        SecretsManager.from_environ({"AWS_REGION": "us-east-1"})


def _handler_process(endpoint: str, secret_id: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import json; from cloudmcp.aws_lambda import handler; "
        "print(json.dumps({'environment': handler.app.settings.environment}))"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **aws_env(endpoint),
        "ENVIRONMENT_SECRET_ID": secret_id,
    }
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )


def test_the_handler_reads_secrets_before_settings(endpoint: str) -> None:
    done = _handler_process(endpoint, "prod/environment")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"environment": "from-secrets-manager"}
    # A secret that cannot be read fails the init, loudly, instead of running without it.
    failed = _handler_process(endpoint, "prod/missing")
    assert failed.returncode != 0
    assert "SecretsError" in failed.stderr and "prod/missing" in failed.stderr
