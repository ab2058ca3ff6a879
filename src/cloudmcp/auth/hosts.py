"""Which Host and Origin headers the MCP endpoint answers (DNS rebinding protection).

`ALLOWED_HOSTS` and `ALLOWED_ORIGINS` take glob patterns and presets for the places
cloudmcp runs, so a deployment names its platform instead of spelling its hostnames:

    @cloudrun      *.run.app                         (Cloud Run service URLs)
    @apigateway    *.execute-api.*.amazonaws.com     (API Gateway REST and HTTP APIs)
    @function-url  *.lambda-url.*.on.aws             (Lambda Function URLs)
    @resource      the host of RESOURCE_URI          (the custom domain)
    @local         localhost, 127.0.0.1, [::1]
    @private       names no public DNS can point at you: local names, IP addresses,
                   single-label names (`mcp`), *.localhost, *.local, *.internal, *.home.arpa

`cloudmcp serve` bound to every interface (0.0.0.0, as in a container) with no
`ALLOWED_HOSTS` uses `@private` (and `@resource` when `RESOURCE_URI` is set): a DNS
rebinding attack needs a public name, and reaching a container by address, service name
or localhost keeps working. On Cloud Run any host is served: its front end delivers only
requests for the service's own URLs and mapped domains.

In `ALLOWED_ORIGINS` a preset stands for the `https://` origins of those hosts
(`@local`: `http://` and `https://`, any port).

Behind a proxy that rewrites Host, the original arrives as `X-Forwarded-Host`. It is
believed only when the connection comes from an address in `TRUSTED_PROXIES`: anyone
else could send it to slip past the Host check.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from cloudmcp.errors import MCPError
from cloudmcp.protocol.errors import forbidden, misdirected
from cloudmcp.protocol.transport import HttpRequest
from cloudmcp.settings import LOCAL_HOSTS, Settings

if TYPE_CHECKING:
    from ipaddress import IPv4Network, IPv6Network

    Network = IPv4Network | IPv6Network


def _literal(name: str) -> str:
    """A glob pattern matching exactly `name` (whose "[" would otherwise open a class)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


PRESETS: dict[str, tuple[str, ...]] = {
    "@cloudrun": ("*.run.app",),
    "@apigateway": ("*.execute-api.*.amazonaws.com",),
    "@function-url": ("*.lambda-url.*.on.aws",),
    # Escaped: "[::1]" is a literal name here, not a glob character class.
    "@local": tuple(_literal(h) for h in LOCAL_HOSTS if h != "::1"),
}


#: `name[:port]` or `[v6]:port`, as RFC 9110 allows in Host; nothing else ("@", "/"...).
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::[0-9]{0,5})?")
PRIVATE = "@private"
#: Suffixes public DNS never resolves (RFC 6761, 6762, 8375; `.internal` for cloud VPCs).
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")
WILDCARD_BINDS = ("0.0.0.0", "::", "[::]", "")  # nosec B104


def host_name(host: str) -> str:
    """The name in a Host header, without its port; "" when it is not a host at all
    (`localhost:1@evil.example` names no host, and is not `localhost`)."""
    found = _HOST.fullmatch(host)
    return found[1] if found else ""


