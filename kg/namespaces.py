"""Namespaces and the fixed IRIs of CoproKG's named graphs; no IRI strings elsewhere."""

import re

import pyoxigraph as ox
from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

COP = Namespace("https://w3id.org/coprokg/ontology#")
ID = Namespace("https://w3id.org/coprokg/id/")
GRAPH = Namespace("https://w3id.org/coprokg/graph/")
ORG = Namespace("http://www.w3.org/ns/org#")
SH = Namespace("http://www.w3.org/ns/shacl#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VANN = Namespace("http://purl.org/vocab/vann/")
DC = Namespace("http://purl.org/dc/elements/1.1/")

ONTOLOGY_IRI = URIRef("https://w3id.org/coprokg/ontology")
ONTOLOGY_GRAPH = GRAPH["ontology"]
INFERRED_GRAPH = GRAPH["inferred"]


def case_graph(case_id: str) -> URIRef:
    """Name the graph that holds one case's asserted triples."""
    return GRAPH[f"case/{case_id}"]


def case_iri(case_id: str) -> URIRef:
    """Name a case resource."""
    return ID[f"case/{case_id}"]


def coder_iri(coder: str) -> URIRef:
    """Name a coder, a prov:Agent shared by every case and assessment they coded."""
    return ID[f"coder/{coder}"]


# Prefixes declared for users: in query editors, serialisations and the query library.
PREFIXES = {
    "cop": str(COP),
    "id": str(ID),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "prov": str(PROV),
    "org": str(ORG),
    "foaf": str(FOAF),
}

PREFIXED_NAME = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):([A-Za-z0-9_][A-Za-z0-9_./-]*)")
IRI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def expand_iri(text: str) -> str | None:
    """Expand `cop:X`, `<http://…>` or `http://…` to a full IRI; None if it is not a valid IRI."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    match = PREFIXED_NAME.fullmatch(text)
    if match and match.group(1) in PREFIXES:
        text = PREFIXES[match.group(1)] + match.group(2)
    if not IRI_SCHEME.match(text):
        return None
    try:
        return ox.NamedNode(text).value
    except ValueError:
        return None


def compact_iri(iri: str, *, unknown: str = "{}") -> str:
    """Write `iri` with the longest matching prefix of PREFIXES; one no prefix fits is written as `unknown`
    formats it (the IRI itself, or "<{}>" where the text must read as SPARQL or Turtle)."""
    best = max((p for p in PREFIXES.items() if iri.startswith(p[1])), key=lambda p: len(p[1]), default=None)
    if best and PREFIXED_NAME.fullmatch(f"{best[0]}:{iri[len(best[1]):]}"):
        return f"{best[0]}:{iri[len(best[1]):]}"
    return unknown.format(iri)
