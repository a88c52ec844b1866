"""What `coprokg serve` does at the HTTP level that uWSGI's http-socket leaves to it (server/worker.py).

Chunked request bodies are decoded (and refused when cut short or too large), answers without a length
are sent chunked so a cut-off answer can be told from a complete one, every answer says the connection
closes, and a query string too long for the server's buffer is refused instead of silently dropped.
"""

from __future__ import annotations

import csv
import io
import socket

import pytest
import requests

from tests.endpoint_support import TOKEN, ProductionServer

AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "http://example.org/framing"
UPLOAD_LIMIT = 100_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`coprokg serve` with writes on and a small upload limit."""
    directory = tmp_path_factory.mktemp("framing")
    server = ProductionServer(directory / "store", COPROKG_TOKEN=TOKEN, COPROKG_WORKERS="2",
                              COPROKG_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT))
    yield server
    server.stop()


def _raw(port: int, request: bytes, close_write: bool = False) -> bytes:
    """Send bytes as they are, then read the whole answer (the server closes after it)."""
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


def _graph(server, graph: str) -> tuple[int, str]:
    r = requests.get(f"{server.url}/store", params={"graph": graph}, headers={"Accept": "application/n-triples"},
                     timeout=10)
    return r.status_code, r.text


def test_a_chunked_upload_and_a_chunked_update_are_read_whole(server):
    lines = [f'<http://example.org/s{i}> <http://example.org/p> "第{i}行" .\n'.encode() for i in range(50)]
    chunks = iter([b"".join(lines[:20]), b"".join(lines[20:])])  # requests sends a generator chunked
    r = requests.put(f"{server.url}/store", params={"graph": GRAPH}, data=chunks, timeout=10,
                     headers={**AUTH, "Content-Type": "application/n-triples"})
    assert r.status_code == 201 and r.headers["Connection"] == "close"
    status, text = _graph(server, GRAPH)
    assert status == 200 and len(text.splitlines()) == 50 and "第49行" in text
    update = f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <http://example.org/t> <http://example.org/p> "chunked" }} }}'
    r = requests.post(f"{server.url}/sparql", data=iter([update[:30].encode(), update[30:].encode()]), timeout=10,
                      headers={**AUTH, "Content-Type": "application/sparql-update"})
    assert r.status_code == 204
    assert '"chunked"' in _graph(server, GRAPH)[1]


def test_a_chunked_body_cut_short_is_refused_and_changes_nothing(server):
    before = _graph(server, GRAPH)
    line = b'<http://example.org/partial> <http://example.org/p> "partial" .\n'
    head = (f"PUT /store?graph={GRAPH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/n-triples\r\n\r\n").encode()
    answer = _raw(server.port, head + _chunked(line, terminated=False), close_write=True)
    assert answer.startswith(b"HTTP/1.1 400") and b"the chunked request body could not be read" in answer
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


def test_a_query_string_too_long_for_the_buffer_gets_414_not_the_service_description(server):
    query = "SELECT * WHERE { ?s ?p ?o FILTER(?o != \"" + "x" * 40_000 + "\") } LIMIT 1"
    r = requests.get(f"{server.url}/sparql", params={"query": query}, timeout=10,
                     headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 414 and "send the query by POST" in r.json()["detail"]
    r = requests.post(f"{server.url}/sparql", data={"query": query}, timeout=10,
                      headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200
