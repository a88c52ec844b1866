"""The HTTP edge of `coprokg serve` (nginx, server/runtime/edge.py), tried over real sockets.

Connections are kept alive; slow, idle and malformed clients are dealt with by the edge without taking
a worker from anyone else; chunked bodies are decoded by the edge and malformed framing is refused with
nothing written; answers without a length are chunked so a cut-off answer can be told from a complete one.
"""

from __future__ import annotations

import csv
import http.client
import io
import socket
import threading
import time

import pytest
import requests

from tests.endpoint_support import TOKEN, ProductionServer

AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "http://example.org/framing"
UPLOAD_LIMIT = 100_000
IDLE_TIMEOUT_S = 3
HEADER_TIMEOUT_S = 2
LINE = b'<http://example.org/s> <http://example.org/p> "one line" .\n'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`coprokg serve` with writes on, a small upload limit and short client timeouts."""
    directory = tmp_path_factory.mktemp("edge")
    server = ProductionServer(directory / "store", COPROKG_TOKEN=TOKEN, COPROKG_WORKERS="2",
                              COPROKG_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT),
                              COPROKG_IDLE_TIMEOUT=str(IDLE_TIMEOUT_S), COPROKG_HEADER_TIMEOUT=str(HEADER_TIMEOUT_S))
    yield server
    server.stop()


def _raw(port: int, request: bytes, close_write: bool = False) -> bytes:
    """Send bytes as they are, then read until the server closes (malformed requests end the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        if close_write:
            connection.shutdown(socket.SHUT_WR)
        answer = b""
        while data := connection.recv(65536):
            answer += data
    return answer


def _chunked(*parts: bytes, terminated: bool = True) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + (b"0\r\n\r\n" if terminated else b"")


def _put_head(extra: str = "") -> bytes:
    return (f"PUT /store?graph={GRAPH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/n-triples\r\nConnection: close\r\n{extra}\r\n").encode()


def _graph(server, graph: str) -> tuple[int, str]:
    r = requests.get(f"{server.url}/store", params={"graph": graph}, headers={"Accept": "application/n-triples"},
                     timeout=10)
    return r.status_code, r.text


def test_one_connection_serves_every_endpoint_in_turn(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.connect()
    first_socket = connection.sock
    update = f"INSERT DATA {{ GRAPH <{GRAPH}/kept> {{ <http://example.org/k> <http://example.org/p> 1 }} }}"
    requests_made = [
        ("GET", "/sparql?query=ASK%7B%7D", None, {"Accept": "application/sparql-results+json"}),
        ("POST", "/sparql", update, {**AUTH, "Content-Type": "application/sparql-update"}),
        ("GET", f"/store?graph={GRAPH}/kept", None, {"Accept": "application/n-triples"}),
        ("GET", "/api/queries", None, {"Accept": "application/json"}),
        ("GET", "/", None, {"Accept": "text/html"}),
        ("GET", "/ontology", None, {"Accept": "text/turtle"}),
        ("HEAD", "/healthz", None, {}),
        ("GET", "/no-such-page", None, {}),
    ]
    for method, path, body, headers in requests_made:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status < 500, (method, path, response.status)
        assert not response.will_close and response.getheader("Connection", "").lower() != "close", (method, path)
        assert connection.sock is first_socket, f"{method} {path} needed a new connection"
    connection.close()


def test_an_idle_connection_is_closed_after_the_idle_timeout(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/healthz")
    connection.getresponse().read()
    started = time.monotonic()
    assert connection.sock.recv(1) == b""  # the server closed it
    assert IDLE_TIMEOUT_S - 1 <= time.monotonic() - started <= IDLE_TIMEOUT_S + 5


def test_a_client_that_never_finishes_its_headers_is_cut_off(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = b""
        try:
            while data := connection.recv(4096):
                answer += data
        except ConnectionResetError:
            pass  # the edge resets a connection it timed out, freeing its memory at once
        assert time.monotonic() - started <= HEADER_TIMEOUT_S + 5
    assert b"200" not in answer.split(b"\r\n", 1)[0]


def test_a_chunked_upload_and_a_chunked_update_are_read_whole(server):
    lines = [f'<http://example.org/s{i}> <http://example.org/p> "第{i}行" .\n'.encode() for i in range(50)]
    chunks = iter([b"".join(lines[:20]), b"".join(lines[20:])])  # requests sends a generator chunked
    r = requests.put(f"{server.url}/store", params={"graph": GRAPH}, data=chunks, timeout=10,
                     headers={**AUTH, "Content-Type": "application/n-triples"})
    assert r.status_code == 201
    status, text = _graph(server, GRAPH)
    assert status == 200 and len(text.splitlines()) == 50 and "第49行" in text
    update = f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <http://example.org/t> <http://example.org/p> "chunked" }} }}'
    r = requests.post(f"{server.url}/sparql", data=iter([update[:30].encode(), update[30:].encode()]), timeout=10,
                      headers={**AUTH, "Content-Type": "application/sparql-update"})
    assert r.status_code == 204
    assert '"chunked"' in _graph(server, GRAPH)[1]


def test_chunk_extensions_are_valid_and_read(server):
    graph = f"{GRAPH}/extensions"
    request = _put_head("Transfer-Encoding: chunked\r\n").replace(GRAPH.encode(), graph.encode(), 1)
    answer = _raw(server.port, request + b"%x;name=value\r\n%s\r\n0\r\n\r\n" % (len(LINE), LINE))
    assert answer.startswith(b"HTTP/1.1 201")
    assert '"one line"' in _graph(server, graph)[1]


MALFORMED = {
    "a chunk size that is not hex": (_put_head("Transfer-Encoding: chunked\r\n")
                                     + b"%x\r\n%s\r\nZZ\r\nabc\r\n0\r\n\r\n" % (len(LINE), LINE), 400),
    "Content-Length with Transfer-Encoding": (_put_head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")
                                              + _chunked(LINE), 400),
    "an unknown transfer coding": (_put_head("Transfer-Encoding: xchunked\r\n") + _chunked(LINE), 501),
    "a folded header": (_put_head("X-Folded: a\r\n  b\r\nContent-Length: %d\r\n" % len(LINE)) + LINE, 400),
    "NUL in a header": (_put_head("X-Nul: a\0b\r\nContent-Length: %d\r\n" % len(LINE)) + LINE, 400),
    "a header past 16 KiB": (_put_head("X-Big: %s\r\nContent-Length: %d\r\n" % ("a" * 20_000, len(LINE)))
                             + LINE, 431),
}


@pytest.mark.parametrize("what", list(MALFORMED))
def test_a_malformed_request_is_refused_with_a_problem_and_writes_nothing(server, what):
    before = _graph(server, GRAPH)
    request, status = MALFORMED[what]
    answer = _raw(server.port, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status), head
    assert b"application/json" in head and b'"detail"' in body
    assert _graph(server, GRAPH) == before


def test_a_chunked_body_cut_short_is_not_committed(server):
    before = _graph(server, GRAPH)
    line = b'<http://example.org/partial> <http://example.org/p> "partial" .\n'
    answer = _raw(server.port, _put_head("Transfer-Encoding: chunked\r\n") + _chunked(line, terminated=False),
                  close_write=True)
    assert not answer.startswith(b"HTTP/1.1 2")
    assert _graph(server, GRAPH) == before


def test_a_chunked_body_over_the_limit_gets_413_and_changes_nothing(server):
    before = _graph(server, GRAPH)
    line = b'<http://example.org/big> <http://example.org/p> "' + b"x" * 1000 + b'" .\n'
    r = requests.put(f"{server.url}/store", params={"graph": GRAPH}, data=iter([line] * 150), timeout=10,
                     headers={**AUTH, "Content-Type": "application/n-triples"})
    assert r.status_code == 413 and r.json()["error"] == "Request body too large"
    assert str(UPLOAD_LIMIT) in r.json()["detail"]
    assert _graph(server, GRAPH) == before


def test_an_answer_without_a_length_is_chunked_and_complete(server):
    # 1,000,000 rows of CSV (about 9 MB) is past the size answered whole, so it streams.
    numbers = " ".join(str(i) for i in range(100))
    query = f"SELECT ?a ?b ?c WHERE {{ VALUES ?a {{ {numbers} }} VALUES ?b {{ {numbers} }} VALUES ?c {{ {numbers} }} }}"
    r = requests.post(f"{server.url}/sparql", data={"query": query}, headers={"Accept": "text/csv"}, timeout=60)
    assert r.status_code == 200 and r.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in r.headers
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["a", "b", "c"] and len(rows) == 1 + 100 ** 3
    assert len({tuple(row) for row in rows[1:]}) == 100 ** 3  # every combination, once


def test_a_query_string_too_long_for_a_url_gets_414_and_the_same_query_by_post_answers(server):
    query = "SELECT * WHERE { ?s ?p ?o FILTER(?o != \"" + "x" * 20_000 + "\") } LIMIT 1"
    r = requests.get(f"{server.url}/sparql", params={"query": query}, timeout=10,
                     headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 414 and "send the query by POST" in r.json()["detail"]
    r = requests.post(f"{server.url}/sparql", data={"query": query}, timeout=10,
                      headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200


def _trickle(port: int, opening: bytes, drip: bytes, stop: threading.Event, opened: list) -> None:
    """Open a connection, send `opening`, then one `drip` a second until told to stop."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            opened.append(connection)
            connection.sendall(opening)
            while not stop.wait(1.0):
                connection.sendall(drip)
    except OSError:
        pass  # the edge cut it off: that is allowed


@pytest.mark.parametrize("kind", ["headers", "bodies"])
def test_a_hundred_trickling_clients_do_not_delay_anyone_else(server, kind):
    """With two workers, 100 connections sending a byte of headers (or of a body) a second hold no worker."""
    if kind == "headers":
        opening, drip = b"GET /sparql HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n"
    else:
        # Anonymous, as an attacker would be: a query must be read whole before it can be refused.
        opening = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                   b"Content-Length: 100000\r\n\r\n")
        drip = b"x"
    stop, opened = threading.Event(), []
    tricklers = [threading.Thread(target=_trickle, args=(server.port, opening, drip, stop, opened), daemon=True)
                 for _ in range(100)]
    for thread in tricklers:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(opened) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(opened) == 100
        time.sleep(1.5)  # every slow connection has begun its request
        answered = []

        def query() -> None:
            r = requests.get(f"{server.url}/sparql", params={"query": "SELECT (1 AS ?one) {}"}, timeout=5,
                             headers={"Accept": "application/sparql-results+json"})
            if r.status_code == 200 and r.json()["results"]["bindings"][0]["one"]["value"] == "1":
                answered.append(1)

        probes = [threading.Thread(target=query) for _ in range(20)]
        for thread in probes:
            thread.start()
        for thread in probes:
            thread.join(timeout=30)
        assert len(answered) == 20
    finally:
        stop.set()
        for thread in tricklers:
            thread.join(timeout=5)
