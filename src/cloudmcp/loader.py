"""Find the `MCPApp` a command or a Lambda handler serves: `module:attr` or `file.py[:attr]`."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from cloudmcp.application import MCPApp
from cloudmcp.errors import AppNotFound

DEFAULT_TARGET = "cloudmcp.example:app"


def load_app(target: str | None = None) -> MCPApp:
    target = target or DEFAULT_TARGET
    location, _, attr = target.partition(":")
    if location.endswith(".py") or "/" in location:
        path = os.path.realpath(location)  # os.path, not pathlib: this runs in cold starts
        if not os.path.isfile(path):
            raise AppNotFound(f"no such file: {location}")
        stem = os.path.splitext(os.path.basename(path))[0]
        name = f"_cloudmcp_target_{stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise AppNotFound(f"cannot import {location}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        # Let the app import its sibling modules, as `python file.py` would.
        sys.path.insert(0, os.path.dirname(path))
        spec.loader.exec_module(module)
    else:
        # As `python -m` and uvicorn do: modules in the current folder are importable.
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(location)
        except ModuleNotFoundError as exc:
            raise AppNotFound(f"cannot import {location!r}: {exc}") from None
    app = getattr(module, attr or "app", None)
    if app is not None and not isinstance(app, MCPApp):
        from cloudmcp.adapters import adapt  # imports a framework only for its own apps

        app = adapt(app)
    if not isinstance(app, MCPApp):
        raise AppNotFound(f"{target!r} is not an MCPApp (looked for {attr or 'app'!r})")
    return app
