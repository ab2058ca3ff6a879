"""A small OAuth authorization server on loopback, for tests: real keys, real tokens.

It serves its metadata (RFC 8414), its JWKS, a `client_credentials` token endpoint and
RFC 7662 introspection. RSA and EC keys are generated when it starts; nothing secret
lives in the repository.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

CLIENT_ID = "test-client"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        algorithm = RSAAlgorithm if self.alg.startswith(("RS", "PS")) else ECAlgorithm
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        jwk.update(kid=self.kid, use="sig")
        return jwk


def rsa_key(kid: str, alg: str = "RS256") -> SigningKey:
    return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class AuthorizationServer:
    url: str = ""
    #: The resource tokens are minted for unless a test says otherwise.
    resource: str = ""
    keys: list[SigningKey] = field(default_factory=list)
    #: Keys that sign but are not (yet) in the JWKS.
    unpublished: list[SigningKey] = field(default_factory=list)
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    #: Opaque tokens the introspection endpoint knows, with their answers.
    opaque: dict[str, dict[str, Any]] = field(default_factory=dict)
    jwks_fetches: int = 0
    introspections: int = 0
    token_requests: list[dict[str, str]] = field(default_factory=list)
    #: Scopes the token endpoint grants (those requested, within these).
    grantable: frozenset[str] = frozenset({"tools:read", "files:read", "admin"})

    def key(self, kid: str) -> SigningKey:
        return next(k for k in self.keys + self.unpublished if k.kid == kid)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": self.resource,
            "sub": "alice",
            "client_id": CLIENT_ID,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "scope": "tools:read",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, kid: str = "rsa-1", alg: str | None = None, **claims: Any) -> str:
        key = self.key(kid)
        return jwt.encode(
            self.claims(**claims),
            key.private,
            algorithm=alg or key.alg,
            headers={"kid": kid, "typ": "at+jwt"},
        )

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks",
            "token_endpoint": f"{self.url}/token",
            "introspection_endpoint": f"{self.url}/introspect",
            "authorization_endpoint": f"{self.url}/authorize",
            "response_types_supported": ["code"],
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": sorted(self.grantable),
        }

    # the token endpoint: client_credentials only

    def issue(self, form: dict[str, str], authorization: str | None) -> tuple[int, Any]:
        self.token_requests.append(form)
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        if client_id != CLIENT_ID or secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        scopes = [s for s in form.get("scope", "").split() if s in self.grantable]
        token = self.token(
            sub=CLIENT_ID, scope=" ".join(scopes), aud=form.get("resource") or self.resource
        )
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 600,
            "scope": " ".join(scopes),
        }


def _handler(server: AuthorizationServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path in (
                "/.well-known/oauth-authorization-server",
                "/.well-known/openid-configuration",
            ):
                self._json(200, server.metadata())
            elif self.path == "/jwks":
                server.jwks_fetches += 1
                self._json(200, {"keys": [k.public_jwk for k in server.keys]})
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/token":
                self._json(*server.issue(form, self.headers.get("authorization")))
            elif self.path == "/introspect":
                server.introspections += 1
                answer = server.opaque.get(form.get("token", ""), {"active": False})
                self._json(200, answer)
            else:
                self._json(404, {"error": "not_found"})

    return Handler


@contextmanager
def running_authorization_server() -> Iterator[AuthorizationServer]:
    server = AuthorizationServer(keys=[rsa_key("rsa-1"), ec_key("ec-1"), rsa_key("ps-1", "PS256")])
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
