"""Turtle for people: one resource's description with its own triples first, blank nodes nested, known prefixes.

pyoxigraph writes Turtle as a stream, one subject after another in the order they come, so a description
with an OWL restriction or a list reads as the term's triples after a run of `[] rdf:first …` cells.
rdflib's Turtle serializer holds the whole graph and nests every blank node used once (lists as `( … )`),
which is what a reader wants for a description; it is only ever asked for small graphs.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.plugins.serializers.turtle import TurtleSerializer

from kg.namespaces import PREFIXES


class _SubjectFirstTurtle(TurtleSerializer):
    """rdflib's Turtle serializer with one subject written before all others (rdflib orders by reference count)."""

    def __init__(self, graph: Graph, first: URIRef | None) -> None:
        super().__init__(graph)
        self.first = first

    def getQName(self, uri, gen_prefix=True):  # noqa: N802 (rdflib's name)
        # Only the known prefixes: rdflib would otherwise invent ns1:, ns2: for other namespaces.
        return super().getQName(uri, gen_prefix=False)

    def orderSubjects(self):  # noqa: N802 (rdflib's name)
        ordered = super().orderSubjects()
        if self.first is None or self.first not in ordered:
            return ordered
        return [self.first, *(s for s in ordered if s != self.first)]


def readable_turtle(triples: Iterable[ox.Triple], subject: ox.NamedNode | None = None) -> bytes:
    """Write `triples` as Turtle with CoproKG's prefixes and nested blank nodes, `subject`'s triples first."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    # N-Triples is the lossless hand-over between the two libraries' terms.
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8"), format="nt")
    out = io.BytesIO()
    _SubjectFirstTurtle(graph, URIRef(subject.value) if subject is not None else None).serialize(out, encoding="utf-8")
    return out.getvalue()
