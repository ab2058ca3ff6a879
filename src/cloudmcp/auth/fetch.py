"""The little HTTP the resource server does itself: JWKS, authorization server metadata,
token introspection.

The standard library's client, run in a worker thread: it costs nothing at import, and
these calls are rare (a JWKS is cached for an hour). HTTPS only, except to loopback
(tests, sidecars); redirects are refused, so an `https` URL cannot be bent to `http`
or to another host; answers are capped in size and time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

from cloudmcp.errors import VerifierUnavailable

MAX_BYTES = 1024 * 1024
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def check_url(url: str, setting: str) -> str:
    """`url` if it is HTTPS to a public host (or HTTP to loopback); raises ValueError
    naming `setting`. An address in a private, link-local or reserved range (a cloud's
    metadata service at 169.254.169.254, say) is refused: no issuer lives there, and a
    misconfiguration must not turn the resource server into a probe of the network it
    runs in. Names are not resolved here; see docs/security.md."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        if _internal(parts.hostname):
            raise ValueError(f"{setting} names an internal address: {parts.hostname}")
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url
    raise ValueError(f"{setting} must be an https:// URL (http:// only to loopback)")


def _internal(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name
    return not address.is_global


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx then surfaces as an HTTPError


_opener = urllib.request.build_opener(_NoRedirects)


def _fetch(request: urllib.request.Request, timeout: float) -> Any:
    # The URL was checked by check_url when configured: https, or http to loopback.
    with _opener.open(request, timeout=timeout) as response:  # nosec B310 - scheme checked
        if response.status != 200:
            raise VerifierUnavailable(f"HTTP {response.status}")
        body = response.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise VerifierUnavailable("answer too large")
    return json.loads(body)


async def fetch_json(
    url: str,
    *,
    timeout: float,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """GET `url` (POST `form` when given) and decode its JSON answer.

    Raises `VerifierUnavailable` for anything but a timely 200 with JSON: the caller
    decides whether old data will do.
    """
    check_url(url, "the URL")
    data = None
    all_headers = {"accept": "application/json", "user-agent": "cloudmcp", **(headers or {})}
    if form is not None:
        data = urlencode(form).encode()
        all_headers["content-type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=all_headers)
    try:
        return await asyncio.to_thread(_fetch, request, timeout)
    except VerifierUnavailable:
        raise
    except (OSError, ValueError, urllib.error.URLError) as exc:
        # The type only: an error's text could hold a URL with credentials in it.
        raise VerifierUnavailable(type(exc).__name__) from None
