"""Check a Terraform module against the providers' own schemas, without the providers.

`terraform validate` needs every provider downloaded from the registry. The CDKTF provider
packages (`@cdktf/provider-aws`, `@cdktf/provider-google` on npm) are generated from the
providers' schemas and carry them in their `.jsii` files: every resource and data source, each
argument and nested block, which are required. `extract` turns a `.jsii` file into a compact
schema; `check_module` then finds, in a module as python-hcl2 parses it, every unknown resource
type, unknown argument or block, and missing required argument or block, nested blocks included.

    python -m cloudmcp.deploy.terraform.schemas extract PROVIDER.jsii OUT.json
    python -m cloudmcp.deploy.terraform.schemas check SCHEMA.json... -- MODULE.ndjson
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from cloudmcp.deploy.terraform.references import Problem

# Arguments and blocks Terraform itself gives every resource and data source.
META_ARGUMENTS = frozenset({"count", "for_each", "provider", "depends_on"})
META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection"})
PROVIDER_META = frozenset({"alias"})
_MARKERS = ("__is_block__", "__file__", "__start_line__", "__end_line__")

_REPRESENTS = re.compile(r"/docs/(?P<kind>resources|data-sources)/\w+ (?P<type>\w+)\}")
_PROVIDER = re.compile(r"/providers/hashicorp/(?P<name>\w+)/[0-9.]+/docs \w+\}")
_ANCHOR = re.compile(r"#(?P<name>[a-z0-9_]+) ")
_FQN = re.compile(r'"fqn": "([^"]+)"')

# A compact schema block: {"arguments": {name: required}, "blocks": {name: [required, block]}}.
Block = dict[str, Any]


def _terraform_name(prop: Mapping[str, Any]) -> str:
    """The argument's own name, from the registry link in its docs (camelCase as a fallback)."""
    docs = prop.get("docs", {})
    match = _ANCHOR.search(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
    if match:
        return match["name"]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", str(prop["name"])).lower()


class _Assembly:
    def __init__(self, types: Mapping[str, Any]) -> None:
        self.types = types
        self.blocks: dict[str, Block] = {}

    def struct_of(self, type_ref: Any) -> str | None:
        """The datatype (a nested block) a property holds, directly or in a list or union."""
        for fqn in _FQN.findall(json.dumps(type_ref)):
            found = self.types.get(fqn)
            if found and found.get("datatype"):
                return str(fqn)
        return None

    def block(self, fqn: str) -> Block:
        if fqn in self.blocks:
            return self.blocks[fqn]
        result: Block = {"arguments": {}, "blocks": {}}
        self.blocks[fqn] = result  # before recursing: some schemas nest themselves
        for prop in self.types[fqn].get("properties", []):
            name = _terraform_name(prop)
            required = not prop.get("optional", False)
            nested = self.struct_of(prop["type"])
            if nested is None:
                result["arguments"][name] = required
            else:
                result["blocks"][name] = [required, self.block(nested)]
        return result


def extract(jsii: Mapping[str, Any]) -> dict[str, Any]:
    """{"provider": {name: block}, "resource": {type: block}, "data": {type: block}}."""
    assembly = _Assembly(jsii["types"])
    schema: dict[str, Any] = {"provider": {}, "resource": {}, "data": {}}
    for fqn, kind in jsii["types"].items():
        if kind.get("kind") != "class":
            continue
        summary = kind.get("docs", {}).get("summary", "")
        params = (kind.get("initializer") or {}).get("parameters", [])
        config = next((p["type"].get("fqn") for p in params if p["name"] == "config"), None)
        if config is None:
            continue
        represents = _REPRESENTS.search(summary)
        provider = _PROVIDER.search(summary)
        if represents:
            section = "resource" if represents["kind"] == "resources" else "data"
            schema[section][represents["type"]] = assembly.block(config)
        elif provider and fqn.endswith("Provider"):
            schema["provider"][provider["name"]] = assembly.block(config)
    # Blocks are shared by reference while extracting; JSON writes each where it is used.
    copied: dict[str, Any] = json.loads(json.dumps(schema))
    return copied


def load_schemas(paths: Sequence[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {"provider": {}, "resource": {}, "data": {}}
    for path in paths:
        part = json.loads(path.read_text())
        for section in merged:
            merged[section].update(part[section])
    return merged


def _label(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _entries(body: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in body.items():
        if key not in _MARKERS:
            yield key, value


def _is_block_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and item.get("__is_block__") for item in value)
    )


def _check_block(
    file: str, where: str, body: Mapping[str, Any], schema: Block, meta: frozenset[str]
) -> Iterator[Problem]:
    arguments: dict[str, bool] = schema["arguments"]
    blocks: dict[str, list[Any]] = schema["blocks"]
    seen: set[str] = set()
    for key, value in _entries(body):
        if key == "dynamic" and isinstance(value, list):
            for dynamic in value:
                for label, generator in _entries(dynamic):
                    name = _label(label)
                    seen.add(name)
                    if name not in blocks:
                        yield Problem(file, f"{where}.{name}", "no such block (dynamic)")
                        continue
                    for content in generator.get("content", []):
                        yield from _check_block(
                            file, f"{where}.{name}", content, blocks[name][1], frozenset()
                        )
            continue
        seen.add(key)
        if key in meta:
            continue
        if key in blocks:
            # A nested block, or an object-typed attribute written with `=`: check its keys.
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, Mapping):
                    yield from _check_block(
                        file, f"{where}.{key}", item, blocks[key][1], frozenset()
                    )
            continue
        if key in arguments:
            if _is_block_list(value):
                yield Problem(file, f"{where}.{key}", "is an argument, written as a block")
            continue
        kind = "block" if _is_block_list(value) else "argument"
        yield Problem(file, f"{where}.{key}", f"no such {kind}")
    for name, required in arguments.items():
        if required and name not in seen:
            yield Problem(file, f"{where}.{name}", "required argument is missing")
    for name, (required, _) in blocks.items():
        if required and name not in seen:
            yield Problem(file, f"{where}.{name}", "required block is missing")


def check_module(
    documents: Sequence[Mapping[str, Any]], schemas: Mapping[str, Any]
) -> list[Problem]:
    """Unknown types, arguments and blocks, and missing required ones, in every file."""
    problems: list[Problem] = []
    meta = META_ARGUMENTS | META_BLOCKS
    for document in documents:
        file = str(document.get("__file__", "?"))
        for section in ("resource", "data"):
            for block in document.get(section, []) or []:
                for type_label, named in _entries(block):
                    type_ = _label(type_label)
                    known = schemas[section].get(type_)
                    for name_label, body in _entries(named):
                        where = (
                            f"{'data.' if section == 'data' else ''}{type_}.{_label(name_label)}"
                        )
                        if known is None:
                            problems.append(Problem(file, where, f"unknown {section} type"))
                        elif isinstance(body, Mapping):
                            problems.extend(_check_block(file, where, body, known, meta))
        for block in document.get("provider", []) or []:
            for name_label, body in _entries(block):
                name = _label(name_label)
                known = schemas["provider"].get(name)
                if known is None:
                    problems.append(Problem(file, f"provider.{name}", "unknown provider"))
                elif isinstance(body, Mapping):
                    problems.extend(
                        _check_block(file, f"provider.{name}", body, known, PROVIDER_META)
                    )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 3 and args[0] == "extract":
        jsii = json.loads(Path(args[1]).read_text())
        Path(args[2]).write_text(json.dumps(extract(jsii)))
        return 0
    if args and args[0] == "check" and "--" in args:
        split = args.index("--")
        schemas = load_schemas([Path(p) for p in args[1:split]])
        documents = [
            json.loads(line) for line in Path(args[split + 1]).read_text().splitlines() if line
        ]
        problems = check_module(documents, schemas)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
