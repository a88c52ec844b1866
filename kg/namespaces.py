"""Namespaces and the fixed IRIs of CoproKG's named graphs; no IRI strings elsewhere."""

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
