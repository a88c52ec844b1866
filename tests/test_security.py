"""Safety by default: no outside connections, token-guarded writes, a real timeout, body limits, CORS."""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time

import pyoxigraph as ox
import pytest
import requests

from kg.config import Settings
from kg.errors import Forbidden, QuerySyntaxError
from kg.sparql_scan import check_external
from kg.store import EmbeddedStore
from server import create_app
from tests.endpoint_support import TOKEN, backend_store, Listener, ProductionServer, load_update

AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Seven copies of the 17 test quads joined: 17**7 (4e8) rows to count, far beyond any timeout here.
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r . ?s ?t ?u }"


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture(scope="module", params=["embedded", "remote"])
def app(request, tmp_path_factory):
    store = backend_store(request, tmp_path_factory, "security")
    app = create_app(Settings(store=store, token=TOKEN, cors_origins=("https://allowed.example",),
                              max_query_bytes=1000))
    app.extensions["coprokg.store"].update(load_update())
    yield app
    app.extensions["coprokg.store"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def _count(client) -> int:
    r = client.get("/sparql", query_string={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    return int(r.json["results"]["bindings"][0]["n"]["value"])


# --- no request may make CoproKG open a connection or a file ---------------------------------------------


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "PREFIX remote: <{base}> SELECT * WHERE {{ SERVICE remote:sparql {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ BIND(<{url}> AS ?x) SERVICE ?x {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p ?o . FILTER(?o != \"}}\") SERVICE<{url}>{{ ?s ?p ?o }} }}",
])
def test_service_is_refused_and_never_connects(client, listener, template):
    query = template.format(url=listener.url, base=listener.url.removesuffix("sparql"))
    for r in (client.get("/sparql", query_string={"query": query}),
              client.post("/sparql", data=query.encode(), content_type="application/sparql-query")):
        assert r.status_code == 403 and "SERVICE" in r.json["detail"]
    time.sleep(0.05)  # a connection attempt would have been made before the answer; allow the accept
    assert listener.connections == []


# Spellings the engine reads as a call although a keyword scanner would not (pyoxigraph matches a keyword by
# its letters, with no word boundary after it), and other ways to hide one. {base} is the listener's root;
# `allowed` is on the guarded app's allow-list, so a guard fooled into reading it would let the call through.
ALLOWED = "http://allowed.example/"
HIDDEN_SERVICES = {
    "glued-prefixed-name": "PREFIX x: <{base}> SELECT * WHERE {{ SERVICEx:admin {{ ?s ?p ?o }} }}",
    "glued-default-prefix": "PREFIX : <{base}> SELECT * WHERE {{ SERVICE:{{ ?s ?p ?o }} }}",
    "glued-silent-mixed-case": "PREFIX x: <{base}> SELECT * WHERE {{ sErViCeSiLeNtx:admin {{ ?s ?p ?o }} }}",
    "glued-prefix-redeclared": f"PREFIX x: <{ALLOWED}> PREFIXx: <{{base}}> SELECT * WHERE {{{{ SERVICE x:sparql {{{{ ?s ?p ?o }}}} }}}}",
    "declared-prefix-named-service": f"PREFIX service: <{ALLOWED}> PREFIX : <{{base}}> "
                                     "SELECT * WHERE {{ service:sparql {{ ?s ?p ?o }} }}",
    "plain-prefix-redeclared": f"PREFIX x: <{ALLOWED}> PREFIX x: <{{base}}> SELECT * WHERE {{{{ SERVICE x:sparql {{{{ }}}} }}}}",
    "after-a-group": "PREFIX x: <{base}> SELECT * WHERE {{ {{ }}SERVICEx:admin {{ ?s ?p ?o }} }}",
    "comment-before-target": "PREFIX x: <{base}> SELECT * WHERE {{ SERVICE # why not\n x:admin {{ ?s ?p ?o }} }}",
    "base-relative": "BASE <{base}> SELECT * WHERE {{ SERVICE <admin> {{ ?s ?p ?o }} }}",
    "escaped-iri": "SELECT * WHERE {{ SERVICE <http://127.0.0.1\\u003a{port}/admin> {{ ?s ?p ?o }} }}",
    "in-a-subquery": "PREFIX x: <{base}> SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICEx:admin {{ ?s ?p ?o }} }} }} }}",
    "in-optional": "PREFIX x: <{base}> SELECT * WHERE {{ OPTIONAL {{ SERVICEx:admin {{ ?s ?p ?o }} }} }}",
    "in-union": "PREFIX x: <{base}> SELECT * WHERE {{ {{ }} UNION {{ SERVICEx:admin {{ }} }} }}",
}
HIDDEN_UPDATES = {
    "glued-load": "PREFIX x: <{base}> LOADx:admin",
    "glued-load-silent-into": "PREFIX x: <{base}> LOADSILENTx:admin INTO GRAPH <urn:g>",
    "load-after-an-operation": "PREFIX x: <{base}> CLEAR SILENT GRAPH <urn:none> ; LOADx:admin",
    "service-in-an-update": "PREFIX x: <{base}> INSERT {{ <urn:a> <urn:b> <urn:c> }} WHERE {{ SERVICEx:admin {{ }} }}",
}


def _spelled(template: str, listener: Listener) -> str:
    return template.format(base=listener.url.removesuffix("sparql"), port=listener.port)


@pytest.mark.parametrize("name", sorted(HIDDEN_SERVICES) + sorted(HIDDEN_UPDATES))
def test_each_hidden_spelling_is_a_real_call_for_the_unguarded_engine(name):
    # Proves the spelling matters: pyoxigraph itself, with no guard in front, contacts the listener.
    listener = Listener(answer=True)
    try:
        text = _spelled({**HIDDEN_SERVICES, **HIDDEN_UPDATES}[name], listener)
        engine = ox.Store()
        try:
            engine.update(text) if name in HIDDEN_UPDATES else list(engine.query(text))
        except (OSError, RuntimeError):
            pass  # a LOAD of a results document fails after the request: the request is what counts
        deadline = time.monotonic() + 2
        while not listener.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.connections, f"{name}: the engine did not call it, so the test proves nothing"
    finally:
        listener.close()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """An app whose allow-list names a service, so a guard that misread a spelling would let it through."""
    app = create_app(Settings(store=str(tmp_path_factory.mktemp("guarded") / "store"), token=TOKEN,
                              service_allowlist=(ALLOWED + "sparql", ALLOWED + "admin")))
    yield app.test_client()
    app.extensions["coprokg.store"].close()


@pytest.mark.parametrize("name", sorted(HIDDEN_SERVICES))
def test_hidden_service_spellings_are_refused_and_never_connect(guarded, client, listener, name):
    query = _spelled(HIDDEN_SERVICES[name], listener)
    for each in (guarded, client):  # allow-list in use; and both backends with none
        for r in (each.get("/sparql", query_string={"query": query}),
                  each.post("/sparql", data=query.encode(), content_type="application/sparql-query")):
            if "silent" in name:  # a refused silent call is a failure the answer does not report
                assert r.status_code == 200, (name, r.json)
            else:
                assert r.status_code == 403 and "SERVICE" in r.json["detail"], (name, r.status_code, r.json)
    time.sleep(0.05)
    assert listener.connections == []


@pytest.mark.parametrize("name", sorted(HIDDEN_UPDATES))
def test_hidden_update_spellings_are_refused_and_never_connect(guarded, client, listener, name):
    update = _spelled(HIDDEN_UPDATES[name], listener)
    for each in (guarded, client):
        r = each.post("/sparql", data={"update": update}, headers=AUTH)
        if "silent" in name:
            assert r.status_code == 204, (name, r.json)
        else:
            assert r.status_code == 403 and ("LOAD" in r.json["detail"] or "SERVICE" in r.json["detail"]), (name, r.json)
    time.sleep(0.05)
    assert listener.connections == []


@pytest.mark.parametrize("query", [
    "PREFIX services: <https://example.org/s/> SELECT * WHERE { services:a ?p ?o }",
    "PREFIX loader: <https://example.org/l/> SELECT * WHERE { ?s loader:step ?o }",
    "PREFIX prefixes: <https://example.org/p/> SELECT * WHERE { ?s ?p prefixes:x }",
])
def test_names_that_merely_start_with_a_keyword_are_not_refused(client, query):
    r = client.get("/sparql", query_string={"query": query})
    assert r.status_code == 200, r.json


@pytest.mark.parametrize("target", ["{url}", "file:///etc/passwd"])
def test_load_is_refused_and_never_connects(client, listener, target):
    before = _count(client)
    r = client.post("/sparql", data={"update": f"LOAD <{target.format(url=listener.url)}>"}, headers=AUTH)
    assert r.status_code == 403 and "LOAD" in r.json["detail"]
    time.sleep(0.05)
    assert listener.connections == [] and _count(client) == before


# SPARQL 1.1 Update 3.1.4 and Federated Query 4: a failure under SILENT is not reported. A refused target is
# such a failure: the LOAD does nothing, and the SERVICE pattern gives the one empty solution.
@pytest.mark.parametrize("target", ["{url}", "file:///etc/passwd", "?where"])
def test_silent_calls_to_refused_targets_succeed_as_failures_and_contact_nothing(client, listener, target):
    target = target.format(url=listener.url)
    target = target if target.startswith("?") else f"<{target}>"
    before = _count(client)
    if not target.startswith("?"):
        for update in (f"LOAD SILENT {target}", f"LOAD SILENT {target} INTO GRAPH <http://e/g> ; "
                                                f"INSERT DATA {{ GRAPH <http://e/g> {{ <http://e/s> <http://e/p> \"{target}\" }} }}"):
            r = client.post("/sparql", data={"update": update}, headers=AUTH)
            assert r.status_code == 204, r.json
    query = (f"SELECT ?n WHERE {{ BIND(1 AS ?n) SERVICE SILENT {target} {{ ?s ?p ?o }} }}")
    r = client.get("/sparql", query_string={"query": query})
    assert r.status_code == 200 and r.json["results"]["bindings"] == [{"n": {"type": "literal", "value": "1",
                                                                             "datatype": str(XSD_INTEGER)}}]
    nested = f"ASK {{ SERVICE SILENT {target} {{ SERVICE <{listener.url}> {{ }} }} }}"
    assert client.get("/sparql", query_string={"query": nested}).json["boolean"] is True
    time.sleep(0.05)
    assert listener.connections == []
    if not target.startswith("?"):
        assert _count(client) == before + 1  # the operation after the silent LOAD still ran


@pytest.mark.parametrize("text, operation", [
    ("LOAD <http://127.0.0.1:9/> INTO", "update"),
    ("LOAD SILENT <http://127.0.0.1:9/> INTO GRAPH", "update"),
    ("LOAD <http://127.0.0.1:9/> ; ;", "update"),
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p } }", "query"),
])
def test_a_text_that_does_not_parse_is_a_syntax_error_whatever_it_calls(client, text, operation):
    if operation == "update":
        r = client.post("/sparql", data={"update": text}, headers=AUTH)
    else:
        r = client.get("/sparql", query_string={"query": text})
    assert r.status_code == 400 and "Malformed SPARQL" in r.json["error"], r.json


