"""Host and Origin: platform presets, the custom domain, and X-Forwarded-Host only from
trusted proxies."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from auth_wire import Wire

from cloudmcp.auth.hosts import HostPolicy, expand_hosts, expand_origins
from cloudmcp.errors import MCPError
from cloudmcp.protocol.transport import HttpRequest
from cloudmcp.settings import Settings


def status(policy: HostPolicy, headers: dict[str, str], client: str | None = None) -> int:
    request = HttpRequest("POST", headers, b"", "/mcp", client=client)
    try:
        policy.check(request)
    except MCPError as exc:
        return exc.status
    return 200


PRESET_HOSTS = {
    "@cloudrun": ["inventory-abc123-uc.a.run.app", "inventory-7x2k.run.app:443"],
    "@apigateway": ["a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"],
    "@function-url": ["abcdefghijklmnop.lambda-url.us-east-1.on.aws"],
    "@resource": ["mcp.example.com", "MCP.Example.com:443"],
    "@local": ["localhost:8000", "127.0.0.1", "[::1]:9000"],
}
FOREIGN = ["evil.example", "run.app.evil.example", "execute-api.amazonaws.com.evil.example", ""]


@pytest.mark.parametrize("preset", list(PRESET_HOSTS))
def test_host_presets(preset: str) -> None:
    settings = Settings(allowed_hosts=(preset,), resource_uri="https://mcp.example.com/mcp")
    policy = HostPolicy(settings)
    for host in PRESET_HOSTS[preset]:
        assert status(policy, {"host": host}) == 200, host
    for host in FOREIGN:
        assert status(policy, {"host": host}) == 421, host


def test_presets_combine_with_literal_hosts() -> None:
    hosts = expand_hosts(["@cloudrun", "@apigateway", "api.internal"], None)
    assert hosts == ("*.run.app", "*.execute-api.*.amazonaws.com", "api.internal")
    with pytest.raises(ValueError, match="unknown preset"):
        expand_hosts(["@heroku"])
    with pytest.raises(ValueError, match="RESOURCE_URI"):
        expand_hosts(["@resource"], "")


def test_origin_presets() -> None:
    origins = expand_origins(["@cloudrun", "@resource"], "https://mcp.example.com/mcp")
    assert origins == ("https://*.run.app", "https://mcp.example.com")
    settings = Settings(
        allowed_origins=("@resource", "@local"), resource_uri="https://mcp.example.com/mcp"
    )
    policy = HostPolicy(settings)
    host = {"host": "mcp.example.com"}
    assert status(policy, {**host, "origin": "https://mcp.example.com"}) == 200
    assert status(policy, {**host, "origin": "http://localhost:6274"}) == 200
    assert status(policy, {**host, "origin": "https://evil.example"}) == 403
    assert status(policy, {**host, "origin": "http://mcp.example.com"}) == 403


def test_default_origin_rule_is_same_origin_and_survives_junk() -> None:
    policy = HostPolicy(Settings())
    host = {"host": "mcp.example.com"}
    assert status(policy, {**host, "origin": "https://mcp.example.com"}) == 200
    assert status(policy, {**host, "origin": "https://evil.example"}) == 403
    for junk in ("http://[", "::::", "\x00", "https://[::1"):
        assert status(policy, {**host, "origin": junk}) == 403


def test_forwarded_host_only_from_trusted_proxies() -> None:
    settings = Settings(allowed_hosts=("mcp.example.com",), trusted_proxies=("10.0.0.0/8",))
    policy = HostPolicy(settings)
    forwarded = {"host": "internal-lb:8080", "x-forwarded-host": "mcp.example.com"}
    assert status(policy, forwarded, client="10.1.2.3") == 200
    assert status(policy, forwarded, client="203.0.113.9") == 421  # anyone else: Host counts
    assert status(policy, forwarded, client=None) == 421
    # A client-supplied entry before the proxy's own does not win.
    chained = {"host": "internal-lb", "x-forwarded-host": "mcp.example.com, evil.example"}
    assert status(policy, chained, client="10.1.2.3") == 421
    # Without trusted proxies the header is ignored, even when it names an allowed host.
    untrusting = HostPolicy(Settings(allowed_hosts=("mcp.example.com",)))
    assert status(untrusting, forwarded, client="10.1.2.3") == 421
    # The forwarded host is also what a same-origin Origin is compared with.
    with_origin = {**forwarded, "origin": "https://mcp.example.com"}
    assert (
        status(HostPolicy(Settings(trusted_proxies=("10.0.0.0/8",))), with_origin, "10.0.0.1")
        == 200
    )


def test_bad_proxy_entries_fail_at_start() -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        HostPolicy(Settings(trusted_proxies=("not-an-ip",)))


async def test_presets_guard_the_mcp_endpoint(wire_for: Callable[..., Wire]) -> None:
    """Through the whole stack: the ASGI peer address reaches the check."""
    wire = wire_for(
        Settings(
            allowed_hosts=("@cloudrun",),
            trusted_proxies=("127.0.0.1",),  # httpx's ASGI transport connects from here
        )
    )
    response = await wire.modern("tools/list", headers={"host": "svc-abc-uc.a.run.app"})
    assert response.status_code == 200
    response = await wire.modern("tools/list", headers={"host": "testserver"})
    assert response.status_code == 421
    response = await wire.modern(
        "tools/list", headers={"host": "testserver", "x-forwarded-host": "svc-abc-uc.a.run.app"}
    )
    assert response.status_code == 200


# A Host that is not a host, and a server bound to every interface


@pytest.mark.parametrize(
    "host",
    [
        "localhost:1@evil.example",
        "127.0.0.1:80@evil.example",
        "localhost/evil.example",
        "[::1]:80@evil.example",
        "localhost:8000:1",
        "localhost evil.example",
    ],
)
def test_a_host_with_userinfo_or_junk_is_not_local(host: str) -> None:
    policy = HostPolicy(Settings(), local_only=True)
    assert status(policy, {"host": host}) == 421
    if "@" in host:  # in an Origin, what precedes "@" is userinfo, not the host
        origin = f"http://{host}"
        assert status(policy, {"host": "localhost:8000", "origin": origin}) == 403


PRIVATE_HOSTS = [
    "localhost:8000",
    "127.0.0.1:8000",
    "[::1]:8000",
    "192.168.1.20:8000",
    "10.0.0.7",
    "[fd00::1]:8000",
    "mcp:8000",  # a compose or Kubernetes service name
    "host.docker.internal:8000",
    "laptop.local",
    "app.localhost",
    "mcp.default.svc.cluster.local",
]
PUBLIC_HOSTS = ["evil.example", "evil.example:8000", "rebind.attacker.com", "1.2.3.4.evil.example"]


def test_private_preset_admits_names_no_public_dns_can_point_here() -> None:
    policy = HostPolicy(Settings(allowed_hosts=("@private",)))
    for host in PRIVATE_HOSTS:
        assert status(policy, {"host": host}) == 200, host
    for host in PUBLIC_HOSTS:
        assert status(policy, {"host": host}) == 421, host
    with pytest.raises(ValueError, match="ALLOWED_HOSTS only"):
        expand_origins(["@private"])


def test_a_wildcard_bind_keeps_the_rebinding_check_except_on_cloud_run() -> None:
    from cloudmcp.auth.hosts import default_hosts

    plain = Settings()
    assert default_hosts(plain, "0.0.0.0", {}) == ("@private",)
    assert default_hosts(plain, "::", {"PORT": "8080"}) == ("@private",)
    custom = Settings(resource_uri="https://mcp.example.com/mcp")
    assert default_hosts(custom, "0.0.0.0", {}) == ("@private", "@resource")
    # Cloud Run's front end routes by Host: only its own URLs and mapped domains arrive.
    assert default_hosts(plain, "0.0.0.0", {"K_SERVICE": "svc"}) == ()
    # Loopback keeps the engine's local-names rule; a setting always wins.
    assert default_hosts(plain, "127.0.0.1", {}) == ()
    chosen = Settings(allowed_hosts=("mcp.example.com",))
    assert default_hosts(chosen, "0.0.0.0", {}) == ("mcp.example.com",)
    policy = HostPolicy(
        Settings(
            allowed_hosts=default_hosts(custom, "0.0.0.0", {}), resource_uri=custom.resource_uri
        )
    )
    assert status(policy, {"host": "mcp.example.com"}) == 200
    assert status(policy, {"host": "evil.example"}) == 421
