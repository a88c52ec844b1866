"""A remote store that misbehaves (issue 18 finding 7), behind the production server (`coprokg serve`).

The remote is a small HTTP server in this file that can trickle its answer a byte at a time, stall its
headers, redirect to another origin or fail with internals in its body. Whatever it does, the service
must answer within the query timeout, free its worker, follow no redirect and tell an anonymous client
that the store behind it failed without the remote's URL or what it said.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.endpoint_support import TOKEN, Listener, ProductionServer

pytestmark = pytest.mark.remote

TIMEOUT_S = 2
TRICKLE_PAUSE_S = 0.5  # shorter than the timeout: no single read waits long enough to time out
SECRET = "db-internal.example:7200 stack trace at StoreEngine.run(/opt/store/lib.jar)"
ASK_TRUE = b'{"head":{},"boolean":true}'
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class HostileRemote(ThreadingHTTPServer):
    """A SPARQL endpoint on loopback whose behaviour at `path` the test chooses (`mode`); elsewhere it
    answers properly. Every request is recorded."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.path = "/query"
        self.redirect_to = ""
        self.requests: list[str] = []
        self.stopping = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_port}"
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: HostileRemote

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(self.path)
        mode = self.server.mode if self.path == self.server.path else "ok"
        getattr(self, f"_{mode.replace('-', '_')}")()

    def _trickle(self, data: bytes) -> None:
        """Send `data` a byte at a time, then keep going with spaces until the client leaves (or 60 s)."""
        deadline = time.monotonic() + 60
        data = iter(data)
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            self.wfile.write(bytes([next(data, 0x20)]))
            self.wfile.flush()
            time.sleep(TRICKLE_PAUSE_S)

    def _ok(self) -> None:
        self._send(200, ASK_TRUE, "application/sparql-results+json")

    def _trickle_body(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self._trickle(b'{"head":{},')

    def _trickle_headers(self) -> None:
        self._trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ")

    def _redirect(self) -> None:
        self.send_response(307)
        self.send_header("Location", self.server.redirect_to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _fail(self) -> None:
        self._send(500, f"Internal Server Error: {SECRET}".encode(), "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def remote():
    server = HostileRemote()
    yield server
    server.close()


@pytest.fixture(scope="module")
def served(remote, tmp_path_factory):
    """`coprokg serve` with one worker over the hostile remote, so a held worker would hold the service."""
    remote.mode = "ok"
    server = ProductionServer(tmp_path_factory.mktemp("hostile-remote") / "unused",
                              COPROKG_STORE=f"sparql:{remote.url}/query,{remote.url}/update",
                              COPROKG_WORKERS="1", COPROKG_QUERY_TIMEOUT=str(TIMEOUT_S), COPROKG_TOKEN=TOKEN)
    yield server
    server.stop()


@pytest.fixture
def mode(remote):
    """Set the remote's behaviour for one test, at the path `kind` of request goes to; it answers properly
    again afterwards."""
    def choose(name: str, kind: str) -> None:
        remote.mode = name
        remote.path = "/query" if kind == "query" else "/update"
        remote.requests.clear()
    yield choose
    remote.mode = "ok"


def _send(served, kind: str) -> requests.Response:
    if kind == "query":
        return requests.post(f"{served.url}/sparql", data={"query": "ASK { ?s ?p ?o }"}, timeout=30)
    if kind == "update":
        return requests.post(f"{served.url}/sparql", data={"update": 'INSERT DATA { <http://e/a> <http://e/b> "1" }'},
                             headers=AUTH, timeout=30)
    return requests.put(f"{served.url}/store", params={"graph": "http://e/g"}, data=b'<http://e/a> <http://e/b> "1" .\n',
                        headers={**AUTH, "Content-Type": "application/n-triples"}, timeout=30)


def _still_answers(served, remote) -> None:
    """The one worker is free again: a proper query is answered at once."""
    remote.mode = "ok"
    started = time.monotonic()
    response = _send(served, "query")
    assert response.status_code == 200 and response.json()["boolean"] is True
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("kind,behaviour", [
    ("query", "trickle-body"), ("query", "trickle-headers"),
    # A write is done once its status arrives (its body is never read), so only its headers can stall it.
    ("update", "trickle-headers"), ("graph-store", "trickle-headers"),
])
def test_a_trickling_remote_is_cut_off_at_the_query_timeout(served, remote, mode, kind, behaviour):
    mode(behaviour, kind)
    started = time.monotonic()
    response = _send(served, kind)
    elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["error"] == "Remote store timed out"
    assert f"within the {TIMEOUT_S} s query time limit" in body["detail"]
    if kind != "query":  # a write that was cut off may still be applied there: said, not hidden
        assert "may or may not have been applied" in body["detail"]
    assert remote.url not in body["detail"]
    assert TIMEOUT_S - 0.2 < elapsed < TIMEOUT_S + 2
    _still_answers(served, remote)


@pytest.mark.parametrize("kind", ["query", "update", "graph-store"])
def test_a_redirect_to_another_origin_is_never_followed(served, remote, mode, kind):
    elsewhere = Listener(answer=True)
    try:
        remote.redirect_to = elsewhere.url
        mode("redirect", kind)
        response = _send(served, kind)
        assert response.status_code == 502, response.text
        assert response.json() == {"error": "Remote store failed", "detail":
                                   "the store behind this service failed: it answered with a redirect "
                                   "(HTTP 307), which this service does not follow"}
        assert remote.requests.count(remote.path) == 1
        time.sleep(0.05)
        assert elsewhere.connections == []
    finally:
        elsewhere.close()
    # The operator reads where it pointed, in the server's log.
    assert f"redirecting to {elsewhere.url}" in served.output


@pytest.mark.parametrize("kind", ["query", "update", "graph-store"])
def test_a_failing_remote_is_a_502_without_its_url_or_body(served, remote, mode, kind):
    mode("fail", kind)
    response = _send(served, kind)
    assert response.status_code == 502
    assert response.json() == {"error": "Remote store failed",
                               "detail": "the store behind this service failed: it answered HTTP 500"}
    assert SECRET not in response.text and remote.url not in response.text and "127.0.0.1" not in response.text
    # Logged for the operator: which store, and what it said.
    assert SECRET in served.output and f"{remote.url}/" in served.output
    remote.path = "/query"  # where /healthz asks
    health = requests.get(f"{served.url}/healthz", timeout=10)
    assert health.status_code == 503 and SECRET not in health.text and remote.url not in health.text
