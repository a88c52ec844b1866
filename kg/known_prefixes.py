"""Declare the CoproKG prefixes a query uses but does not declare, as Virtuoso and GraphDB do for theirs.

A query that says `cop:city` without `PREFIX cop: <…>` would otherwise fail with "Prefix not found";
the prefixes in kg.namespaces.PREFIXES mean one thing only here, so declaring them changes no answer a
query with its own declarations gets. A prefix the query declares itself is never redeclared.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.namespaces import PREFIXES
from kg.sparql_scan import tokenize


@dataclass(frozen=True)
class Declared:
    """A query with the missing known prefixes declared in front of it, on its first line."""

    text: str
    prefixes: tuple[str, ...]  # the prefixes added, in order of first use

    @property
    def shift(self) -> int:
        """How many characters the declarations moved line 1 of the user's query to the right."""
        return len(self.text) - len(self.original) if self.prefixes else 0

    @property
    def original(self) -> str:
        return self.text[len(header(self.prefixes)):]


def header(prefixes: tuple[str, ...]) -> str:
    # One line, no newline: the user's line numbers stay as they are and only line 1's columns move.
    return "".join(f"PREFIX {prefix}: <{PREFIXES[prefix]}> " for prefix in prefixes)


def declare_known_prefixes(query: str) -> Declared:
    """Add a PREFIX declaration for each known prefix `query` uses without declaring it."""
    tokens = tokenize(query)
    declared: set[str] = set()
    used: list[str] = []
    for i, token in enumerate(tokens):
        if token.kind != "pname":
            continue
        prefix = token.text.split(":", 1)[0]
        previous = tokens[i - 1] if i else None
        if previous is not None and previous.kind == "word" and previous.text.upper() == "PREFIX":
            declared.add(prefix)
        elif prefix in PREFIXES and prefix not in used:
            used.append(prefix)
    missing = tuple(p for p in used if p not in declared)
    return Declared(header(missing) + query, missing)
