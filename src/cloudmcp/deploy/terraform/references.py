"""Check that every reference in a Terraform module resolves to something the module defines.

`terraform validate` would say so, but it needs every provider downloaded. This check reads the
module as python-hcl2 parses it (`hcl2tojson --ndjson DIR`, one JSON document per file) and
finds, in every expression, the references to resources, data sources, variables, locals,
modules and provider aliases; each must be declared in one of the files. Var files are checked
too: every value set must be a declared variable, every variable without a default must be set.

Run it as `python -m cloudmcp.deploy.terraform.references MODULE.ndjson [VARS.json...]`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Roots that Terraform itself defines inside expressions.
BUILTIN_ROOTS = frozenset({"each", "count", "self", "path", "terraform"})
KEYWORDS = frozenset({"for", "in", "if", "true", "false", "null", "else", "endif", "endfor"})
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789-")
_MARKERS = ("__is_block__", "__file__", "__start_line__", "__end_line__")


@dataclass(frozen=True)
class Problem:
    file: str
    reference: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reference}: {self.message}"


@dataclass
class Definitions:
    resources: set[tuple[str, str]] = field(default_factory=set)
    data: set[tuple[str, str]] = field(default_factory=set)
    variables: dict[str, bool] = field(default_factory=dict)  # name -> has a default
    locals: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    providers: set[str] = field(default_factory=set)  # "aws" and "aws.us_east_1"


def _label(text: str) -> str:
    """python-hcl2 8 keeps the quotes of block labels and string literals; 7 did not."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _blocks(document: Mapping[str, Any], kind: str) -> Iterator[Mapping[str, Any]]:
    for block in document.get(kind, []) or []:
        if isinstance(block, Mapping):
            yield block


def _labelled(document: Mapping[str, Any], kind: str) -> Iterator[tuple[str, Any]]:
    for block in _blocks(document, kind):
        for name, body in block.items():
            if name not in _MARKERS:
                yield _label(name), body


def collect_definitions(documents: Iterable[Mapping[str, Any]]) -> Definitions:
    found = Definitions()
    for document in documents:
        for kind, target in (("resource", found.resources), ("data", found.data)):
            for type_, named in _labelled(document, kind):
                for name in named:
                    if name not in _MARKERS:
                        target.add((type_, _label(name)))
        for name, body in _labelled(document, "variable"):
            found.variables[name] = isinstance(body, Mapping) and "default" in body
        for block in _blocks(document, "locals"):
            found.locals.update(k for k in block if k not in _MARKERS)
        for name, _ in _labelled(document, "module"):
            found.modules.add(name)
        for name, body in _labelled(document, "provider"):
            alias = body.get("alias") if isinstance(body, Mapping) else None
            found.providers.add(f"{name}.{_label(str(alias))}" if alias else name)
    return found


# --- expression scanning -------------------------------------------------------------------