def is_private(name: str) -> bool:
    """Whether only a local resolver can point `name` (lower case, no port) at us."""
    if name in LOCAL_HOSTS or "." not in name or name.endswith(_PRIVATE_SUFFIXES):
        return bool(name)
    import ipaddress

    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def default_hosts(settings: Settings, bind_host: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """`ALLOWED_HOSTS` for a server bound to `bind_host` when the setting is unset: local
    names on loopback (the engine's rule), private names on every interface unless on
    Cloud Run; as set otherwise."""
    if settings.allowed_hosts or bind_host not in WILDCARD_BINDS or "K_SERVICE" in env:
        return settings.allowed_hosts
    return (PRIVATE, "@resource") if settings.resource_uri else (PRIVATE,)


def _resource_host(resource_uri: str | None) -> str:
    from urllib.parse import urlsplit

    host = urlsplit(resource_uri or "").hostname
    if not host:
        raise ValueError("the @resource preset needs RESOURCE_URI")
    return host


def expand_hosts(patterns: Iterable[str], resource_uri: str | None = None) -> tuple[str, ...]:
    expanded: list[str] = []
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if pattern == "@resource":
            expanded.append(_literal(_resource_host(resource_uri)))
        elif pattern == PRIVATE:
            expanded.append(PRIVATE)  # decided by is_private(), not a glob
        elif pattern.startswith("@"):
            if pattern not in PRESETS:
                raise ValueError(f"ALLOWED_HOSTS: unknown preset {pattern!r}")
            expanded.extend(PRESETS[pattern])
        elif pattern:
            expanded.append(pattern)
    return tuple(dict.fromkeys(expanded))


def expand_origins(patterns: Iterable[str], resource_uri: str | None = None) -> tuple[str, ...]:
    expanded: list[str] = []
    for pattern in patterns:
        pattern = pattern.strip()
        if pattern == "@local":
            for host in PRESETS["@local"]:  # already escaped
                expanded += [f"{s}://{host}{p}" for s in ("http", "https") for p in ("", ":*")]
        elif pattern == PRIVATE:
            raise ValueError(f"ALLOWED_ORIGINS: {PRIVATE} is for ALLOWED_HOSTS only")
        elif pattern.startswith("@"):
            expanded += [f"https://{h}" for h in expand_hosts([pattern], resource_uri)]
        elif pattern:
            expanded.append(pattern)
    return tuple(dict.fromkeys(expanded))


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    entries = tuple(entries)
    if not entries:
        return ()
    import ipaddress  # only deployments behind a proxy pay for it

    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _netloc(origin: str) -> str:
    try:
        from urllib.parse import urlsplit  # only requests that carry an Origin

        return urlsplit(origin).netloc
    except ValueError:  # "http://[" and the like: no host at all
        return ""


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


#: Distinct (host, origin) pairs remembered; a flood of made-up ones only resets the memo.
_VERDICTS_KEPT = 1024


class HostPolicy:
    def __init__(self, settings: Settings, *, local_only: bool = False) -> None:
        self.local_only = local_only
        self.hosts = expand_hosts(settings.allowed_hosts, settings.resource_uri)
        self.origins = expand_origins(settings.allowed_origins, settings.resource_uri)
        self.proxies = parse_networks(settings.trusted_proxies) if settings.trusted_proxies else ()
        self._verdicts: dict[tuple[str, str | None], tuple[int, str] | None] = {}

    def host(self, request: HttpRequest) -> str:
        """The host the client addressed: `X-Forwarded-Host` from a trusted proxy, else Host."""
        forwarded = request.headers.get("x-forwarded-host")
        if forwarded and self._from_proxy(request.client):
            # The last entry is the one the nearest proxy (the trusted one) added.
            return forwarded.rsplit(",", 1)[-1].strip()
        return request.headers.get("host", "")

    def _from_proxy(self, client: str | None) -> bool:
        if not self.proxies or not client:
            return False
        import ipaddress

        try:
            address = ipaddress.ip_address(client.strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def check(self, request: HttpRequest) -> None:
        """Raises 421 for a host not served here, 403 for an origin not allowed."""
        host = self.host(request)
        origin = request.headers.get("origin")
        # The policy never changes and clients repeat the same pair: decide each pair once.
        key = (host, origin)
        if key not in self._verdicts:
            if len(self._verdicts) >= _VERDICTS_KEPT:
                self._verdicts.clear()
            self._verdicts[key] = self._verdict(host, origin)
        verdict = self._verdicts[key]
        if verdict is not None:
            raise misdirected(verdict[1], verdict[0])

    def _verdict(self, host: str, origin: str | None) -> tuple[int, str] | None:
        """None when the pair is allowed, else the status and the message."""
        try:
            self._decide(host, origin)
        except MCPError as refused:
            return refused.status, refused.message
        return None

    def _decide(self, host: str, origin: str | None) -> None:
        name = host_name(host).lower()
        if host and not name:
            raise MCPError(-32600, f"Misdirected request: {host!r} is not a host", status=421)
        if self.hosts:
            allowed = (
                _matches(host.lower(), self.hosts)
                or _matches(name, self.hosts)
                or (PRIVATE in self.hosts and is_private(name))
            )
        else:
            allowed = not self.local_only or name in LOCAL_HOSTS
        if not allowed:
            raise misdirected(f"Misdirected request: host {host!r} is not served here")
        if origin is None or (origin == "null" and not self.local_only):
            return
        if self.origins:
            allowed = _matches(origin, self.origins)
        elif self.local_only:
            allowed = host_name(_netloc(origin)) in LOCAL_HOSTS
        else:  # same origin as the host it was sent to
            allowed = _netloc(origin) == host
        if not allowed:
            raise forbidden(f"origin {origin!r} is not allowed")
