"""The SPARQL 1.1 Protocol, modelled on the W3C protocol tests, for the embedded and the remote backend."""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox
import pytest
from werkzeug.datastructures import MultiDict

from kg.config import Settings
from kg.namespaces import COP, INFERRED_GRAPH, RDFS, case_graph
from server import create_app
from tests.endpoint_support import TOKEN, backend_store, endpoint_quads, load_update

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LABELS = f"PREFIX rdfs: <{RDFS}> SELECT ?case ?label WHERE {{ ?case rdfs:label ?label }}"
CASE_LABELS = f"PREFIX rdfs: <{RDFS}> PREFIX cop: <{COP}> SELECT ?case ?label WHERE {{ ?case a cop:CoproductionCase ; rdfs:label ?label }}"
GRAPH_A, GRAPH_B = str(case_graph("demo-a")), str(case_graph("demo-b"))


@pytest.fixture(scope="module")
def expected_store() -> ox.Store:
    """The same data in a plain pyoxigraph store: the reference answers come from it."""
    store = ox.Store()
    store.extend(endpoint_quads())
    return store


def reference(store: ox.Store, query: str, **options) -> set[tuple]:
    options.setdefault("use_default_graph_as_union", "default_graph" not in options)
    return rows(store.query(query, **options))


def rows(solutions) -> set[tuple]:
    variables = [v.value for v in solutions.variables]
    return {tuple(s[v] for v in variables) for s in solutions}


@pytest.fixture(scope="module", params=["embedded", "remote"])
def client(request, tmp_path_factory):
    """A test client of the real app over the named backend, loaded with the illustrative test data."""
    store = backend_store(request, tmp_path_factory, "protocol")
    app = create_app(Settings(store=store, token=TOKEN, query_timeout=20, workers=2))
    app.extensions["coprokg.store"].update(load_update())
    yield app.test_client()
    app.extensions["coprokg.store"].close()


def parse_results(response) -> set[tuple]:
    media_type = response.mimetype
    return rows(ox.parse_query_results(response.data, ox.QueryResultsFormat.from_media_type(media_type)))


# --- query_get, query_post_form, query_post_direct -------------------------------------------------------


def test_query_get(client, expected_store):
    r = client.get("/sparql", query_string={"query": LABELS})
    assert r.status_code == 200 and r.mimetype == "application/sparql-results+json"
    assert parse_results(r) == reference(expected_store, LABELS)
    assert ox.Literal("示例助餐服务", language="zh") in {label for _, label in parse_results(r)}


def test_query_post_form(client, expected_store):
    r = client.post("/sparql", data={"query": CASE_LABELS})
    assert r.status_code == 200
    assert parse_results(r) == reference(expected_store, CASE_LABELS)


def test_query_post_direct(client, expected_store):
    r = client.post("/sparql", data=CASE_LABELS.encode(), content_type="application/sparql-query")
    assert r.status_code == 200
    assert parse_results(r) == reference(expected_store, CASE_LABELS)


# --- content types: every format parsed back and compared, Chinese included --------------------------------


@pytest.mark.parametrize("media_type", ["application/sparql-results+json", "application/sparql-results+xml",
                                        "text/tab-separated-values"])
def test_query_content_type_select(client, expected_store, media_type):
    r = client.get("/sparql", query_string={"query": LABELS}, headers={"Accept": media_type})
    assert r.status_code == 200 and r.mimetype == media_type
    assert parse_results(r) == reference(expected_store, LABELS)


def test_query_content_type_select_csv(client, expected_store):
    r = client.get("/sparql", query_string={"query": LABELS}, headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(r.data.decode("utf-8"))))
    assert table[0] == ["case", "label"]
    assert {tuple(row) for row in table[1:]} == {(c.value, label.value) for c, label in reference(expected_store, LABELS)}
    assert any(row[1] == "示例日间照料" for row in table)


@pytest.mark.parametrize("media_type", ["application/sparql-results+json", "application/sparql-results+xml"])
def test_query_content_type_ask(client, media_type):
    for query, answer in (("ASK { ?s ?p \"上海\"@zh }", True), ("ASK { ?s ?p \"上海\"@en }", False)):
        r = client.get("/sparql", query_string={"query": query}, headers={"Accept": media_type})
        assert r.status_code == 200 and r.mimetype == media_type
        assert bool(ox.parse_query_results(r.data, ox.QueryResultsFormat.from_media_type(media_type))) is answer


