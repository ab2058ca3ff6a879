"""Authentication and authorization for the MCP endpoint: API keys, OAuth 2.1 access
tokens, Protected Resource Metadata, and the Host/Origin rules.

Names load on first use, so an app that imports `cloudmcp.auth.principal` alone (or
runs with `AUTH=none`, importing nothing here) pays for no more than it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudmcp.auth.api_keys import ApiKey, ApiKeys, hash_api_key
    from cloudmcp.auth.configure import from_settings
    from cloudmcp.auth.introspection import Introspection
    from cloudmcp.auth.oauth import OAuthTokens
    from cloudmcp.auth.principal import Principal
    from cloudmcp.auth.resource import ProtectedResource

_WHERE = {
    "ApiKey": "api_keys",
    "ApiKeys": "api_keys",
    "hash_api_key": "api_keys",
    "from_settings": "configure",
    "Introspection": "introspection",
    "OAuthTokens": "oauth",
    "Principal": "principal",
    "ProtectedResource": "resource",
}

__all__ = [
    "ApiKey",
    "ApiKeys",
    "Introspection",
    "OAuthTokens",
    "Principal",
    "ProtectedResource",
    "from_settings",
    "hash_api_key",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'cloudmcp.auth' has no attribute {name!r}")
    return getattr(importlib.import_module(f"cloudmcp.auth.{module}"), name)
