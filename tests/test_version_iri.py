"""The ontology's version IRI (owl:versionIRI) dereferences to the ontology it names, like /ontology."""

from __future__ import annotations

import owlready2
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from kg.config import Settings
from kg.namespaces import COP, ONTOLOGY_IRI
from kg.ontology import load_ontology_graph
from live_server import serve
from server import create_app

# The local URL scheme of README "Resource IRIs dereference": https://w3id.org/coprokg/X is served at /X.
W3ID = "https://w3id.org/coprokg"
# (Accept header or None for none sent, media type served, rdflib format)
ACCEPT_TO_EXPECTED = [
    (None, "application/rdf+xml", "xml"),  # owlready2 and urllib send none
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("application/xml", "application/rdf+xml", "xml"),
    ("text/turtle", "text/turtle", "turtle"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/n-triples", "application/n-triples", "nt"),
]


@pytest.fixture(scope="module")
def source() -> Graph:
    return load_ontology_graph(Settings().ontology)


@pytest.fixture(scope="module")
def version_path(source) -> str:
    version_iri = str(source.value(ONTOLOGY_IRI, OWL.versionIRI))
    assert version_iri.startswith(W3ID + "/ontology/")
    return version_iri[len(W3ID):]


@pytest.fixture(scope="module")
def client(shipped_store):
    return create_app(Settings(), store=shipped_store).test_client()


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("accept,media_type,rdflib_format", ACCEPT_TO_EXPECTED, ids=lambda v: str(v))
def test_version_iri_is_the_ontology_it_names(client, source, version_path, accept, media_type, rdflib_format):
    response = client.get(version_path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == media_type and "Accept" in response.headers["Vary"]
    graph = Graph().parse(data=response.get_data(as_text=True), format=rdflib_format)
    assert graph.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef(W3ID + version_path)
    assert (COP.EmergenceMechanism, COP.employsStrategy, COP.Aggregation) in graph
    assert len(graph) == len(source)  # the whole ontology, and nothing of the case data


def test_version_iri_shows_the_ontology_browser_to_a_browser(client, version_path):
    response = client.get(version_path, headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert 'href="/ontology/CoproductionCase"' in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/ontology/0.0.1", "/ontology/99.0.0"])
def test_a_version_the_store_does_not_hold_is_404_naming_both(client, source, path):
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    detail = response.json["detail"]
    assert W3ID + path in detail and str(source.value(ONTOLOGY_IRI, OWL.versionIRI)) in detail


def test_the_version_as_written_in_the_iri_only(client, version_path):
    # 00.1.0 is another IRI than 0.1.0, though both read as the same numbers.
    padded = version_path.replace("/ontology/", "/ontology/0")
    assert client.get(padded, headers={"Accept": "text/turtle"}).status_code == 404


def test_terms_still_dereference_beside_the_version(client):
    response = client.get("/ontology/CoproductionCase", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    assert (COP.CoproductionCase, RDF.type, OWL.Class) in graph
    # Only the ontology document answers a missing Accept with RDF/XML; a term's page stays HTML.
    assert client.get("/ontology/CoproductionCase").mimetype == "text/html"


def test_owlready2_loads_the_ontology_from_its_version_iri(shipped_store, version_path):
    with serve(shipped_store) as url:
        world = owlready2.World()
        loaded = world.get_ontology(url + version_path).load()
    assert loaded.base_iri == str(COP)
    assert loaded.metadata.versionInfo == [version_path.rsplit("/", 1)[-1]]
    assert world.search_one(iri=str(COP.SharingAssistedCase)) is not None
