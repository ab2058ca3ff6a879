"""A bridged stdio server in the image: `[stdio]` in the deploy config.

```toml
[stdio]
runtime = "node"                       # or "python"
package = "@modelcontextprotocol/server-everything@2026.8.31"   # or "mcp-server-time==2026.10.19"
command = ["mcp-server-everything"]    # what the package installs, with its arguments
```

The package is installed when the image is built, never when a container starts: Node's
packages into /opt/stdio with npm (Node itself copied from the official image), Python's
into a virtual environment of their own made with uv. The image then serves the command
through `CLOUDMCP_STDIO` (`cloudmcp serve` on Cloud Run, the Lambda handler on AWS).
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Literal

import msgspec

from cloudmcp.errors import TemplateError

#: The Node image whose runtime the image carries (Node 22, Debian bookworm as the base).
NODE_IMAGE = "node:22.23.3-bookworm-slim"
#: uv, which makes the Python server's own virtual environment at build time.
UV = "uv==0.13.10"
#: npm specs (`name`, `@scope/name`, with `@version`) and PyPI requirements (`name==version`).
Package = Annotated[str, msgspec.Meta(pattern=r"^@?[A-Za-z0-9][A-Za-z0-9._/@=<>~!,-]*$")]
Word = Annotated[str, msgspec.Meta(min_length=1, pattern=r"^[^\x00-\x1f]+$")]


class StdioServer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The `[stdio]` table: the package to build in and the command that runs it."""

    runtime: Literal["node", "python"]
    package: Package
    command: Annotated[list[Word], msgspec.Meta(min_length=1)]


def _stages(server: StdioServer) -> tuple[str, str]:
    """(the build stage that installs the package, what the runtime stage copies from it)."""
    package = shlex.quote(server.package)
    if server.runtime == "node":
        build = f"""
FROM {NODE_IMAGE} AS stdio
# The stdio server, installed now: a container never fetches packages when it starts.
RUN npm install --global --omit=dev --no-audit --no-fund --prefix /opt/stdio {package}
"""
        copy = (
            "COPY --from=stdio /usr/local/bin/node /usr/local/bin/node\n"
            "COPY --from=stdio /opt/stdio /opt/stdio\n"
        )
        return build, copy
    build = f"""
FROM python-base AS stdio
# The stdio server in a virtual environment of its own (its dependencies never meet the
# app's), installed now: a container never fetches packages when it starts.
ENV UV_TOOL_DIR=/opt/stdio/tools UV_TOOL_BIN_DIR=/opt/stdio/bin UV_NO_CACHE=1
RUN pip install --no-cache-dir {UV} \\
    && uv tool install --python /usr/local/bin/python {package}
"""
    return build, "COPY --from=stdio /opt/stdio /opt/stdio\n"


_RUNTIME = re.compile(r"^FROM (?P<base>\S+) AS runtime$", re.M)
_APP_ENV = re.compile(r"^(?P<indent>\s*)CLOUDMCP_APP=\S+$", re.M)
_CMD = re.compile(r'^CMD \["cloudmcp", "serve", "[^"]*"', re.M)


def stdio_dockerfile(dockerfile: str, server: StdioServer) -> str:
    """The rendered Dockerfile, changed to carry `server` and serve it."""
    runtime = _RUNTIME.search(dockerfile)
    if runtime is None or _APP_ENV.search(dockerfile) is None or _CMD.search(dockerfile) is None:
        raise TemplateError("the Dockerfile template changed: cannot add the [stdio] server")
    build, copy = _stages(server)
    base = runtime["base"]
    if server.runtime == "python":
        build = build.replace("FROM python-base AS", f"FROM {base} AS")
    # The build stage goes before the runtime stage; the copies come after the app's venv.
    start = runtime.start()
    dockerfile = dockerfile[:start] + build.lstrip("\n") + "\n" + dockerfile[start:]
    # After the app's PATH: the server's commands never shadow cloudmcp's own.
    copy += "ENV PATH=$PATH:/opt/stdio/bin\n"
    venv = "COPY --from=build /opt/venv /opt/venv\n"
    if venv not in dockerfile:
        raise TemplateError("the Dockerfile template changed: cannot add the [stdio] server")
    dockerfile = dockerfile.replace(venv, venv + copy, 1)
    line = _env_value(shlex.join(server.command))
    dockerfile = _APP_ENV.sub(
        lambda found: f"{found['indent']}CLOUDMCP_STDIO={line}", dockerfile, count=1
    )
    # `cloudmcp serve` with no target serves CLOUDMCP_STDIO.
    return _CMD.sub('CMD ["cloudmcp", "serve"', dockerfile, count=1)


def _env_value(text: str) -> str:
    """A Dockerfile ENV value: double-quoted, so spaces and quotes survive."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