def test_from_never_fetches(client, listener):
    query = f"SELECT * FROM <{listener.url}> FROM NAMED <{listener.url}/named> WHERE {{ ?s ?p ?o }}"
    r = client.get("/sparql", query_string={"query": query})
    assert r.status_code == 200 and r.json["results"]["bindings"] == []
    time.sleep(0.05)
    assert listener.connections == []


def test_keywords_in_strings_and_names_are_not_refused(client):
    query = ('PREFIX cop: <https://w3id.org/coprokg/ontology#> SELECT ?c WHERE { ?c cop:providesService ?s '
             'FILTER(?s != "SERVICE <http://evil.example/> { }") } # SERVICE <http://evil.example/>')
    assert client.get("/sparql", query_string={"query": query}).status_code == 200


def test_allow_listed_service_is_contacted(tmp_path, listener):
    app = create_app(Settings(store=str(tmp_path / "store"), service_allowlist=(listener.url,)))
    r = app.test_client().get("/sparql", query_string={"query": f"SELECT * {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"})
    assert r.status_code == 500  # the listener is no SPARQL endpoint, but it was asked
    assert listener.connections and b"POST /sparql" in listener.connections[0]
    app.extensions["coprokg.store"].close()


def test_unicode_escapes_do_not_hide_service():
    # The engine reads no escape outside strings and IRIs, so this is no call but a syntax error, said as such.
    with pytest.raises(QuerySyntaxError):
        check_external(r"SELECT * { \u0053ERVICE <http://127.0.0.1:9/> { } }", ())
    with pytest.raises(Forbidden):  # in an IRI the engine does read them
        check_external(r"SELECT * { SERVICE <http://127.0.0.1\u003a9/> { } }", ("http://127.0.0.1:9/",))


