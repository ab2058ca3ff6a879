"""The package's shape: no import cycles, and the public API as documented.

The import graph counts every import written in `src/cloudmcp`, those under
`TYPE_CHECKING` and inside functions included, from module to module (a package's
`__init__` only where it is named). Dependencies point one way, down the layers:
edge → server → engine → registry, with state, auth and ops beside.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "cloudmcp"


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
                # `from pkg import module` imports the module; `from mod import name`, mod.
                targets = [t for t in targets if t in modules] or [base]
                if len(targets) > 1 and base in targets:
                    targets.remove(base)
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith(PACKAGE) and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    # Under TYPE_CHECKING, inside a function, relative or absolute: all are edges.
    assert "cloudmcp.protocol.sealing" in graph["cloudmcp.protocol.stateless"]  # TYPE_CHECKING
    assert "cloudmcp.protocol.legacy" in graph["cloudmcp.protocol.engine"]  # in a function
    assert "cloudmcp.http.asgi" in graph["cloudmcp.application"]


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_registry_knows_nothing_of_serving() -> None:
    graph = import_graph()
    below = {"cloudmcp.protocol.engine", "cloudmcp.server", "cloudmcp.compose"}
    for module in (m for m in graph if m.startswith("cloudmcp.app.")):
        assert not graph[module] & below, module


PUBLIC_API = {
    "cloudmcp": [
        "Audio",
        "CloudMCPError",
        "Content",
        "Context",
        "ElicitResult",
        "EmbeddedResource",
        "Header",
        "Image",
        "MCPApp",
        "MCPError",
        "Registry",
        "ResourceLink",
        "Settings",
        "TextContent",
        "ToolError",
        "ToolResult",
    ],
    "cloudmcp.testing": [
        "Answer",
        "Response",
        "TestClient",
        "initialize_request",
        "stateless_headers",
        "stateless_meta",
    ],
    "cloudmcp.compose": ["Composable", "Service", "compose"],
    "cloudmcp.errors": [
        "AppNotFound",
        "ArgumentError",
        "CloudMCPError",
        "ConfigError",
        "ConfigurationError",
        "CredentialError",
        "Deferred",
        "DeployError",
        "InputRequired",
        "InvalidCredential",
        "LambdaError",
        "MCPError",
        "ProbeError",
        "RegistrationError",
        "SecretsError",
        "StoreUnavailable",
        "TemplateError",
        "ToolError",
        "UnsupportedEvent",
        "VerifierUnavailable",
    ],
    "cloudmcp.aws_lambda": ["asgi_handler", "handler", "lambda_handler", "read_secrets"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC_API))
def test_the_public_api_is_pinned(module: str) -> None:
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == PUBLIC_API[module]
    for name in PUBLIC_API[module]:
        if name != "handler":  # made on first lookup, from CLOUDMCP_APP
            assert hasattr(imported, name), name


def test_every_exception_is_in_the_tree() -> None:
    import cloudmcp.errors as errors

    for name in errors.__all__:
        kind = getattr(errors, name)
        if name in ("InputRequired", "Deferred"):  # signals, not errors
            assert issubclass(kind, BaseException) and not issubclass(kind, Exception)
        else:
            assert issubclass(kind, errors.CloudMCPError), name
