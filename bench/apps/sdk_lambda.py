"""The official SDK's stateless JSON app on Lambda through Mangum, as its users deploy it.

DNS-rebinding protection is off: behind API Gateway the Host is the API's domain.
"""

from mangum import Mangum
from mcp.server.transport_security import TransportSecuritySettings
from sdk_app import server

app = server.streamable_http_app(
    stateless_http=True,
    json_response=True,
    transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
)
handler = Mangum(app, lifespan="auto")
