"""Who is calling: the `Principal` authentication establishes for each request.

The engine reads two things from it: `scopes` (what the caller may list and call) and
`id` (the owner of a legacy session). Tools see it as `ctx.principal`. It never holds
the credential it was made from, so nothing downstream can leak a token or key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["api_key", "oauth"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    #: Stable identity: the token's `sub`, or the principal an API key maps to.
    id: str
    #: Scopes granted, with what broader scopes imply already added.
    scopes: frozenset[str] = frozenset()
    #: How the caller proved who it is.
    kind: Kind = "api_key"
    #: The validated claims of an OAuth token (or introspection answer); empty for API keys.
    claims: Mapping[str, Any] = field(default_factory=dict)

    def has(self, *scopes: str) -> bool:
        return set(scopes) <= self.scopes

    def missing(self, scopes: Iterable[str]) -> tuple[str, ...]:
        return tuple(s for s in dict.fromkeys(scopes) if s not in self.scopes)


def parse_scopes(value: Any) -> frozenset[str]:
    """Scopes as OAuth carries them: a space-delimited string (`scope`, RFC 9068) or a list
    (`scp`, as some providers send)."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple):
        return frozenset(s for s in value if isinstance(s, str) and s and " " not in s)
    return frozenset()


class ScopeHierarchy:
    """Broader scopes that imply narrower ones.

    The MCP authorization spec makes servers account for scope hierarchies when they
    decide whether a token suffices. Each rule reads `broad=narrow1 narrow2`; rules
    chain (`admin=files:write`, `files:write=files:read`).
    """

    def __init__(self, rules: Iterable[str] = ()) -> None:
        self.implies: dict[str, frozenset[str]] = {}
        for rule in rules:
            broad, sep, narrow = rule.partition("=")
            if not sep or not broad.strip() or not narrow.split():
                raise ValueError(f"SCOPE_IMPLIES entry {rule!r} must read 'broad=narrow ...'")
            implied = self.implies.get(broad.strip(), frozenset())
            self.implies[broad.strip()] = implied | frozenset(narrow.split())

    def expand(self, granted: frozenset[str]) -> frozenset[str]:
        if not self.implies:
            return granted
        scopes = set(granted)
        pending = list(granted)
        while pending:
            for narrow in self.implies.get(pending.pop(), ()):
                if narrow not in scopes:
                    scopes.add(narrow)
                    pending.append(narrow)
        return frozenset(scopes)
