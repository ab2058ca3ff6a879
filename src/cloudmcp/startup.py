"""What every entry point does before it serves: check every setting, and warn about
combinations that start but misbehave later.

`cloudmcp serve`, `cloudmcp lambda ...` and the AWS Lambda handler call `check_settings()`
first: a bad value is refused before anything starts, in one line naming the variable,
the value and what is allowed (`ConfigurationError`), never at the first request.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from cloudmcp.errors import ConfigurationError
from cloudmcp.settings import Settings

#: Log levels, as `LOG_LEVEL` takes them (any case).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
REDIS_SCHEMES = ("redis", "rediss", "unix")


def check_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings `env` (default: the process environment) describes, every one checked;
    `ConfigurationError` for the first that is wrong."""
    env = os.environ if env is None else env
    try:
        settings = Settings.from_env(env)
        _check_values(settings, env)
    except ConfigurationError:
        raise
    except (ValueError, OSError) as exc:
        raise ConfigurationError(str(exc).splitlines()[0] if str(exc) else repr(exc)) from None
    return settings


def _check_values(settings: Settings, env: Mapping[str, str]) -> None:
    """What the types alone do not say: formats, names from a list, what needs what."""
    level = settings.log_level.lower()
    if level not in LOG_LEVELS:
        raise ConfigurationError(
            f"LOG_LEVEL={settings.log_level!r}: expected one of {', '.join(LOG_LEVELS)}"
        )
    if settings.redis_url is not None:
        _check_redis_url(settings.redis_url)
    if settings.state_keys:  # the key ring is built on the first MRTR request otherwise
        _check_state_keys(settings.state_keys)
    if settings.oauth_validation not in ("jwt", "introspection", "auto"):
        raise ConfigurationError(
            f"OAUTH_VALIDATION={settings.oauth_validation!r}: expected jwt, introspection or auto"
        )
    if settings.rate_limit:
        from cloudmcp.state.ratelimit import Limit

        try:
            Limit.parse(settings.rate_limit)
        except ValueError:
            raise ConfigurationError(
                f"RATE_LIMIT={settings.rate_limit!r}: expected count/seconds, e.g. 100/60"
            ) from None
    from cloudmcp.auth.hosts import expand_hosts, expand_origins, parse_networks

    expand_hosts(settings.allowed_hosts, settings.resource_uri)
    expand_origins(settings.allowed_origins, settings.resource_uri)
    parse_networks(settings.trusted_proxies)
    if settings.auth.strip().lower() not in ("", "none"):  # AUTH=none loads no auth code
        from cloudmcp.auth.configure import from_settings

        try:
            from_settings(settings)  # AUTH and what each mode needs
        except OSError as exc:
            raise ConfigurationError(
                f"API_KEYS_FILE={settings.api_keys_file!r}: {exc.strerror}"
            ) from None
    from cloudmcp.ops.config import OpsConfig

    OpsConfig.from_env(env)  # LOG_FORMAT, METRICS, tracing, sampling...


def _check_redis_url(url: str) -> None:
    from urllib.parse import urlsplit

    allowed = "expected redis://host[:port][/db], rediss://... (TLS) or unix:///path"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"REDIS_URL: not a URL: {allowed}") from None
    shown = url
    if "@" in url:  # never the password
        shown = f"{parts.scheme}://{parts.hostname or ''}{f':{port}' if port else ''}{parts.path}"
    if parts.scheme not in REDIS_SCHEMES:
        raise ConfigurationError(f"REDIS_URL={shown!r}: {allowed}")
    if parts.scheme == "unix" and not parts.path:
        raise ConfigurationError(f"REDIS_URL={shown!r}: {allowed}")
    if parts.scheme != "unix":
        if not parts.hostname:
            raise ConfigurationError(f"REDIS_URL={shown!r}: no host: {allowed}")
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise ConfigurationError(
                f"REDIS_URL={shown!r}: the database must be a number: {allowed}"
            )


def _check_state_keys(entries: tuple[str, ...]) -> None:
    from cloudmcp.protocol.sealing import KeyRing

    allowed = "expected id:base64 entries, newest first, 32 bytes or more each"
    for number, entry in enumerate(entries, 1):
        if ":" not in entry:  # no id: the entry may be the key itself, never shown
            raise ConfigurationError(f"STATE_KEYS: entry {number} has no id: {allowed}")
    try:
        KeyRing.from_config(entries)
    except ValueError as exc:
        raise ConfigurationError(f"STATE_KEYS: {exc}: {allowed}") from None


def start_up_warnings(settings: Settings, env: Mapping[str, str]) -> list[str]:
    """What starts but fails later: lines to log at start-up."""
    warnings = []
    several = settings.redis_url or "AWS_LAMBDA_FUNCTION_NAME" in env
    if several and not settings.state_keys:
        where = "instances share REDIS_URL" if settings.redis_url else "AWS Lambda runs many"
        warnings.append(
            f"STATE_KEYS is not set and {where}: each instance seals 2026-07-28 requestState "
            "with a random key of its own, and a retry that reaches another instance fails "
            "its integrity check. Set STATE_KEYS (id:base64, the same on every instance)."
        )
    return warnings


def option_or_env(
    given: Any,
    variable: str,
    env: Mapping[str, str],
    default: Any,
    kind: type[int] | type[float],
    low: float,
    high: float | None = None,
) -> Any:
    """A number option of a command: as given, else from `variable` in `env`, else
    `default`; `ConfigurationError` naming the option or the variable when it is not a `kind`
    from `low` to `high`."""
    raw = env.get(variable) or ""
    if given is None and not raw:
        return default
    option = f"--{variable.lower().replace('_', '-')}"
    name = f"{option} {given}" if given is not None else f"{variable}={raw!r}"
    words = "a whole number" if kind is int else "a number"
    allowed = f"{low:g} to {high:g}" if high is not None else f"{low:g} or more"
    try:
        value = kind(given) if given is not None else kind(raw)
    except ValueError:
        raise ConfigurationError(f"{name}: expected {words}, {allowed}") from None
    if not low <= value <= (high if high is not None else value):  # NaN fails too
        raise ConfigurationError(f"{name}: expected {words}, {allowed}")
    return value


def refuse(command: str, problem: Exception | str) -> int:
    """Say why `command` will not start, in one line on stderr; exit status 2."""
    print(f"{command}: {problem}", file=sys.stderr)
    return 2