def test_files_are_refused_even_when_allow_listed():
    with pytest.raises(Forbidden):
        check_external("LOAD <file:///etc/passwd>", ("file:///etc/passwd",), "update")


# --- headers, and nothing taken from the Host header ------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/ontology", "/modes", "/cases", "/api/docs", "/api/queries", "/sparql",
                                  "/healthz", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    policy = r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "object-src 'none'" in policy
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_the_query_page_admits_its_editor_styles_by_a_fresh_nonce(client):
    policies = [client.get("/").headers["Content-Security-Policy"] for _ in range(2)]
    nonces = [re.search(r"'nonce-([^']+)'", policy).group(1) for policy in policies]
    assert nonces[0] != nonces[1]
    page = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'"cspNonce": "{nonce}"' in page.get_data(as_text=True)


EVIL_HOST = "evil.example"


def test_the_host_header_is_never_reflected(client):
    host = {"Host": EVIL_HOST}
    for path, headers in (("/api/docs", host), ("/api/openapi.json", host),
                          ("/sparql", {**host, "Accept": "text/turtle"}), ("/sparql", {**host, "Accept": "text/html"})):
        r = client.get(path, headers=headers)
        assert r.status_code in (200, 303), (path, r.status_code)
        assert EVIL_HOST not in r.get_data(as_text=True) and EVIL_HOST not in r.headers.get("Location", ""), path
    servers = client.get("/api/openapi.json", headers=host).json["servers"]
    assert servers == [{"url": "http://127.0.0.1:8000"}]