GRAPH_MEDIA_TYPES = ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml",
                     "application/n-quads", "application/trig"]


@pytest.mark.parametrize("media_type", GRAPH_MEDIA_TYPES)
def test_query_content_type_construct(client, expected_store, media_type):
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH_A}> {{ ?s ?p ?o }} }}"
    r = client.get("/sparql", query_string={"query": query}, headers={"Accept": media_type})
    assert r.status_code == 200 and r.mimetype == media_type
    got = {q.triple for q in ox.parse(r.data, ox.RdfFormat.from_media_type(media_type))}
    assert got == set(expected_store.query(query))
    assert any(t.object == ox.Literal("上海", language="zh") for t in got)


def test_construct_in_turtle_declares_the_known_prefixes(client, expected_store):
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH_A}> {{ ?s ?p ?o }} }}"
    r = client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/turtle"})
    assert {q.triple for q in ox.parse(r.data, ox.RdfFormat.TURTLE)} == set(expected_store.query(query))
    text = r.data.decode()
    assert f"@prefix cop: <{COP}> ." in text and f"@prefix rdfs: <{RDFS}> ." in text
    assert "rdfs:label" in text and f"<{RDFS}label>" not in text  # the prefixes are used, not only declared


def test_query_content_type_describe(client):
    query = "DESCRIBE <https://w3id.org/coprokg/id/case/demo-b>"
    r = client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.mimetype == "text/turtle"
    objects = {t.object for t in ox.parse(r.data, ox.RdfFormat.TURTLE)}
    assert ox.Literal("杭州", language="zh") in objects


# --- negotiation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept,expected", [
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ("text/tab-separated-values, application/sparql-results+json;q=0.1", "text/tab-separated-values"),
    ("*/*", "application/sparql-results+json"),
    ("application/json", "application/sparql-results+json"),
    ("text/turtle;q=1, text/*;q=0.5", "text/csv"),
])
def test_q_values_are_honoured(client, accept, expected):
    r = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o } LIMIT 1"}, headers={"Accept": accept})
    assert r.status_code == 200 and r.mimetype == expected


def test_format_parameter_overrides_accept(client):
    r = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o } LIMIT 1", "format": "tsv"},
                   headers={"Accept": "application/sparql-results+xml"})
    assert r.mimetype == "text/tab-separated-values"
    r = client.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "jsonld"})
    assert r.mimetype == "application/ld+json" and json.loads(r.data)


def test_unsupported_accept_is_406(client):
    r = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }"}, headers={"Accept": "image/png"})
    assert r.status_code == 406 and "application/sparql-results+json" in r.json["detail"]
    r = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Accept": "text/csv"})
    assert r.status_code == 406
    r = client.get("/sparql", query_string={"query": "SELECT * {}", "format": "turtle"})
    assert r.status_code == 406


# --- datasets ---------------------------------------------------------------------------------------------


def test_query_dataset_default_graph(client, expected_store):
    r = client.get("/sparql", query_string={"query": LABELS, "default-graph-uri": GRAPH_A})
    expected = reference(expected_store, LABELS, default_graph=[ox.NamedNode(GRAPH_A)])
    assert parse_results(r) == expected and len(expected) == 2


def test_query_dataset_default_graphs_get(client, expected_store):
    r = client.get("/sparql", query_string=[("query", CASE_LABELS), ("default-graph-uri", GRAPH_A),
                                            ("default-graph-uri", GRAPH_B)])
    assert len(parse_results(r)) == 4


def test_query_dataset_default_graphs_post(client):
    r = client.post("/sparql", data=MultiDict([("query", CASE_LABELS), ("default-graph-uri", GRAPH_A),
                                               ("default-graph-uri", GRAPH_B)]))
    assert len(parse_results(r)) == 4


@pytest.mark.parametrize("method", ["get", "post"])
def test_query_dataset_named_graphs(client, method):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    params = [("query", query), ("named-graph-uri", GRAPH_A), ("named-graph-uri", str(INFERRED_GRAPH))]
    r = client.get("/sparql", query_string=params) if method == "get" else client.post("/sparql", data=MultiDict(params))
    assert {g.value for (g,) in parse_results(r)} == {GRAPH_A, str(INFERRED_GRAPH)}
    # With only named graphs given, the default graph is empty.
    r = client.get("/sparql", query_string=[("query", "ASK { ?s ?p ?o }"), ("named-graph-uri", GRAPH_A)])
    assert r.json["boolean"] is False


