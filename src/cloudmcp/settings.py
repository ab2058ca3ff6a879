"""Settings: one object, read from the environment once.

Every field has an environment variable of the same name in upper case (with the
aliases the seed deployment used, such as `MAX_REQUEST_SIZE`); lists are
comma-separated. README.md documents each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from cloudmcp.errors import ConfigurationError

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
#: Fields whose values never appear in a repr (logs, tracebacks).
SECRETS = frozenset({"api_keys", "oauth_client_secret"})


# The ranges a number setting may take; a value outside is refused at start-up.
Positive = Annotated[int, msgspec.Meta(ge=1)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


class Settings(msgspec.Struct, kw_only=True):
    #: A label for logs and health: "development", "staging", "production"...
    environment: str = "development"
    log_level: str = "INFO"
    #: Largest request body accepted, in bytes (413 beyond it).
    max_request_size: Positive = 4 * 1024 * 1024
    #: Host header values accepted (421 otherwise). Empty: any host, unless bound to
    #: localhost, where only local names are accepted (DNS rebinding protection).
    allowed_hosts: tuple[str, ...] = ()
    #: Origin header values accepted (403 otherwise); same default rule as hosts.
    allowed_origins: tuple[str, ...] = ()
    #: Browser origins answered with CORS headers and OPTIONS preflights by `cloudmcp serve`
    #: and the AWS Lambda edge ("*": any). Empty: no CORS. Cross-origin calls must also pass
    #: allowed_origins.
    cors_allow_origins: tuple[str, ...] = ()
    #: Redis for shared state; unset: in-process memory.
    redis_url: str | None = None
    #: Prefix for every key this deployment writes to the store.
    key_prefix: str = "cloudmcp:"
    #: Connections for Redis commands, per process (blocked reads of every open stream
    #: share one subscriber connection per shard: docs/state.md).
    redis_max_connections: Positive = 64
    #: Idle seconds before a legacy session expires.
    session_ttl: PositiveSeconds = 1800.0
    #: Events kept per SSE stream for resumption, and for how long (seconds).
    sse_history: Count = 1000
    sse_history_ttl: PositiveSeconds = 900.0
    #: Seconds between keep-alive comments on long-lived SSE streams.
    sse_keepalive: Seconds = 15.0
    #: The `retry` hint (ms) legacy clients get on SSE streams.
    sse_retry_ms: Count = 1000
    #: Seconds a server-to-client request waits for the client's answer.
    input_timeout: Seconds = 300.0
    #: Keys that seal MRTR `requestState`, newest first, as `id:base64` (32+ bytes each).
    #: Every instance needs the same ring; unset: a random per-process key.
    state_keys: tuple[str, ...] = ()
    #: Seconds a sealed `requestState` stays valid.
    state_ttl: PositiveSeconds = 600.0
    #: Freshness hint (ms) on list results for 2026-07-28 clients.
    list_ttl_ms: Count = 60_000
    #: Default cache TTL (seconds) for tools that opt into result caching.
    cache_ttl: Seconds = 300.0
    #: Per-tool timeout in seconds (0: none).
    tool_timeout: Seconds = 0.0
    # Tasks (the 2026-07-28 tasks extension): docs/tasks.md explains each of these.
    #: Seconds a task (and its result) is kept from its creation: its `ttlMs`.
    task_ttl: PositiveSeconds = 3600.0
    #: How often (ms) clients are asked to poll `tasks/get`: its `pollIntervalMs`.
    task_poll_interval_ms: Positive = 1000
    #: Seconds a worker's claim on a running task lasts unless renewed; past it, another
    #: instance takes the work over.
    task_lease: PositiveSeconds = 30.0
    #: Times a task's work is taken over from a lost worker before it fails.
    task_max_retries: Count = 2
    #: Tasks this process runs at once (0: none; it still creates and answers them).
    task_workers: Count = 16
    #: Seconds between looks for work a lost worker held, or that nobody started.
    task_sweep_interval: PositiveSeconds = 5.0
    #: Seconds one run of a task's tool may take (0: TOOL_TIMEOUT, or the tool's own).
    task_timeout: Seconds = 0.0
    #: Where task work starts: "local" (this process's workers), or "lambda" (an
    #: asynchronous invocation of this AWS Lambda function). Empty: "lambda" in the
    #: Lambda handler, "local" everywhere else.
    task_dispatch: str = ""
    #: Requests per principal as `count/seconds` (e.g. `100/60`), counted across every
    #: instance; empty: no limit. Tools add their own with `@app.tool(rate_limit=...)`.
    rate_limit: str = ""
    #: This process's name in the `X-Cloudmcp-Instance` response header; empty: host-pid.
    instance_id: str = ""
    #: Largest tool result or resource contents, in bytes of JSON; a larger tool result
    #: becomes a tool error. 0: no limit.
    max_result_size: Count = 4 * 1024 * 1024
    # Security: docs/security.md explains each of these.
    #: Who may call the MCP endpoint: none, api_key, oauth, or api_key,oauth (either).
    auth: str = "none"
    #: The canonical URI clients reach the MCP endpoint at (https://mcp.example.com/mcp):
    #: the audience OAuth tokens must name and the `resource` of the OAuth metadata.
    resource_uri: str = ""
    #: Scopes every caller needs; the metadata's scopes_supported (default: these and every
    #: scope a tool, prompt or resource declares); `broad=narrow ...` scope hierarchy rules.
    required_scopes: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()
    scope_implies: tuple[str, ...] = ()
    #: API keys as `KEY[:PRINCIPAL[:SCOPE SCOPE]]`: raw (hashed at load), as SHA-256 hex
    #: digests, or raw in a file one per line (a mounted secret); and the header besides
    #: `Authorization: Bearer` they may come in.
    api_keys: tuple[str, ...] = ()
    api_key_hashes: tuple[str, ...] = ()
    api_keys_file: str = ""
    api_key_header: str = "x-api-key"
    #: OAuth: the issuer of access tokens, its JWKS (default: from its metadata), the
    #: authorization servers the metadata lists (default: the issuer), and audiences
    #: accepted besides RESOURCE_URI (for issuers that cannot mint it).
    oauth_issuer: str = ""
    oauth_jwks_url: str = ""
    oauth_authorization_servers: tuple[str, ...] = ()
    oauth_audiences: tuple[str, ...] = ()
    #: Signature algorithms accepted; asymmetric ones only.
    oauth_algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256")
    #: Seconds of clock skew allowed on exp, nbf and iat.
    oauth_leeway: Seconds = 30.0
    #: Seconds a JWKS is kept, and the fewest between refreshes an unknown `kid` prompts.
    oauth_jwks_ttl: Seconds = 3600.0
    oauth_jwks_refresh_interval: Seconds = 30.0
    oauth_http_timeout: PositiveSeconds = 5.0
    #: jwt, introspection (RFC 7662), or auto (JWT-shaped tokens as JWTs, others introspected).
    oauth_validation: str = "jwt"
    oauth_introspection_url: str = ""
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    oauth_introspection_ttl: Seconds = 60.0
    #: Proxies (IPs or CIDRs) whose X-Forwarded-Host is believed.
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in msgspec.structs.fields(cls):
            raw = env.get(f.name.upper())
            if raw is not None:
                values[f.name] = _split(raw) if f.default == () else raw or f.default
        try:
            settings = msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            # "Expected `int`, got `str` - at `$.port`": name the variable, not the path.
            name = str(exc).rpartition("$.")[2].rstrip("`").upper()
            allowed = str(exc).partition(" - ")[0].replace("`", "")
            allowed = allowed[:1].lower() + allowed[1:]
            for kind, words in (("int", "a whole number"), ("float", "a number")):
                allowed = allowed.replace(f"expected {kind}, got str", f"expected {words}")
                allowed = allowed.replace(f"expected {kind}", f"expected {words}")
            shown = "<hidden>" if name.lower() in SECRETS else repr(env.get(name))
            raise ConfigurationError(f"{name}={shown}: {allowed}") from None
        for name, value in overrides.items():
            setattr(settings, name, value)
        return settings

    def __repr__(self) -> str:
        shown = (
            f"{f.name}={'<hidden>' if f.name in SECRETS else repr(getattr(self, f.name))}"
            for f in msgspec.structs.fields(self)
        )
        return f"Settings({', '.join(shown)})"

    def local_only(self, bind_host: str | None) -> bool:
        """Whether Host/Origin default to local names (a server bound to localhost)."""
        return bind_host in LOCAL_HOSTS