def test_links_use_the_configured_public_url(tmp_path):
    app = create_app(Settings(store=str(tmp_path / "store"), public_url="https://kg.example.org/"))
    client = app.test_client()
    assert client.get("/api/openapi.json").json["servers"] == [{"url": "https://kg.example.org"}]
    description = client.get("/sparql", headers={"Accept": "application/n-triples", "Host": EVIL_HOST}).get_data(as_text=True)
    assert "<https://kg.example.org/sparql>" in description and EVIL_HOST not in description
    app.extensions["coprokg.store"].close()


@pytest.mark.parametrize("path", ["/ontology/a%20b", "/ontology/a%0D%0ASet-Cookie:%20x=1", "/id/case/x%20y",
                                  "/id/case/%0Aevil"])
def test_a_name_no_iri_can_hold_is_a_404_not_a_crash(client, path):
    r = client.get(path, headers={"Accept": "text/turtle"})
    # Either the route does not match (a line break) or the name is refused: a 404 in words, never a 500.
    assert r.status_code == 404 and r.json["error"] == "Not Found" or "not valid in an IRI" in r.json["detail"]
    assert r.status_code == 404 and "Set-Cookie" not in r.headers


# --- writes need the token -----------------------------------------------------------------------------


def test_writes_without_or_with_a_wrong_token_change_nothing(client):
    before = _count(client)
    update = "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        r = client.post("/sparql", data={"update": update}, headers=headers)
        assert r.status_code == 401 and r.json["error"] == "Missing or wrong bearer token"
        r = client.post("/sparql", data=update.encode(), content_type="application/sparql-update", headers=headers)
        assert r.status_code == 401
    assert _count(client) == before


def test_no_token_configured_means_read_only(tmp_path):
    app = create_app(Settings(store=str(tmp_path / "store")))
    r = app.test_client().post("/sparql", data={"update": "CLEAR ALL"}, headers=AUTH)
    assert r.status_code == 403 and "read-only" in r.json["detail"]
    app.extensions["coprokg.store"].close()


def test_malformed_update_leaves_data_unchanged(client):
    before = _count(client)
    update = "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> } ; DELETE WHERE { ?s ?p ?o } ; INSERT DATA { <broken"
    assert client.post("/sparql", data={"update": update}, headers=AUTH).status_code == 400
    assert _count(client) == before


# --- body limits, CORS, errors, access log --------------------------------------------------------------------


def test_oversize_query_is_413(client):
    r = client.post("/sparql", data=("SELECT * {} #" + "x" * 2000).encode(), content_type="application/sparql-query")
    assert r.status_code == 413 and r.headers["Connection"] == "close"
    assert client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200


