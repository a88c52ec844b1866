"""Helpers for the endpoint tests: test data, live servers on loopback, and a listener that must stay silent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import requests

from kg.config import ROOT

DATA = Path(__file__).parent / "data"
ENDPOINT_DATA = DATA / "endpoint.trig"
OXIGRAPH = ROOT / ".venv" / "bin" / "oxigraph"
TOKEN = "test-write-token"


def endpoint_quads() -> list[ox.Quad]:
    """The illustrative endpoint test data as quads."""
    return list(ox.parse(path=str(ENDPOINT_DATA), format=ox.RdfFormat.TRIG))


def load_update() -> str:
    """An update that empties a store and writes the test data (works on any SPARQL 1.1 store)."""
    graphs: dict[str, list[ox.Triple]] = {}
    for quad in endpoint_quads():
        graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
    inserts = " ".join(f"GRAPH <{g}> {{ {ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()} }}"
                       for g, triples in graphs.items())
    return f"CLEAR ALL ; INSERT DATA {{ {inserts} }}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_oxigraph_server(directory: Path, timeout_s: int = 5) -> tuple[subprocess.Popen, str]:
    """Start `oxigraph serve` on a free loopback port; return the process and its base URL once it answers.

    Its own timeout (`timeout_s`) stops runaway queries on its side after CoproKG has given up on them.
    """
    port = free_port()
    process = subprocess.Popen(
        [str(OXIGRAPH), "serve", "--location", str(directory), "--bind", f"127.0.0.1:{port}",
         "--union-default-graph", "--timeout-s", str(timeout_s)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(f"{url}/query", params={"query": "ASK {}"}, timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("oxigraph serve did not start")


class ProductionServer:
    """`coprokg serve` (what `make serve` runs) as a subprocess on a free loopback port."""

    def __init__(self, store: Path, **variables: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "COPROKG_STORE": str(store), "COPROKG_PORT": str(self.port), **variables}
        # A file, not a pipe: a pipe nobody reads fills up and stops the server mid-test.
        self.log = store.parent / f"serve-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "coprokg"), "serve"], env=env,
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"coprokg serve did not start:\n{self.output}")

    def workers(self) -> set[int]:
        """The pids of the uWSGI worker processes (the writer and nginx, also children, left out)."""
        children = (Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split())
        return {int(pid) for pid in children
                if b"server.runtime.writer" not in _cmdline(int(pid)) and b"nginx" not in _cmdline(int(pid))}

    @property
    def output(self) -> str:
        """What the server has logged so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop it as Ctrl-C does."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uWSGI's quick shutdown
        self.process.wait(timeout=30)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# What an answering Listener replies: one empty solution, so an engine that called it carries on.
EMPTY_SOLUTION = b'{"head":{"vars":[]},"results":{"bindings":[{}]}}'


class Listener:
    """A TCP listener on loopback that records every connection made to it (it should record none).

    With `answer`, it replies as a SPARQL endpoint would (one empty solution), so a test can prove that an
    unguarded engine really calls a spelling; without, the caller waits for an answer that never comes.
    """

    def __init__(self, answer: bool = False) -> None:
        self.answer = answer
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.settimeout(0.05)
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except (TimeoutError, OSError):
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.connections.append(connection.recv(4096))
                    if self.answer:
                        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n"
                                           b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                                           % (len(EMPTY_SOLUTION), EMPTY_SOLUTION))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.socket.close()


def backend_store(request, tmp_path_factory, name: str) -> str:
    """The COPROKG_STORE value for a fixture parametrized over "embedded" and "remote" backends."""
    if request.param == "embedded":
        return str(tmp_path_factory.mktemp(name) / "store")
    url = request.getfixturevalue("oxigraph_server")
    return f"sparql:{url}/query,{url}/update"


@contextmanager
def basic_auth_front(target: str, user: str, password: str) -> Iterator[str]:
    """A small real HTTP server that asks for HTTP basic credentials, as a reverse proxy in front of a
    store would, and passes the requests it accepts on to `target` (a real `oxigraph serve`)."""
    from werkzeug.wrappers import Request, Response

    from tests.live_server import live_server

    @Request.application
    def front(request: Request) -> Response:
        given = request.authorization
        if given is None or given.type != "basic" or (given.username, given.password) != (user, password):
            return Response(status=401, headers={"WWW-Authenticate": 'Basic realm="store"'})
        answer = requests.request(request.method, f"{target}{request.path}", data=request.get_data(), timeout=30,
                                  headers={k: v for k, v in request.headers.items() if k in ("Content-Type", "Accept")})
        return Response(answer.content, status=answer.status_code, content_type=answer.headers.get("Content-Type"))

    with live_server(front) as url:
        yield url
