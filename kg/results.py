"""Render SPARQL results for the shell: an aligned table, CSV, SPARQL JSON or Turtle."""

from __future__ import annotations

import pyoxigraph as ox

from kg.errors import BadRequest
from kg.namespaces import PREFIXES

SHELL_FORMATS = ("table", "csv", "json", "turtle")
SHELL_FORMAT_TO_RESULTS_FORMAT = {"csv": ox.QueryResultsFormat.CSV, "json": ox.QueryResultsFormat.JSON}
SHELL_FORMAT_TO_RDF_FORMAT = {"turtle": ox.RdfFormat.TURTLE, "json": ox.RdfFormat.JSON_LD}


def render(result, format: str) -> str:
    """Turn a pyoxigraph query result into text in the chosen shell format.

    Raises:
        BadRequest: the format does not suit the query form (e.g. Turtle for SELECT).
    """
    if isinstance(result, ox.QueryTriples):
        triples = list(result)
        if format == "table":
            return _table(["subject", "predicate", "object"], [[t.subject, t.predicate, t.object] for t in triples])
        if format not in SHELL_FORMAT_TO_RDF_FORMAT:
            raise BadRequest(f"--format {format} cannot hold triples; use table, json (JSON-LD) or turtle")
        return ox.serialize(triples, format=SHELL_FORMAT_TO_RDF_FORMAT[format], prefixes=PREFIXES).decode()
    if format == "turtle":
        raise BadRequest("--format turtle needs a CONSTRUCT or DESCRIBE query; use table, csv or json")
    if isinstance(result, ox.QueryBoolean):
        if format == "table":
            return "true\n" if bool(result) else "false\n"
        return result.serialize(format=SHELL_FORMAT_TO_RESULTS_FORMAT[format]).decode()
    if format == "table":
        variables = [v.value for v in result.variables]
        return _table(variables, [[solution[v] for v in variables] for solution in result])
    return result.serialize(format=SHELL_FORMAT_TO_RESULTS_FORMAT[format]).decode()


def short(term) -> str:
    """Write a term compactly: prefixed names for known namespaces, literals with their tag."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        for prefix, namespace in PREFIXES.items():
            if term.value.startswith(namespace):
                return f"{prefix}:{term.value[len(namespace):]}"
        return f"<{term.value}>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"{term.value}@{term.language}"
        return term.value
    return str(term)


def _table(header: list[str], rows: list[list]) -> str:
    cells = [[short(term) for term in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines) + "\n"