def test_cors_preflight_and_response_headers(client):
    r = client.options("/sparql", headers={"Origin": "https://allowed.example", "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "Content-Type"})
    assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == "https://allowed.example"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "authorization" not in r.headers["Access-Control-Allow-Headers"].lower()  # no cross-origin writes
    r = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Origin": "https://allowed.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://allowed.example" and "Origin" in r.headers["Vary"]
    r = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_errors_carry_no_traceback():
    app = create_app(Settings(store="unused"), store=EmbeddedStore(None))

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret internals")

    client = app.test_client()
    r = client.get("/explode")
    assert r.status_code == 500 and b"secret" not in r.data and b"Traceback" not in r.data
    r = client.get("/no-such-page")
    assert r.status_code == 404 and r.json["error"] == "Not Found"


def test_access_log_has_one_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="coprokg.access"):
        client.get("/sparql", query_string={"query": "ASK {}"})
    lines = [r.getMessage() for r in caplog.records if r.name == "coprokg.access"]
    assert len(lines) == 1 and '"GET /sparql?<16 bytes>"' in lines[0] and " 200 " in lines[0]


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json["status"] == "ok"


# --- a live server: the timeout and the body limit over real sockets -------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The production server (`coprokg serve`, two workers) on loopback with a 1 s query timeout."""
    server = ProductionServer(tmp_path_factory.mktemp("live") / "store", COPROKG_TOKEN=TOKEN,
                              COPROKG_QUERY_TIMEOUT="1", COPROKG_WORKERS="2", COPROKG_MAX_QUERY_BYTES="10000")
    assert requests.post(f"{server.url}/sparql", data={"update": load_update()}, headers=AUTH).status_code == 204
    yield server.url, server
    server.stop()


def test_the_production_server_refuses_every_hidden_spelling_and_never_connects(live, listener):
    url, _ = live
    for name, template in HIDDEN_SERVICES.items():
        r = requests.get(f"{url}/sparql", params={"query": _spelled(template, listener)}, timeout=10)
        assert r.status_code == (200 if "silent" in name else 403), name
    for name, template in HIDDEN_UPDATES.items():
        r = requests.post(f"{url}/sparql", data={"update": _spelled(template, listener)}, headers=AUTH, timeout=10)
        assert r.status_code == (204 if "silent" in name else 403), name
    time.sleep(0.05)
    assert listener.connections == []


def test_runaway_query_is_killed_at_the_timeout_while_others_are_served(live):
    url, server = live
    workers_before = server.workers()
    assert len(workers_before) == 2
    outcome = {}

    def runaway():
        started = time.monotonic()
        outcome["response"] = requests.get(f"{url}/sparql", params={"query": RUNAWAY}, timeout=30)
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    quick = requests.get(f"{url}/sparql", params={"query": "ASK { ?s ?p \"上海\"@zh }"}, timeout=10)
    assert quick.status_code == 200 and quick.json()["boolean"] is True
    assert time.monotonic() - started < 0.5
    thread.join()
    response = outcome["response"]
    assert response.status_code == 503 and response.json()["error"] == "Query timed out"
    assert 0.9 < outcome["seconds"] < 3
    # The work really stopped: the process that ran it is gone (it ends just after answering), and a fresh
    # one took its place.
    deadline = time.monotonic() + 2
    while all(_alive(pid) for pid in workers_before) and time.monotonic() < deadline:
        time.sleep(0.01)
    dead = [pid for pid in workers_before if not _alive(pid)]
    assert len(dead) == 1
    deadline = time.monotonic() + 10
    while len(server.workers() - workers_before) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(server.workers()) == 2 and len(server.workers() & workers_before) == 1
    assert requests.get(f"{url}/sparql", params={"query": "ASK {}"}, timeout=10).status_code == 200


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child stays a zombie until reaped; count that as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_oversize_body_gets_413_before_it_is_sent(live):
    url, _ = live
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                           b"Content-Length: 50000000\r\n\r\nSELECT")
        answer = connection.recv(4096)  # we never send the other 49 999 994 bytes
    assert answer.startswith(b"HTTP/1.1 413")
    assert requests.get(f"{url}/sparql", params={"query": "ASK {}"}, timeout=10).status_code == 200
