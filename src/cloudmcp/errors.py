"""Every exception cloudmcp raises on purpose, in one tree.

```
CloudMCPError                 anything cloudmcp raises on purpose
├── MCPError                  a JSON-RPC error the client sees, with its HTTP status
├── ToolError                 a tool's failure the model sees (`isError: true`)
├── ArgumentError             tool arguments that do not match the signature
├── RegistrationError         a tool, resource or prompt that cannot be registered
├── ConfigurationError        a setting that is missing or malformed
├── AppNotFound               a target (`module:attr`, `file.py`) that names no app
├── StoreUnavailable          the shared store cannot be reached
├── CredentialError           why a credential was not accepted
│   ├── InvalidCredential     refused: expired, wrong audience, unknown key...
│   └── VerifierUnavailable   undecided: the authorization server did not answer
├── ProbeError                `cloudmcp probe` found the endpoint broken
├── LambdaError               the AWS Lambda edge
│   ├── UnsupportedEvent      an event that is not an HTTP request it knows
│   └── SecretsError          a secret could not be read at start-up
└── DeployError               `cloudmcp deploy`
    ├── ConfigError           a deploy config that is wrong
    └── TemplateError         a template that cannot be rendered

InputRequired (BaseException) not an error: a 2026-07-28 ask waiting for the client
Deferred (BaseException)      not an error: a tool continuing as a task (`ctx.defer()`)
```

`InputRequired` derives from `BaseException`, as `asyncio.CancelledError` does, so a
tool's `except Exception:` cannot swallow an ask and return a complete result.
"""

from __future__ import annotations

from typing import Any


class CloudMCPError(Exception):
    """The base of every exception cloudmcp raises on purpose."""


class MCPError(CloudMCPError):
    """An error the client sees as a JSON-RPC error object, with its HTTP status.

    `status` is the HTTP status when this error is the whole answer to a POST; JSON-RPC
    errors of a well-formed request otherwise travel with 200 OK. Build one with the
    factories in `cloudmcp.protocol.errors`.
    """

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.status = status
        self.headers = headers or {}

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ToolError(CloudMCPError):
    """Raise in a tool to report a failure the model should see (`isError: true`)."""


class ArgumentError(CloudMCPError):
    """Arguments that do not match the schema; the message says where and why."""


class RegistrationError(CloudMCPError, ValueError):
    """A tool, resource or prompt that cannot be registered; the message names it."""


class ConfigurationError(CloudMCPError, ValueError):
    """A setting that is missing or malformed; the message names the setting."""


class AppNotFound(CloudMCPError):
    """The target names no app; the message says what was wrong."""


class StoreUnavailable(CloudMCPError):
    """The backend cannot be reached; stateful operations fail until it returns."""


class CredentialError(CloudMCPError):
    """Why a credential was not accepted."""


class InvalidCredential(CredentialError):
    """The request carried a credential this verifier refuses.

    The message is a fixed phrase the client may see ("token expired"); it never holds
    the credential, a claim value, or a library's own text.
    """


class VerifierUnavailable(CredentialError):
    """The verifier could not decide: its authorization server did not answer."""


class ProbeError(CloudMCPError):
    """`cloudmcp probe` found the endpoint not working; the message says where."""


class LambdaError(CloudMCPError):
    """The AWS Lambda edge."""


class UnsupportedEvent(LambdaError, ValueError):
    """A Lambda event that is not an HTTP request of a shape the handler knows."""


class SecretsError(LambdaError, RuntimeError):
    """A secret named by a `*_SECRET_ID` variable could not be read at start-up."""


class DeployError(CloudMCPError):
    """`cloudmcp deploy` cannot go on; the message says why."""


class ConfigError(DeployError):
    """The deploy config is invalid; `key` is the dotted TOML key at fault."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}")
        self.source = source
        self.key = key
        self.reason = reason


class TemplateError(DeployError):
    """A template that cannot be rendered."""


class InputRequired(BaseException):
    """Raised by an ask the client has not answered yet (2026-07-28 MRTR).

    The engine turns it into an `InputRequiredResult`; the retry runs the function again
    with the answers. Never catch it in a tool.
    """

    def __init__(self, requests: dict[str, dict[str, Any]]) -> None:
        super().__init__("input required")
        self.requests = requests


class Deferred(BaseException):
    """Raised by `ctx.defer()` where the call becomes a task (the tasks extension): the
    engine answers with the task, and the tool runs again, as the task, to the end."""

    def __init__(self) -> None:
        super().__init__("continued as a task")


__all__ = [
    "AppNotFound",
    "ArgumentError",
    "CloudMCPError",
    "ConfigError",
    "ConfigurationError",
    "CredentialError",
    "Deferred",
    "DeployError",
    "InputRequired",
    "InvalidCredential",
    "LambdaError",
    "MCPError",
    "ProbeError",
    "RegistrationError",
    "SecretsError",
    "StoreUnavailable",
    "TemplateError",
    "ToolError",
    "UnsupportedEvent",
    "VerifierUnavailable",
]
