"""Reference reasoners the tests check CoproKG's own reasoning against: owlrl's closure, HermiT's and Pellet's modes.

They are oracles, slow and complete, so they live with the tests rather than in the library.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import owlrl
from rdflib import Graph, Literal

from kg.namespaces import COP
from kg.ontology import run_hermit, run_pellet
from kg.reasoning import MODE_CLASSES, TYPE, Triple, _to_rdflib, is_trivial, nt


def owlrl_entailments(triples: Iterable[Triple]) -> set[Triple]:
    """Return owlrl's non-trivial entailments of `triples`: the reference our closure is checked against.

    owlrl re-spells some literals in canonical form ("...T00:00:00Z" becomes "...T00:00:00+00:00");
    such a copy of an asserted literal is mapped back to the asserted spelling, so it is no entailment.
    """
    asserted = set(triples)
    graph = Graph()
    spelling = {}
    for triple in asserted:
        terms = tuple(map(_to_rdflib, triple))
        graph.add(terms)
        if isinstance(terms[2], Literal):
            spelling[_literal_value(terms[2])] = triple[2]
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    closure = set()
    for s, p, o in graph:
        text = spelling.get(_literal_value(o), nt(o)) if isinstance(o, Literal) else nt(o)
        closure.add((nt(s), nt(p), text))
    return {t for t in closure - asserted if not is_trivial(t)}


def _literal_value(literal: Literal) -> tuple:
    value = literal.value if literal.value is not None else str(literal)
    return (literal.datatype, literal.language, type(value).__name__, value)


def rdflib_triples(graph) -> set[Triple]:
    """Return the triples of an rdflib Graph as N-Triples text."""
    return {(nt(s), nt(p), nt(o)) for s, p, o in graph}


def rl_modes(store) -> dict[str, set[str]]:
    """Read each case's mode classes from the store (asserted + inferred), as {case IRI: {class IRI}}."""
    values = " ".join(f"<{c}>" for c in MODE_CLASSES)
    result = store.query(
        f"SELECT ?case ?mode WHERE {{ ?case a <{COP.CoproductionCase}> "
        f"OPTIONAL {{ ?case a ?mode VALUES ?mode {{ {values} }} }} }}"
    )
    modes: dict[str, set[str]] = defaultdict(set)
    for row in result:
        modes[row["case"].value]  # a case in no mode still gets its (empty) entry
        if row["mode"] is not None:
            modes[row["case"].value].add(row["mode"].value)
    return dict(modes)


def hermit_modes(triples: Iterable[Triple], classes: Iterable[str] = MODE_CLASSES) -> dict[str, set[str]]:
    """Classify every cop:CoproductionCase in ontology + case triples with HermiT: {case IRI: {class IRI}}.

    Only `classes` (by default the four mode classes) are reported. Runs kg.ontology.run_hermit, which
    uses a fresh owlready2 World each time (HermiT needs Java).

    Raises:
        InconsistentOntology: the ontology and cases are inconsistent.
        ReasoningError: Java or HermiT failed.
    """
    # Modes depend on object properties only; unsupported datatypes (xsd:date) must not stop HermiT.
    return _case_classes(triples, classes, lambda source: run_hermit([source], infer_property_values=False,
                                                                     ignore_unsupported_datatypes=True))


def pellet_modes(triples: Iterable[Triple], classes: Iterable[str] = MODE_CLASSES) -> dict[str, set[str]]:
    """Classify every cop:CoproductionCase in ontology + case triples with Pellet, as hermit_modes does with HermiT.

    Raises:
        InconsistentOntology: the ontology and cases are inconsistent.
        ReasoningError: no Java able to run Pellet, or Pellet failed.
    """
    return _case_classes(triples, classes, lambda source: run_pellet([source], infer_property_values=False))


def _case_classes(triples: Iterable[Triple], classes: Iterable[str], run) -> dict[str, set[str]]:
    triples = list(triples)
    case_type = (TYPE, nt(COP.CoproductionCase))
    cases = sorted({s[1:-1] for s, p, o in triples if (p, o) == case_type and s[0] == "<"})
    wanted = {str(c) for c in classes}
    with tempfile.TemporaryDirectory(prefix="coprokg-reasoner-input-") as tmp:
        # owlready2 reads N-Triples as well as RDF/XML, and our triples are N-Triples already.
        source = Path(tmp) / "ontology-and-cases.nt"
        source.write_text("".join(f"{s} {p} {o} .\n" for s, p, o in triples), encoding="utf-8")
        result = run(source)
    try:
        return {case: result.types_of(case) & wanted for case in cases}
    finally:
        result.world.close()
