"""Real SPARQL clients (SPARQLWrapper, rdflib's SPARQLStore) against CoproKG served on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, Unauthorized

from kg.config import ROOT, Settings
from kg.namespaces import COP, RDFS
from server import create_app
from tests.endpoint_support import TOKEN, free_port, load_update
from tests.live_server import live_server

CITIES = f"SELECT ?case ?city WHERE {{ ?case <{COP.city}> ?city }} ORDER BY ?case"
EXPECTED = [("https://w3id.org/coprokg/id/case/demo-a", "上海"), ("https://w3id.org/coprokg/id/case/demo-b", "杭州")]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    app = create_app(Settings(store=str(tmp_path_factory.mktemp("clients") / "store"), token=TOKEN))
    app.extensions["coprokg.store"].update(load_update())
    with live_server(app) as url:
        yield f"{url}/sparql"
    app.extensions["coprokg.store"].close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select(endpoint, method):
    client = SPARQLWrapper(endpoint)
    client.setMethod(method)
    client.setQuery(CITIES)
    client.setReturnFormat(JSON)
    bindings = client.query().convert()["results"]["bindings"]
    assert [(b["case"]["value"], b["city"]["value"]) for b in bindings] == EXPECTED
    assert bindings[0]["city"]["xml:lang"] == "zh"


SELECT_FORMATS = {JSON: "application/sparql-results+json", XML: "application/sparql-results+xml",
                  CSV: "text/csv", TSV: "text/tab-separated-values"}
GRAPH_FORMATS = {TURTLE: ("text/turtle", "turtle"), N3: ("text/turtle", "turtle"),
                 RDFXML: ("application/rdf+xml", "xml"), JSONLD: ("application/ld+json", "json-ld"),
                 XML: ("application/rdf+xml", "xml")}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("return_format", sorted(SELECT_FORMATS))
def test_sparqlwrapper_every_select_format(endpoint, method, return_format):
    """SPARQLWrapper repeats `format` (tsv twice, once as a name and once as a media type): agreeing repeats work."""
    client = SPARQLWrapper(endpoint)
    client.setMethod(method)
    client.setQuery(CITIES)
    client.setReturnFormat(return_format)
    response = client.query().response
    assert response.headers["Content-Type"].split(";")[0] == SELECT_FORMATS[return_format]
    body = response.read().decode()
    assert "上海" in body and "杭州" in body


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("return_format", sorted(GRAPH_FORMATS))
def test_sparqlwrapper_every_graph_format(endpoint, method, return_format):
    client = SPARQLWrapper(endpoint)
    client.setMethod(method)
    client.setQuery(f"CONSTRUCT WHERE {{ ?case <{COP.city}> ?city }}")
    client.setReturnFormat(return_format)
    response = client.query().response
    media_type, rdflib_format = GRAPH_FORMATS[return_format]
    assert response.headers["Content-Type"].split(";")[0] == media_type
    graph = Graph().parse(data=response.read(), format=rdflib_format)
    assert {str(o) for o in graph.objects()} == {"上海", "杭州"}


def test_conflicting_format_parameters_are_refused(endpoint):
    answer = requests.get(endpoint, params=[("query", CITIES), ("format", "csv"), ("format", "json")], timeout=10)
    assert answer.status_code == 400
    assert "'csv'" in answer.text and "'json'" in answer.text
    repeated = requests.get(endpoint, params=[("query", CITIES), ("format", "csv"), ("format", "text/csv")], timeout=10)
    assert repeated.status_code == 200 and repeated.headers["Content-Type"].startswith("text/csv")


def test_sparqlwrapper_xml_ask_and_construct(endpoint):
    client = SPARQLWrapper(endpoint)
    client.setQuery(CITIES)
    client.setReturnFormat(XML)
    assert len(client.query().convert().getElementsByTagName("result")) == 2
    client.setQuery('ASK { ?s ?p "杭州"@zh }')
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True
    client.setQuery(f"CONSTRUCT WHERE {{ ?case <{COP.city}> ?city }}")
    client.setReturnFormat(TURTLE)
    graph = Graph().parse(data=client.query().convert(), format="turtle")
    assert Literal("上海", lang="zh") in set(graph.objects())


def test_sparqlwrapper_errors(endpoint):
    client = SPARQLWrapper(endpoint)
    client.setQuery("SELECT * WHERE { ?s ?p }")
    with pytest.raises(QueryBadFormed):
        client.query()
    writer = SPARQLWrapper(endpoint)
    writer.setMethod("POST")
    writer.setQuery("INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }")
    with pytest.raises(Unauthorized):
        writer.query()


def test_sparqlwrapper_update_with_token(endpoint):
    writer = SPARQLWrapper(endpoint)
    writer.setMethod("POST")
    writer.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    writer.setQuery('INSERT DATA { GRAPH <http://example.org/clients> { <http://e/a> <http://e/b> "写入"@zh } }')
    writer.query()
    reader = SPARQLWrapper(endpoint)
    reader.setQuery('ASK { GRAPH <http://example.org/clients> { ?s ?p "写入"@zh } }')
    reader.setReturnFormat(JSON)
    assert reader.query().convert()["boolean"] is True
    writer.setQuery("DROP GRAPH <http://example.org/clients>")
    writer.query()


def test_rdflib_sparqlstore(endpoint):
    graph = Graph(store=SPARQLStore(endpoint))
    rows = [(str(case), str(city)) for case, city in graph.query(CITIES)]
    assert rows == EXPECTED
    labels = set(graph.objects(URIRef("https://w3id.org/coprokg/id/case/demo-a"), RDFS.label))
    assert Literal("示例助餐服务", lang="zh") in labels


def test_rdflib_sparqlupdatestore_with_token(endpoint):
    store = SPARQLUpdateStore(endpoint, endpoint, headers={"Authorization": f"Bearer {TOKEN}"})
    graph = Graph(store=store, identifier=URIRef("http://example.org/rdflib-update"))
    graph.add((URIRef("http://e/s"), RDFS.label, Literal("更新", lang="zh")))
    assert Literal("更新", lang="zh") in set(graph.objects(URIRef("http://e/s"), RDFS.label))
    store.update("DROP GRAPH <http://example.org/rdflib-update>")


def test_coprokg_serve_answers_clients_and_starts_quietly(tmp_path):
    """`coprokg serve` (what `make serve` runs) answers SPARQLWrapper and curl-style requests."""
    port = free_port()
    env = {**os.environ, "COPROKG_STORE": str(tmp_path / "store"), "COPROKG_PORT": str(port),
           "COPROKG_TOKEN": TOKEN, "COPROKG_WORKERS": "1"}
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "coprokg"), "serve"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.05)  # not listening yet, or the edge is up and says the workers are still starting
        r = requests.post(f"{url}/sparql", data={"update": load_update()}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 204
        client = SPARQLWrapper(f"{url}/sparql")
        client.setQuery(CITIES)
        client.setReturnFormat(JSON)
        rows = [(b["case"]["value"], b["city"]["value"]) for b in client.query().convert()["results"]["bindings"]]
        assert rows == EXPECTED
        r = requests.get(f"{url}/sparql", params={"query": CITIES}, headers={"Accept": "text/csv"})
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8" and "杭州" in r.text
    finally:
        server.send_signal(signal.SIGINT)  # uWSGI's quick shutdown
        output = server.communicate(timeout=15)[0].decode()
    # What a user needs and nothing of the servers' internals: the URLs, then one access line per request.
    assert f"SPARQL: {url}/sparql" in output and '"POST /sparql" 204' in output
    assert "uWSGI" not in output and "nginx" not in output and "WARNING" not in output, output


def test_bad_setting_stops_start_up():
    env = {**os.environ, "COPROKG_PORT": "eighty"}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "coprokg"), "serve"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "COPROKG_PORT" in result.stderr