def test_query_dataset_full(client):
    query = "SELECT ?g ?o WHERE { ?s <https://w3id.org/coprokg/ontology#city> ?o . GRAPH ?g { ?x ?y ?z } }"
    r = client.get("/sparql", query_string=[("query", query), ("default-graph-uri", GRAPH_B),
                                            ("named-graph-uri", GRAPH_A)])
    assert {(g.value, o.value) for g, o in parse_results(r)} == {(GRAPH_A, "杭州")}


def test_query_multiple_dataset(client):
    """Protocol parameters replace the query's own FROM clauses."""
    query = f"SELECT ?o FROM <{GRAPH_A}> WHERE {{ ?s <https://w3id.org/coprokg/ontology#city> ?o }}"
    assert {o.value for (o,) in parse_results(client.get("/sparql", query_string={"query": query}))} == {"上海"}
    r = client.get("/sparql", query_string={"query": query, "default-graph-uri": GRAPH_B})
    assert {o.value for (o,) in parse_results(r)} == {"杭州"}


def test_asserted_only_leaves_out_the_inferred_graph(client):
    query = "SELECT ?case WHERE { ?case <https://w3id.org/coprokg/ontology#hasMode> ?mode }"
    assert len(parse_results(client.get("/sparql", query_string={"query": query}))) == 2
    assert parse_results(client.get("/sparql", query_string={"query": query, "inferred": "false"})) == set()
    labels = client.get("/sparql", query_string={"query": CASE_LABELS, "inferred": "false"})
    assert len(parse_results(labels)) == 4


# --- updates ----------------------------------------------------------------------------------------------

TEST_GRAPH = "http://example.org/protocol-test"


