"""The queries timed: generic SPARQL shapes over the synthetic cases, and every named query of queries/."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kg.namespaces import PREFIXES, case_iri
from kg.queries import NamedQuery, load_library
from bench.synthetic import cases_for_triples

WHERE_OPENING = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)
PROLOGUE = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())

# Shape name -> SPARQL; {case} is filled with a case IRI from the middle of the dataset.
SHAPE_TO_QUERY = {
    "point lookup": "SELECT ?p ?o WHERE { <{case}> ?p ?o }",
    "join + FILTER": """SELECT ?case ?actor ?label WHERE {
  ?case a cop:CoproductionCase ; cop:city "Hangzhou"@en ; cop:involvesActor ?actor .
  ?actor cop:inSector cop:MarketSector ; rdfs:label ?label .
  ?participation cop:participant ?actor ; cop:hasRole cop:ServiceOperator .
  FILTER(lang(?label) = "en")
}""",
    "GROUP BY aggregate": """SELECT ?province (COUNT(DISTINCT ?case) AS ?cases) (AVG(?value) AS ?mean) WHERE {
  ?case cop:province ?province .
  ?fact cop:performanceOf ?case ; cop:value ?value .
} GROUP BY ?province ORDER BY DESC(?cases)""",
    "OPTIONAL + ORDER BY + LIMIT": """SELECT ?case ?label ?value WHERE {
  ?case a cop:CoproductionCase ; rdfs:label ?label .
  FILTER(lang(?label) = "en")
  OPTIONAL { ?fact cop:performanceOf ?case ; cop:indicator cop:OperatingAtLoss ; cop:value ?value }
} ORDER BY DESC(?value) ?case LIMIT 20""",
    "property path": """SELECT ?case ?sector WHERE {
  ?case cop:city "Wuhan"@en ; ^cop:observationIn/cop:involvesActor/cop:inSector ?sector .
}""",
    "text filter on labels": """SELECT ?s ?label WHERE {
  ?s rdfs:label ?label .
  FILTER(CONTAINS(LCASE(STR(?label)), "lakeview social work"))
}""",
}


@dataclass(frozen=True)
class Workload:
    """One query as each system receives it: SPARQL text, in-process substitutions, CoproKG's own path."""

    name: str
    kind: str  # "shape" or "named"
    sparql: str  # what oxigraph serve receives
    coprokg_path: str  # what CoproKG's server receives (its SPARQL endpoint or its named-query API)
    # In-process, a named query keeps its variables and pyoxigraph binds them (as CoproKG does).
    inprocess_sparql: str = ""
    substitutions: dict = field(default_factory=dict)
    # False when oxigraph serve could only get the values as a trailing VALUES (evaluated after the
    # whole pattern): its time is then not like for like, and the row gets no verdict.
    like_for_like: bool = True


def shape_workloads(n_triples: int, coprokg_query_path: str = "/sparql") -> list[Workload]:
    """Build the generic shapes for a dataset of about `n_triples` synthetic triples."""
    middle = case_iri(f"synthetic-{cases_for_triples(n_triples) // 2:07d}")
    out = []
    for name, body in SHAPE_TO_QUERY.items():
        sparql = PROLOGUE + body.replace("{case}", str(middle))
        path = f"{coprokg_query_path}?{urllib.parse.urlencode({'query': sparql})}"
        out.append(Workload(name, "shape", sparql, path, sparql))
    return out


def named_workloads(queries_dir: Path, api_path: str = "/api/queries") -> tuple[list[Workload], list[str]]:
    """Build one workload per named query, with its example (or default) values; list those left out."""
    library = load_library(queries_dir)
    out, skipped = [], [f"{p}" for p in library.problems]
    for query in library.queries.values():
        values = {p.name: p.example if p.example is not None else p.default
                  for p in query.parameters if p.example is not None or (p.required and p.default is not None)}
        missing = [p.name for p in query.parameters if p.required and values.get(p.name) is None]
        if missing:
            skipped.append(f"{query.name}: required parameter(s) {', '.join(missing)} have no example")
            continue
        bindings = query.bind(values)
        text, like_for_like = bind_in_text(query, bindings)
        out.append(Workload(f"named: {query.name}", "named", text,
                            f"{api_path}/{query.name}?{urllib.parse.urlencode(values)}", query.text, bindings,
                            like_for_like=like_for_like))
    return out, skipped


def bound_text(query: NamedQuery, bindings: dict[ox.Variable, object]) -> str:
    """Give a query text with its parameters bound, for a server without substitutions."""
    return bind_in_text(query, bindings)[0]


def bind_in_text(query: NamedQuery, bindings: dict[ox.Variable, object]) -> tuple[str, bool]:
    """Bind parameters in the text; say whether the result costs what a substitution costs.

    A VALUES block opens the WHERE group, as CoproKG does for remote stores: then FILTERs in the
    group see the values, as they do with substitutions. Where that does not parse (a parameter that
    is also a BIND target), a trailing VALUES is the fallback: same rows, but joined after the whole
    pattern is evaluated, so not like for like.
    """
    if not bindings:
        return query.text, True
    names = " ".join(f"?{v.value}" for v in bindings)
    terms = " ".join(str(t) for t in bindings.values())
    trailing = f"{query.text.rstrip()}\nVALUES ({names}) {{ ({terms}) }}\n"
    where = WHERE_OPENING.search(_without_comments(query.text))
    if where is None:
        return trailing, False
    opening = query.text[:where.end()] + f" VALUES ({names}) {{ ({terms}) }}\n" + query.text[where.end():]
    try:
        ox.Store().query(opening)  # parses it; an empty store answers at once
    except SyntaxError:
        return trailing, False
    return opening, True


def _without_comments(text: str) -> str:
    """Blank out # comments (keeping offsets), so a WHERE in a comment is not taken for the query's."""
    return re.sub(r"(?m)^\s*#.*$", lambda m: " " * len(m.group(0)), text)
