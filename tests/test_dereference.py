"""Content negotiation on CoproKG IRIs, over real HTTP to a live server (what curl or a linked-data client sees)."""

from __future__ import annotations

import re

import pytest
import requests
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS

from kg.namespaces import COP, ID, ONTOLOGY_IRI, PREFIXES
from live_server import serve

# rdflib's own JSON-LD parser still builds a ConjunctiveGraph internally.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")

CASE = "hangzhou-community-meal-centre"
CASE_IRI = URIRef(str(ID[f"case/{CASE}"]))
ACTOR_IRI = URIRef(str(ID[f"case/{CASE}/actor/street-office"]))
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
# (Accept header, media type served, rdflib format to parse the body with, or None for HTML)
ACCEPT_TO_EXPECTED = [
    (BROWSER_ACCEPT, "text/html", None),
    ("*/*", "text/html", None),
    ("text/turtle", "text/turtle", "turtle"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/rdf+xml;q=0.5, text/turtle", "text/turtle", "turtle"),
]


@pytest.fixture(scope="module")
def base_url(shipped_store):
    with serve(shipped_store) as url:
        yield url


def get(url: str, accept: str | None = None, **headers) -> requests.Response:
    if accept is not None:
        headers["Accept"] = accept
    return requests.get(url, headers=headers, timeout=10, allow_redirects=False)


def parse(response: requests.Response, rdflib_format: str) -> Graph:
    return Graph().parse(data=response.text, format=rdflib_format)


@pytest.mark.parametrize("accept,media_type,rdflib_format", ACCEPT_TO_EXPECTED, ids=lambda v: str(v)[:24])
def test_class_iri_is_served_in_the_negotiated_format(base_url, accept, media_type, rdflib_format):
    response = get(f"{base_url}/ontology/CoproductionCase", accept)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert "Accept" in response.headers["Vary"]
    if rdflib_format is None:
        assert "<html" in response.text and "https://w3id.org/coprokg/ontology#CoproductionCase" in response.text
    else:
        graph = parse(response, rdflib_format)
        assert (COP.CoproductionCase, RDF.type, OWL.Class) in graph
        assert (CASE_IRI, RDF.type, COP.CoproductionCase) in graph  # an inverse link: its instances


def test_case_data_iri_carries_inverse_links_and_neighbour_labels_in_the_chosen_language(base_url):
    response = get(f"{base_url}/id/case/{CASE}/actor/street-office", "text/turtle", **{"Accept-Language": "zh"})
    graph = parse(response, "turtle")
    assert (CASE_IRI, COP.involvesActor, ACTOR_IRI) in graph  # the case points at the actor
    assert (ACTOR_IRI, COP.inSector, COP.StateSector) in graph
    sector_labels = set(graph.objects(COP.StateSector, RDFS.label))
    assert sector_labels and all(label.language.startswith("zh") for label in sector_labels)
    english = parse(get(f"{base_url}/id/case/{CASE}/actor/street-office?lang=en", "text/turtle"), "turtle")
    assert all(label.language == "en" for label in english.objects(COP.StateSector, RDFS.label))
    # The resource's own labels come in every language.
    assert {label.language for label in graph.objects(ACTOR_IRI, RDFS.label)} >= {"en", "zh"}


def test_formats_agree_and_blank_nodes_are_closed(base_url):
    graphs = [parse(get(f"{base_url}/ontology/AdministrativeAbsorptionCase", media), fmt)
              for media, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                                 ("application/rdf+xml", "xml"))]
    assert len({len(g) for g in graphs}) == 1
    # The equivalent-class expression arrives whole: intersection list and hasValue restrictions.
    restriction_values = set(graphs[0].objects(None, OWL.hasValue))
    assert {COP.HighAuthority, COP.HighConcentration} <= restriction_values


def test_turtle_description_reads_from_the_term_down(base_url):
    """The term's own triples come first, its class expression nested in place, with the known prefixes."""
    response = get(f"{base_url}/ontology/AdministrativeAbsorptionCase", "text/turtle")
    text = response.text
    statements = [block for block in text.split("\n\n") if block.strip() and not block.startswith("@prefix")]
    assert statements[0].startswith("cop:AdministrativeAbsorptionCase a owl:Class ;")
    assert "owl:intersectionOf ( cop:CoproductionCase [" in statements[0]  # the list and restrictions nested
    assert not any(block.lstrip().startswith(("[", "_:")) for block in statements)  # no dangling blank nodes
    declared = dict(re.findall(r"@prefix (\w*): <([^>]+)> \.", text))
    assert declared and all(PREFIXES.get(name) == iri for name, iri in declared.items())
    # The same graph as the N-Triples answer, blank nodes up to renaming.
    assert isomorphic(parse(response, "turtle"), parse(get(response.url, "application/n-triples"), "nt"))


def test_format_parameter_overrides_accept_and_links_alternates(base_url):
    response = get(f"{base_url}/id/case/{CASE}?format=jsonld", "text/html")
    assert response.headers["Content-Type"].startswith("application/ld+json")
    assert (CASE_IRI, COP.hasMode, COP.ComplementaryAdvantage) in parse(response, "json-ld")
    html = get(f"{base_url}/id/case/{CASE}", BROWSER_ACCEPT)
    assert 'rel="alternate"; type="text/turtle"' in html.headers["Link"]
    assert get(f"{base_url}/id/case/{CASE}?format=pdf").status_code == 400


def test_whole_ontology_is_the_description_of_the_ontology_iri(base_url):
    graph = parse(get(f"{base_url}/ontology", "text/turtle"), "turtle")
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in graph
    assert (COP.EmergenceMechanism, COP.employsStrategy, COP.Aggregation) in graph
    assert not any(s == CASE_IRI for s in graph.subjects())  # case data lives elsewhere
    assert get(f"{base_url}/ontology", BROWSER_ACCEPT).headers["Content-Type"].startswith("text/html")


def test_unacceptable_media_type_is_406(base_url):
    response = get(f"{base_url}/ontology/CoproductionCase", "image/png")
    assert response.status_code == 406
    assert response.json()["error"] == "Cannot serve the requested media type"


def test_unknown_iri_is_404_in_every_format(base_url):
    assert get(f"{base_url}/ontology/NoSuchTerm", BROWSER_ACCEPT).status_code == 404
    response = get(f"{base_url}/id/case/no-such-case", "text/turtle")
    assert response.status_code == 404 and "no-such-case" in response.json()["detail"]


def test_any_iri_through_the_resource_route(base_url):
    response = requests.get(f"{base_url}/resource", params={"iri": str(COP.Actor)},
                            headers={"Accept": "text/turtle"}, timeout=10)
    assert (COP.Actor, RDFS.subClassOf, URIRef("http://www.w3.org/ns/prov#Agent")) in parse(response, "turtle")
    bad = requests.get(f"{base_url}/resource", params={"iri": "not an iri"}, timeout=10)
    assert bad.status_code == 400


def test_literal_language_of_the_html_page_follows_the_switch(base_url):
    chinese = get(f"{base_url}/id/case/{CASE}?lang=zh", BROWSER_ACCEPT)
    assert "亏损运营的社区老年食堂" in chinese.text and "lang=zh" in chinese.headers["Set-Cookie"]
    english = get(f"{base_url}/id/case/{CASE}", BROWSER_ACCEPT, Cookie="lang=en")
    assert "Community meal centre running at a loss" in english.text