def _match_close(text: str, start: int) -> int:
    """Index just past the `}` closing the `${` or `{` whose brace is at `start`."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == '"':
            index = _skip_string(text, index)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return len(text)


def _skip_string(text: str, start: int) -> int:
    """Index just past the string literal opening at `start` (interpolations included)."""
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if text.startswith(("$${", "%%{"), index):
            index += 3
            continue
        if text.startswith(("${", "%{"), index):
            index = _match_close(text, index + 1)
            continue
        if char == '"':
            return index + 1
        index += 1
    return len(text)


def template_expressions(text: str) -> list[str]:
    """The expressions inside `${...}` and `%{...}` of a template (escapes `$${` skipped)."""
    found: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith(("$${", "%%{"), index):
            index += 3
        elif text.startswith(("${", "%{"), index):
            end = _match_close(text, index + 1)
            found.append(text[index + 2 : end - 1])
            index = end
        else:
            index += 1
    return found


def expression_references(expression: str) -> list[list[str]]:
    """Traversals (`["aws_iam_role", "lambda", "arn"]`) an expression reads, minus bound names."""
    traversals: list[list[str]] = []
    bound: set[str] = set()
    previous = ""
    index = 0
    text = expression
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char == '"':
            end = _skip_string(text, index)
            for inner in template_expressions(text[index:end]):
                traversals.extend(expression_references(inner))
            index = end
            previous = '"'
            continue
        if char in _IDENT_START and previous != ".":
            parts, index = _read_traversal(text, index)
            rest = text[index:].lstrip()
            if rest.startswith(("(", "::")):
                previous = "("
                continue
            if parts[0] == "for":
                bound.update(_for_bindings(text[index:]))
            if len(parts) > 1 and parts[0] not in KEYWORDS:
                traversals.append(parts)
            previous = "x"
            continue
        previous = char
        index += 1
    return [t for t in traversals if t[0] not in bound]


def _read_traversal(text: str, index: int) -> tuple[list[str], int]:
    parts: list[str] = []
    while True:
        start = index
        while index < len(text) and text[index] in _IDENT_CHARS:
            index += 1
        parts.append(text[start:index])
        if (
            index + 1 < len(text)
            and text[index] == "."
            and (text[index + 1] in _IDENT_START or text[index + 1] == "*")
        ):
            index += 1
            if text[index] == "*":
                index += 1
                break
            continue
        return parts, index
    return parts, index


def _for_bindings(rest: str) -> list[str]:
    head = rest.split(" in ", 1)[0]
    return [name.strip() for name in head.split(",") if name.strip()]


# --- walking a module ------------------------------------------------------------------------


def _strings(
    value: Any, bound: frozenset[str], skip_keys: frozenset[str] = frozenset()
) -> Iterator[tuple[str, frozenset[str]]]:
    """Every string in a block body, with the names bound there (dynamic block iterators)."""
    if isinstance(value, str):
        yield value, bound
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key in _MARKERS or key in skip_keys:
                continue
            if key == "provider" and isinstance(item, str):
                continue  # a provider alias, checked by check_module, not an expression
            if key == "dynamic":
                for block in item or []:
                    for label, body in (block or {}).items():
                        if label in _MARKERS or not isinstance(body, Mapping):
                            continue
                        iterator = _label(label)
                        if "iterator" in body:
                            iterator = str(body["iterator"]).strip('${}"')
                        yield from _strings(body, bound | {iterator})
                continue
            if key == "lifecycle":
                # ignore_changes lists attribute paths of the resource itself, not references.
                yield from _strings(item, bound, frozenset({"ignore_changes"}))
                continue
            yield from _strings(item, bound)
    elif isinstance(value, Sequence):
        for item in value:
            yield from _strings(item, bound, skip_keys)


def _check_traversal(parts: list[str], defined: Definitions) -> str | None:
    root = parts[0]
    if root in BUILTIN_ROOTS:
        return None
    if root == "var":
        return None if parts[1] in defined.variables else "undeclared variable"
    if root == "local":
        return None if parts[1] in defined.locals else "undefined local value"
    if root == "module":
        return None if parts[1] in defined.modules else "undefined module"
    if root == "data":
        if len(parts) < 3:
            return "incomplete data source reference"
        return None if (parts[1], parts[2]) in defined.data else "undefined data source"
    if "_" not in root:
        return "unknown reference root"
    return None if (root, parts[1]) in defined.resources else "undefined resource"


def _body_problems(
    file: str, body: Any, defined: Definitions, bound: frozenset[str] = frozenset()
) -> Iterator[Problem]:
    for text, names in _strings(body, bound):
        for expression in template_expressions(text):
            for parts in expression_references(expression):
                if parts[0] in names:
                    continue
                message = _check_traversal(parts, defined)
                if message:
                    yield Problem(file, ".".join(parts), message)


def check_module(documents: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """Problems in one module: a list of parsed files, each with its `__file__` name."""
    defined = collect_definitions(documents)
    problems: list[Problem] = []
    for document in documents:
        file = str(document.get("__file__", "?"))
        for kind, body in document.items():
            if kind in _MARKERS:
                continue
            problems.extend(_body_problems(file, body, defined))
        for _type, named in [*_labelled(document, "resource"), *_labelled(document, "data")]:
            for name, body in named.items():
                if name in _MARKERS or not isinstance(body, Mapping):
                    continue
                provider = body.get("provider")
                if isinstance(provider, str):
                    reference = _label(provider.strip("${}"))
                    if reference not in defined.providers:
                        problems.append(Problem(file, reference, "undefined provider alias"))
    return problems


def check_var_file(
    name: str,
    values: Mapping[str, Any],
    documents: Sequence[Mapping[str, Any]],
    supplied_elsewhere: Iterable[str] = (),
) -> list[Problem]:
    """A .tfvars file sets only declared variables and every variable without a default."""
    defined = collect_definitions(documents)
    problems = [
        Problem(name, key, "sets an undeclared variable")
        for key in values
        if key not in _MARKERS and key not in defined.variables
    ]
    given = set(values) | set(supplied_elsewhere)
    problems += [
        Problem(name, variable, "has no default and is not set")
        for variable, has_default in defined.variables.items()
        if not has_default and variable not in given
    ]
    return problems


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m cloudmcp.deploy.terraform.references")
    parser.add_argument("module", type=Path, help="`hcl2tojson --ndjson DIR` output")
    parser.add_argument("var_files", type=Path, nargs="*", help="`hcl2tojson X.tfvars` output")
    parser.add_argument(
        "--supplied",
        action="append",
        default=[],
        help="a variable given on the command line (-var), not in var files",
    )
    args = parser.parse_args(argv)
    documents = read_ndjson(args.module)
    problems = check_module(documents)
    for var_file in args.var_files:
        values = json.loads(var_file.read_text())
        problems += check_var_file(str(var_file), values, documents, args.supplied)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
