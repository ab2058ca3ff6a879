"""CORS on the Lambda edge: the shared policy (cloudmcp.http.cors) on Lambda's responses.

API Gateway HTTP APIs and function URLs can answer CORS themselves (their own CORS
configuration); this is for the REST API proxy and ALBs, which cannot, or for keeping
the policy beside the app.
"""

from __future__ import annotations

from collections.abc import Mapping

from cloudmcp.aws_lambda.events import HttpResponse
from cloudmcp.http.cors import CorsPolicy


class Cors(CorsPolicy):
    def preflight(self, method: str, headers: Mapping[str, str]) -> HttpResponse | None:
        """The answer to an OPTIONS request from an allowed origin; None otherwise."""
        found = self.preflight_headers(method, headers)
        return None if found is None else HttpResponse(204, found)

    def decorate(self, headers: Mapping[str, str], response: HttpResponse) -> None:
        """Add the CORS response headers when the request came from an allowed origin."""
        response.headers.extend(self.response_headers(headers))