def _count(client, graph=TEST_GRAPH) -> int:
    r = client.get("/sparql", query_string={"query": f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"})
    return int(r.json["results"]["bindings"][0]["n"]["value"])


def test_update_post_form_and_direct(client):
    r = client.post("/sparql", data={"update": f'INSERT DATA {{ GRAPH <{TEST_GRAPH}> {{ <http://e/a> <http://e/p> "养老"@zh }} }}'},
                    headers=AUTH)
    assert r.status_code == 204 and _count(client) == 1
    r = client.post("/sparql", data=f"DROP GRAPH <{TEST_GRAPH}>".encode(), content_type="application/sparql-update",
                    headers=AUTH)
    assert r.status_code == 204 and _count(client) == 0


def test_update_dataset_default_graph(client):
    """using-graph-uri sets the WHERE clause's default graph."""
    city = "<https://w3id.org/coprokg/ontology#city>"
    update = f"INSERT {{ GRAPH <{TEST_GRAPH}> {{ ?s ?p ?o }} }} WHERE {{ ?s {city} ?o . BIND({city} AS ?p) }}"
    r = client.post("/sparql", data={"update": update, "using-graph-uri": GRAPH_B}, headers=AUTH)
    assert r.status_code == 204
    assert _count(client) == 1
    client.post("/sparql", data={"update": f"DROP SILENT GRAPH <{TEST_GRAPH}>"}, headers=AUTH)


def test_update_dataset_default_graphs_named_graphs_and_full(client):
    """Several using-graph-uri, and using-named-graph-uri for the WHERE clause's GRAPH patterns."""
    city = "<https://w3id.org/coprokg/ontology#city>"
    update = f"INSERT {{ GRAPH <{TEST_GRAPH}> {{ ?s {city} ?o }} }} WHERE {{ ?s {city} ?o }}"
    client.post("/sparql", data=MultiDict([("update", update), ("using-graph-uri", GRAPH_A), ("using-graph-uri", GRAPH_B)]),
                headers=AUTH)
    assert _count(client) == 2
    client.post("/sparql", data={"update": f"DROP SILENT GRAPH <{TEST_GRAPH}>"}, headers=AUTH)
    update = f"INSERT {{ GRAPH <{TEST_GRAPH}> {{ ?s {city} ?o }} }} WHERE {{ GRAPH ?g {{ ?s {city} ?o }} }}"
    client.post("/sparql", data={"update": update, "using-named-graph-uri": GRAPH_B}, headers=AUTH)
    assert _count(client) == 1
    client.post("/sparql", data={"update": f"DROP SILENT GRAPH <{TEST_GRAPH}>"}, headers=AUTH)
    update = (f"INSERT {{ GRAPH <{TEST_GRAPH}> {{ ?s {city} ?o . ?t {city} ?p }} }} "
              f"WHERE {{ ?s {city} ?o GRAPH ?g {{ ?t {city} ?p }} }}")
    client.post("/sparql", data={"update": update, "using-graph-uri": GRAPH_A, "using-named-graph-uri": GRAPH_B},
                headers=AUTH)
    cities = client.get("/sparql", query_string={"query": f"SELECT ?o {{ GRAPH <{TEST_GRAPH}> {{ ?s {city} ?o }} }}"})
    assert {b["o"]["value"] for b in cities.json["results"]["bindings"]} == {"上海", "杭州"}
    client.post("/sparql", data={"update": f"DROP SILENT GRAPH <{TEST_GRAPH}>"}, headers=AUTH)


def test_update_base_uri(client):
    """Relative IRIs in an update resolve against the endpoint's URL."""
    r = client.post("/sparql", data={"update": f"INSERT DATA {{ GRAPH <{TEST_GRAPH}> {{ <relative> <http://e/p> 1 }} }}"},
                    headers=AUTH)
    assert r.status_code == 204
    subjects = client.get("/sparql", query_string={"query": f"SELECT ?s {{ GRAPH <{TEST_GRAPH}> {{ ?s ?p ?o }} }}"})
    assert subjects.json["results"]["bindings"][0]["s"]["value"] == "http://localhost/relative"
    client.post("/sparql", data={"update": f"DROP SILENT GRAPH <{TEST_GRAPH}>"}, headers=AUTH)


# --- every bad_* case: 4xx with a message that says what and where ----------------------------------------------

BAD_QUERY = "SELECT * WHERE { ?s ?p }"


def test_bad_query_method(client):
    assert client.put("/sparql", data={"query": "ASK {}"}).status_code == 405
    assert client.delete("/sparql").status_code == 405


def test_bad_multiple_queries(client):
    r = client.get("/sparql", query_string=[("query", "ASK {}"), ("query", "SELECT * {}")])
    assert r.status_code == 400 and "2 'query' parameters" in r.json["detail"]
    r = client.post("/sparql", data="ASK {} ; ASK {}", content_type="application/sparql-query")
    assert r.status_code == 400


def test_bad_query_wrong_media_type(client):
    r = client.post("/sparql", data="ASK {}", content_type="text/plain")
    assert r.status_code == 400 and "text/plain" in r.json["detail"]


def test_bad_query_missing_form_type(client):
    r = client.post("/sparql", data=b"query=ASK%20%7B%7D")
    assert r.status_code == 400 and "Content-Type" in r.json["detail"]


def test_bad_query_missing_direct_type(client):
    r = client.post("/sparql", data=b"ASK {}")
    assert r.status_code == 400


def test_bad_query_non_utf8(client):
    r = client.post("/sparql", data="ASK { ?s ?p \"é\" }".encode("latin-1"), content_type="application/sparql-query")
    assert r.status_code == 400 and "not UTF-8" in r.json["detail"] and "0xe9" in r.json["detail"]
    r = client.get("/sparql?query=ASK%20%7B%3Fs%20%3Fp%20%22%E9%22%7D")
    assert r.status_code == 400 and "UTF-8" in r.json["detail"]
    r = client.post("/sparql", data=b"query=ASK%20%7B%22%E9%22%7D", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400


def test_bad_query_syntax(client):
    r = client.get("/sparql", query_string={"query": BAD_QUERY})
    assert r.status_code == 400 and r.json["error"] == "Malformed SPARQL query"
    # In words, at the pattern that is wrong (pyoxigraph itself points past the closing brace).
    assert r.json["detail"] == "the triple pattern `?s ?p` (line 1, column 18) has no object"
    assert (r.json["line"], r.json["column"]) == (1, 18) and "1:" in r.json["parser_message"]


def test_known_prefixes_are_declared_for_the_query(client, expected_store):
    undeclared = "SELECT ?case ?label WHERE { ?case a cop:CoproductionCase ; rdfs:label ?label }"
    r = client.get("/sparql", query_string={"query": undeclared}, headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, r.json
    assert r.headers["CoproKG-Declared-Prefixes"] == "cop rdfs"
    found = {(b["case"]["value"], b["label"]["value"]) for b in r.json["results"]["bindings"]}
    assert found == {(c.value, name.value) for c, name in reference(expected_store, CASE_LABELS)} != set()
    # A prefix the query declares itself keeps its own meaning, and no header says otherwise.
    own = "PREFIX cop: <http://example.org/other#> ASK { ?case a cop:CoproductionCase }"
    r = client.get("/sparql", query_string={"query": own}, headers={"Accept": "application/sparql-results+json"})
    assert r.json["boolean"] is False and "CoproKG-Declared-Prefixes" not in r.headers


def test_syntax_errors_read_as_sentences_at_the_right_place(client):
    r = client.get("/sparql", query_string={"query": "SELECT * WHERE {\n  ?s rdfs:label ?l .\n  ?s foo:bar ?o }"})
    assert r.status_code == 400
    assert r.json["detail"].startswith("unknown prefix `foo:` (line 3, column 6)")
    assert (r.json["line"], r.json["column"]) == (3, 6)  # where foo: starts, not where the parser gave up
    r = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s rdfs:label ?o "})
    assert "`}`" in r.json["detail"] and "after `?o`" in r.json["detail"]
    assert "\\u{" not in r.json["detail"] and "['" not in r.json["detail"]  # no grammar dump
    assert r.json["line"] == 1


def test_bad_update_get(client):
    r = client.get("/sparql", query_string={"update": "CLEAR ALL"}, headers=AUTH)
    assert r.status_code == 400 and "POST" in r.json["detail"]


def test_bad_multiple_updates(client):
    r = client.post("/sparql", data=MultiDict([("update", "CLEAR SILENT GRAPH <http://e/x>")] * 2), headers=AUTH)
    assert r.status_code == 400
    r = client.post("/sparql", data={"query": "ASK {}", "update": "CLEAR SILENT GRAPH <http://e/x>"}, headers=AUTH)
    assert r.status_code == 400 and "both" in r.json["detail"]


def test_bad_update_wrong_media_type(client):
    r = client.post("/sparql", data="CLEAR ALL", content_type="text/plain", headers=AUTH)
    assert r.status_code == 400


def test_bad_update_missing_form_type(client):
    r = client.post("/sparql", data=b"update=CLEAR%20ALL", headers=AUTH)
    assert r.status_code == 400
    assert _count(client, GRAPH_A) > 0


def test_bad_update_non_utf8(client):
    r = client.post("/sparql", data='INSERT DATA { <http://e/a> <http://e/p> "é" }'.encode("latin-1"),
                    content_type="application/sparql-update", headers=AUTH)
    assert r.status_code == 400 and "not UTF-8" in r.json["detail"]


def test_bad_update_syntax(client):
    r = client.post("/sparql", data={"update": "INSERT DATA { <http://e/a> <http://e/p> }"}, headers=AUTH)
    assert r.status_code == 400 and r.json["error"] == "Malformed SPARQL update" and "1:" in r.json["detail"]


def test_bad_update_dataset_conflict(client):
    update = f"INSERT {{ GRAPH <{TEST_GRAPH}> {{ ?s ?p ?o }} }} USING <{GRAPH_A}> WHERE {{ ?s ?p ?o }}"
    r = client.post("/sparql", data={"update": update, "using-graph-uri": GRAPH_B}, headers=AUTH)
    assert r.status_code == 400 and _count(client) == 0


def test_bad_dataset_iri(client):
    r = client.get("/sparql", query_string={"query": "ASK {}", "default-graph-uri": "not an iri"})
    assert r.status_code == 400 and "default-graph-uri" in r.json["detail"]


# --- service description, browsers, streaming -------------------------------------------------------------------


def test_service_description(client):
    r = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.mimetype == "text/turtle"
    triples = list(ox.parse(r.data, ox.RdfFormat.TURTLE))
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert any(t.object == ox.NamedNode(sd + "Service") for t in triples)
    assert ox.NamedNode(GRAPH_A) in {t.object for t in triples if t.predicate == ox.NamedNode(sd + "name")}
    assert ox.NamedNode(sd + "SPARQL11Update") in {t.object for t in triples}


def test_browser_gets_the_ui(client):
    r = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/")


def test_large_results_stream(client):
    # 17 quads, cubed: about 5 000 rows and a few MB of JSON, far past the read-ahead.
    query = "SELECT ?a ?b ?c WHERE { ?a ?p1 ?x . ?b ?p2 ?y . ?c ?p3 ?z }"
    r = client.get("/sparql", query_string={"query": query}, buffered=False)
    assert r.status_code == 200 and r.is_streamed and "Content-Length" not in r.headers
    body = b"".join(r.response)
    r.close()
    assert len(json.loads(body)["results"]["bindings"]) == 17**3
