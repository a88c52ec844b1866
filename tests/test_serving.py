"""The serving design: published snapshots, the single writer, and `coprokg serve`'s worker processes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time

import pyoxigraph as ox
import pytest
import requests

from kg.config import ROOT, Settings
from kg.errors import UpdateSyntaxError
from server.runtime.snapshots import Follower, Publisher, snapshot_directory
from kg.store import EmbeddedStore
from server.runtime.served_store import open_served_store
from server.runtime.watchdog import EXIT_QUERY_TIMEOUT, Watchdog
from tests.endpoint_support import TOKEN, ProductionServer, free_port, load_update
from tests.test_security import RUNAWAY

AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUAD = ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/p"), ox.Literal("上海", language="zh"),
               ox.NamedNode("http://example.org/g"))
RUNAWAY_NAMED_QUERY = f"""#+ summary: Counts a cartesian product (a test of the timeout)
#+ summary_zh: 计数笛卡尔积（超时测试）
#+ description: Runs far longer than any timeout here.
#+ description_zh: 运行时间远超此处的任何超时。
{RUNAWAY}
"""


# --- snapshots and the writer, in one process --------------------------------------------------------------


def test_readers_follow_new_snapshots_and_the_writer_keeps_those_still_open(tmp_path):
    store = ox.Store(str(tmp_path / "store"))
    publisher = Publisher(snapshot_directory(tmp_path / "store"))
    publisher.publish(store, "g1")
    follower = Follower(publisher.directory)
    assert len(follower.store()) == 0 and follower.generation == "g1"
    store.add(QUAD)
    publisher.publish(store, "g2")
    assert (publisher.directory / "g1").is_dir()  # the follower still has it open
    assert len(follower.store()) == 1 and follower.generation == "g2"
    store.remove(QUAD)
    publisher.publish(store, "g3")
    assert not (publisher.directory / "g1").exists()  # let go of, so deleted
    assert (publisher.directory / "g2").is_dir()
    assert len(follower.store()) == 0 and follower.generation == "g3"
    follower.close()
    publisher.collect()
    assert sorted(p.name for p in publisher.directory.iterdir()) == ["CURRENT", "counter", "g3", "g3.lock"]
    publisher.close()
    assert not publisher.directory.exists()


def test_served_store_reads_its_writes_and_a_failed_write_changes_nothing(tmp_path):
    store = open_served_store(Settings(store=str(tmp_path / "store")))
    try:
        first = store.version
        store.update('INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/a> <http://example.org/p> "上海"@zh } }')
        assert store.version != first and set(store.quads()) == {QUAD}
        written = store.version
        with pytest.raises(UpdateSyntaxError):
            store.update("DELETE WHERE { ?s ?p ?o } ; INSERT DATA { <broken")
        assert store.version == written and set(store.quads()) == {QUAD}
        blank = ox.Quad(ox.BlankNode("kept"), ox.NamedNode("http://example.org/p"), ox.Literal("1"),
                        ox.NamedNode("http://example.org/g"))
        store.restore([blank])
        assert list(store.quads()) == [blank]  # the blank node's label survives the trip to the writer
    finally:
        store.close()
    assert not snapshot_directory(tmp_path / "store").exists()


# --- the watchdog, with the process's end observed instead of done ------------------------------------------


def _watched(app, ended: list, connection: socket.socket | None = None) -> Watchdog:
    def end(code: int) -> None:
        ended.append(code)
        threading.Event().wait()  # the process would be gone: the watchdog thread does nothing more

    # uWSGI gives the request's socket as a file descriptor (uwsgi.connection_fd); a socketpair stands in.
    return Watchdog(app, Settings(query_timeout=0.2), exit=end,
                    connection_fd=lambda: None if connection is None else connection.fileno())


def test_watchdog_answers_503_on_the_socket_then_ends_the_process():
    ended: list = []
    server_side, client_side = socket.socketpair()

    def slow_query_app(environ, start_response):
        watchdog.arm(0.2)
        time.sleep(0.6)  # the query, still running at its deadline
        start_response("200 OK", [])
        return [b"too late"]

    watchdog = _watched(slow_query_app, ended, server_side)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/sparql",
               "HTTP_ORIGIN": "https://example.org"}
    started = time.monotonic()
    watchdog(environ, lambda status, headers: None)
    answer = client_side.recv(65536).decode()
    assert ended == [EXIT_QUERY_TIMEOUT] and 0.2 <= time.monotonic() - started
    head, body = answer.split("\r\n\r\n")
    assert head.startswith("HTTP/1.1 503") and "Connection: close" in head
    assert "Access-Control-Allow-Origin: *" in head
    assert json.loads(body) == {"error": "Query timed out",
                                "detail": "the query ran longer than the 0.2 s limit and was stopped"}
    server_side.close()
    client_side.close()


def test_watchdog_never_writes_into_an_answer_that_has_begun():
    ended: list = []
    server_side, client_side = socket.socketpair()

    def streaming_app(environ, start_response):
        watchdog.arm(0.2)
        start_response("200 OK", [])

        def chunks():
            yield b"first"
            time.sleep(0.6)  # still computing the rest at the deadline
            yield b"rest"

        return chunks()

    watchdog = _watched(streaming_app, ended, server_side)
    body = watchdog({}, lambda status, headers: None)
    assert list(body) == [b"first", b"rest"]
    body.close()
    assert ended == [EXIT_QUERY_TIMEOUT]
    client_side.setblocking(False)
    with pytest.raises(BlockingIOError):
        client_side.recv(1)  # nothing was written after the answer began; the process just ends
    server_side.close()
    client_side.close()


def test_a_query_that_finishes_in_time_is_left_alone():
    ended: list = []

    def quick_app(environ, start_response):
        armed = watchdog.arm(0.2)
        watchdog.disarm()
        start_response("200 OK", [])
        return [b"ok" if armed else b"not armed"]

    watchdog = _watched(quick_app, ended)
    body = watchdog({}, lambda status, headers: None)
    assert list(body) == [b"ok"]
    body.close()
    time.sleep(0.4)
    assert ended == []


# --- `coprokg serve`: worker processes, the writer process, the watchdog ------------------------------------


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """`coprokg serve` with two workers, a 1 s timeout and a named query that runs away."""
    directory = tmp_path_factory.mktemp("serving")
    queries = directory / "queries"
    queries.mkdir()
    (queries / "runaway.rq").write_text(RUNAWAY_NAMED_QUERY, encoding="utf-8")
    server = ProductionServer(directory / "store", COPROKG_TOKEN=TOKEN, COPROKG_WORKERS="2",
                              COPROKG_QUERY_TIMEOUT="1", COPROKG_QUERIES=str(queries))
    assert requests.post(f"{server.url}/sparql", data={"update": load_update()}, headers=AUTH).status_code == 204
    yield server
    server.stop()


def _ask(url: str, query: str) -> bool:
    r = requests.get(f"{url}/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"},
                     timeout=10)
    assert r.status_code == 200
    return r.json()["boolean"]


def test_every_worker_reads_a_write_as_soon_as_it_is_answered(production):
    url = production.url
    for i in range(8):
        update = f"INSERT DATA {{ GRAPH <http://example.org/g> {{ <http://example.org/s{i}> <http://example.org/p> {i} }} }}"
        assert requests.post(f"{url}/sparql", data={"update": update}, headers=AUTH, timeout=10).status_code == 204
        # Four reads at once, so both workers answer some of them.
        answers = []
        question = f"ASK {{ <http://example.org/s{i}> ?p {i} }}"
        readers = [threading.Thread(target=lambda q=question, out=answers: out.append(_ask(url, q))) for _ in range(4)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        assert answers == [True] * 4
    answered_by = set(re.findall(r"\[(\d+)\] coprokg\.access \S+ \"GET /sparql\?<", production.output))
    assert len(answered_by) == 2


def test_a_malformed_write_is_refused_by_the_writer_and_changes_nothing(production):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    before = requests.get(f"{production.url}/sparql", params={"query": count}).json()
    update = "DELETE WHERE { ?s ?p ?o } ; INSERT DATA { <broken"
    r = requests.post(f"{production.url}/sparql", data={"update": update}, headers=AUTH)
    assert r.status_code == 400 and r.json()["error"] == "Malformed SPARQL update"
    assert requests.get(f"{production.url}/sparql", params={"query": count}).json() == before


def test_a_runaway_named_query_ends_its_worker_at_the_timeout(production):
    workers = production.workers()
    started = time.monotonic()
    r = requests.get(f"{production.url}/api/queries/runaway", timeout=30)
    assert r.status_code == 503 and r.json()["error"] == "Query timed out"
    assert 0.9 < time.monotonic() - started < 3
    deadline = time.monotonic() + 10
    while len(production.workers() - workers) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(production.workers()) == 2 and len(production.workers() & workers) == 1
    assert _ask(production.url, "ASK { ?s ?p ?o }")


def test_serve_stops_with_a_clear_message_when_the_store_is_in_use(tmp_path):
    holder = EmbeddedStore(tmp_path / "store")  # another process (here: the test) has it open read-write
    env = {**os.environ, "COPROKG_STORE": str(tmp_path / "store"), "COPROKG_PORT": str(free_port())}
    try:
        result = subprocess.run([str(ROOT / ".venv" / "bin" / "coprokg"), "serve"], env=env, capture_output=True,
                                text=True, timeout=60)
    finally:
        holder.close()
    assert result.returncode == 1 and "cannot open the store" in result.stderr and "Traceback" not in result.stderr
