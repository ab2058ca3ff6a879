"""Secrets at cold start: for each `<NAME>_SECRET_ID` variable, `<NAME>` gets the secret's value
from AWS Secrets Manager.

The deployment passes secrets by id, never by value (docs/deploy.md): `REDIS_URL_SECRET_ID`,
`API_KEYS_SECRET_ID`... The handler reads them before the app's settings are, once per
execution environment. One signed HTTPS call per secret with the standard library: boto3 is
not in the image, and importing it would cost more than the rest of a cold start.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cloudmcp.errors import SecretsError

SUFFIX = "_SECRET_ID"
SERVICE = "secretsmanager"
TARGET = "secretsmanager.GetSecretValue"
CONTENT_TYPE = "application/x-amz-json-1.1"


def load_secrets(
    environ: MutableMapping[str, str] | None = None,
    fetch: Callable[[str], str] | None = None,
) -> list[str]:
    """Set `<NAME>` from the secret `<NAME>_SECRET_ID` names, unless `<NAME>` is set already.

    Returns the names set. Without such variables it does nothing, and costs nothing.
    """
    env = os.environ if environ is None else environ
    wanted = {
        name[: -len(SUFFIX)]: secret_id
        for name, secret_id in env.items()
        if name.endswith(SUFFIX) and len(name) > len(SUFFIX) and secret_id
    }
    wanted = {name: secret_id for name, secret_id in wanted.items() if not env.get(name)}
    if not wanted:
        return []
    read = fetch or SecretsManager.from_environ(env).get_secret_value
    for name in sorted(wanted):
        env[name] = read(wanted[name])
    return sorted(wanted)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign_v4(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    session_token: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """`headers` plus `X-Amz-Date`, the session token and `Authorization` (Signature Version 4)."""
    now = now or datetime.now(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    parts = urlsplit(url)
    signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    if session_token:
        signed["x-amz-security-token"] = session_token
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            parts.query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {name: value for name, value in signed.items() if name != "host"}
    out["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


class SecretsManager:
    """Just `GetSecretValue`, with the function's own credentials (its execution role)."""

    def __init__(
        self,
        region: str,
        access_key: str,
        secret_key: str,
        session_token: str | None = None,
        endpoint: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token
        self.endpoint = endpoint or f"https://secretsmanager.{region}.amazonaws.com/"
        if not self.endpoint.startswith(("https://", "http://")):
            # An override comes from the environment: never let it name a file or a scheme
            # urllib would open some other way.
            raise ValueError(f"the Secrets Manager endpoint must be an http(s) URL: {endpoint!r}")
        self.timeout = timeout

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> SecretsManager:
        """From the variables Lambda sets (the AWS SDKs' endpoint overrides included)."""
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        access_key, secret_key = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not region or not access_key or not secret_key:
            raise SecretsError("reading *_SECRET_ID secrets needs AWS_REGION and AWS credentials")
        endpoint = env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or env.get("AWS_ENDPOINT_URL")
        return cls(region, access_key, secret_key, env.get("AWS_SESSION_TOKEN"), endpoint)

    def get_secret_value(self, secret_id: str) -> str:
        import base64
        import urllib.error
        import urllib.request

        body = json.dumps({"SecretId": secret_id}).encode()
        headers = sign_v4(
            "POST",
            self.endpoint,
            {"content-type": CONTENT_TYPE, "x-amz-target": TARGET},
            body,
            region=self.region,
            service=SERVICE,
            access_key=self.access_key,
            secret_key=self.secret_key,
            session_token=self.session_token,
        )
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            # nosec B310 below: the endpoint's scheme is checked to be http(s) in __init__.
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # nosec B310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = _error(exc.read())
            raise SecretsError(f"secret {secret_id!r}: HTTP {exc.code} {detail}") from None
        except (OSError, ValueError) as exc:
            raise SecretsError(f"secret {secret_id!r}: {exc}") from None
        if isinstance(answer.get("SecretString"), str):
            value: str = answer["SecretString"]
            return value
        if isinstance(answer.get("SecretBinary"), str):
            return base64.b64decode(answer["SecretBinary"]).decode("utf-8")
        raise SecretsError(f"secret {secret_id!r} has no value")


def _error(body: bytes) -> str:
    try:
        error = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    kind = str(error.get("__type", "")).rsplit("#", 1)[-1]
    return f"{kind}: {error.get('message') or error.get('Message') or ''}".strip(": ")
