"""How the pages read the store: the UI's SPARQL files (queries/*.rq beside this module), run by name."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from flask import current_app

from kg.namespaces import PREFIXES

QUERIES = Path(__file__).parent / "queries"
# Every UI query may use the prefixes /sparql declares for users, so its file need not repeat them.
PROLOGUE = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())


def store():
    return current_app.extensions["coprokg.store"]


@lru_cache(maxsize=None)
def query_text(name: str) -> str:
    """The UI query `name` (queries/NAME.rq), with CoproKG's prefixes declared."""
    return PROLOGUE + (QUERIES / f"{name}.rq").read_text(encoding="utf-8")


def _as_term(value) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(value, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        return value
    return ox.NamedNode(str(value))


def select(name: str, **bindings) -> list[dict[str, object]]:
    """Run the UI's SELECT `name` with variables bound by substitution; unbound columns are left out of a row."""
    substitutions = {ox.Variable(variable): _as_term(value) for variable, value in bindings.items()}
    solutions = store().query(query_text(name), substitutions=substitutions or None)
    names = [variable.value for variable in solutions.variables]
    return [{column: solution[column] for column in names if solution[column] is not None} for solution in solutions]


def construct(name: str) -> list[ox.Triple]:
    """Run the UI's CONSTRUCT `name` and give its triples."""
    return list(store().query(query_text(name)))


def iri_of(term) -> str | None:
    return term.value if isinstance(term, ox.NamedNode) else None


def is_true(term) -> bool:
    return isinstance(term, ox.Literal) and term.value in ("true", "1")


def same_term(a, b) -> bool:
    return type(a) is type(b) and a.value == b.value


def collect(rows: Iterable[dict], key: str, fields: tuple[str, ...]) -> list[dict]:
    """Fold rows into one record per `key`, each field a list of distinct values."""
    records: dict[str, dict] = {}
    for row in rows:
        if key not in row:
            continue
        record = records.setdefault(row[key].value, {key: row[key], **{f: [] for f in fields}})
        for f in fields:
            if f in row and not any(same_term(row[f], seen) for seen in record[f]):
                record[f].append(row[f])
    return list(records.values())


def statements_about(subject) -> list[dict]:
    return select("statements_about", s=subject)


def statements_pointing_at(obj) -> list[dict]:
    return select("statements_pointing_at", o=obj)
