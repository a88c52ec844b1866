"""Crash safety: SIGKILL in the middle of a load, a restore, a SPARQL Update and a Graph Store PUT.

Each killed write must be wholly there or wholly absent afterwards, and everything committed before it
must be intact (compared quad by quad). The kills land at fractions of a measured uninterrupted run, so
they fall in the middle of the work; which side of the commit each one fell on is recorded, not assumed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from bench.yaml_cases import write_yaml_cases
from kg.config import Settings
from kg.load import build_store
from bench.synthetic import write_nquads
from tests.endpoint_support import free_port

COPROKG = str(Path(sys.executable).parent / "coprokg")
TOKEN = "crash-test-token-0123456789abcdef"
EXAMPLE = "http://example.org/crash/"
PUT_TRIPLES = 20_000
_BLANK = re.compile(r"_:[A-Za-z0-9]+")
_IMPORT_TIME = re.compile(r'(generatedAtTime> )"[^"]*"')


def comparable(quads) -> Counter:
    """Quads as text comparable across runs: blank node labels and import times blanked."""
    return Counter(_IMPORT_TIME.sub(r'\1"T"', _BLANK.sub("_:b", str(q))) for q in quads)


def dataset(path: Path) -> Counter:
    """Every quad of the store at `path` (opened, read and closed), comparable across runs."""
    deadline = time.monotonic() + 10
    while True:
        try:
            store = ox.Store(str(path))
            break
        except OSError:
            # A killed process's last threads may still be tearing down (and hold the lock) for a moment.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    try:
        return comparable(store)
    finally:
        del store


def without_graph(quads: Counter, graph: str) -> Counter:
    return Counter({q: n for q, n in quads.items() if not q.endswith(f"<{graph}>")})


def only_graph(quads: Counter, graph: str) -> Counter:
    return Counter({q: n for q, n in quads.items() if q.endswith(f"<{graph}>")})


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything it started (the writer, gunicorn's workers)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def run_cli(*args: str) -> float:
    """Run `coprokg ARGS` to completion; return how long it took."""
    started = time.monotonic()
    subprocess.run([COPROKG, *args], check=True, capture_output=True, timeout=120)
    return time.monotonic() - started


def kill_cli_after(delay: float, *args: str) -> bool:
    """Start `coprokg ARGS`, SIGKILL it after `delay` seconds; tell whether it had already finished."""
    process = subprocess.Popen([COPROKG, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    time.sleep(delay)
    finished = process.poll() is not None
    kill_group(process)
    return finished


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A closed store as `coprokg build` makes it (ontology, shipped cases, inferences); copy it, never write it."""
    path = tmp_path_factory.mktemp("crash-base") / "store"
    store, _ = build_store(Settings(store=str(path)))
    store.close()
    return path


def copy_of(base: Path, directory: Path) -> Path:
    target = directory / "store"
    shutil.copytree(base, target)
    return target


# --- the command line: coprokg load and coprokg restore ----------------------------------------------


def test_killed_load_leaves_the_old_cases_or_all_the_new_ones(base, tmp_path):
    cases = write_yaml_cases(tmp_path / "cases", 40, seed=7)
    before = dataset(base)
    reference = copy_of(base, tmp_path / "reference")
    duration = run_cli("load", str(cases), "--store", str(reference))
    after = dataset(reference)
    assert after != before and sum(after.values()) > sum(before.values()) + 3000
    outcomes = []
    for fraction in (0.45, 0.7):
        victim = copy_of(base, tmp_path / f"victim-{fraction}")
        finished = kill_cli_after(duration * fraction, "load", str(cases), "--store", str(victim))
        state = dataset(victim)
        assert state in (before, after), f"killed at {fraction:.0%} of the load: a partial write"
        outcomes.append((fraction, finished, "new" if state == after else "old"))
    print("load kills (fraction, had finished, state):", outcomes)


def test_killed_restore_leaves_the_old_dataset_or_the_whole_dump(base, tmp_path):
    dump = tmp_path / "dump.nq"
    write_nquads(dump, 300, seed=3)  # synthetic, illustrative cases only
    before = dataset(base)
    reference = copy_of(base, tmp_path / "reference")
    duration = run_cli("restore", str(dump), "--store", str(reference))
    after = dataset(reference)
    expected = comparable(ox.parse(path=str(dump), format=ox.RdfFormat.N_QUADS))
    assert after == expected and after != before
    outcomes = []
    for fraction in (0.6, 0.9):
        victim = copy_of(base, tmp_path / f"victim-{fraction}")
        kill_cli_after(duration * fraction, "restore", str(dump), "--store", str(victim))
        state = dataset(victim)
        assert state in (before, after), f"killed at {fraction:.0%} of the restore: the store is neither old nor new"
        outcomes.append((fraction, "new" if state == after else "old"))
    # The next restore cleans up what a killed one left beside the store.
    run_cli("restore", str(dump), "--store", str(victim))
    assert dataset(victim) == after
    assert not list(victim.parent.glob(".store.restore-*"))
    print("restore kills (fraction, state):", outcomes)


# --- the server: a SPARQL Update and a Graph Store PUT ---------------------------------------------------


class Server:
    """`coprokg serve` (gunicorn, query worker processes) in its own process group on a free loopback port."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.url = ""
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        port = free_port()
        env = dict(os.environ, COPROKG_STORE=str(self.store), COPROKG_PORT=str(port), COPROKG_TOKEN=TOKEN,
                   COPROKG_WORKERS="1", COPROKG_WRITE_RATE="1000")
        self.process = subprocess.Popen([COPROKG, "serve"], env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("coprokg serve did not start")

    def kill(self) -> None:
        kill_group(self.process)

    def write(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)


def ntriples(n: int, tag: str) -> bytes:
    return "".join(f'<{EXAMPLE}{tag}/s{i}> <{EXAMPLE}p> "{tag} value {i}" .\n' for i in range(n)).encode()


def kill_during(server: Server, delay: float, send) -> str:
    """Send a write in a thread and SIGKILL the server `delay` seconds in; return what the client saw."""
    seen: dict[str, str] = {}

    def client():
        try:
            seen["answer"] = str(send().status_code)
        except requests.RequestException:
            seen["answer"] = "no answer"

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(delay)
    server.kill()
    thread.join(timeout=30)
    return seen["answer"]


def test_killed_server_keeps_each_write_whole_and_earlier_writes_intact(base, tmp_path):
    store = copy_of(base, tmp_path)
    server = Server(store)
    put_graph, update_graph = f"{EXAMPLE}put", f"{EXAMPLE}copy"
    body = ntriples(PUT_TRIPLES, "put")
    nt = {"Content-Type": "application/n-triples"}

    def copy_update(target: str) -> str:  # a large update: copy the committed graph into another
        return f"INSERT {{ GRAPH <{target}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{EXAMPLE}committed> {{ ?s ?p ?o }} }}"

    try:
        # Committed before any crash, and timed: one PUT and one update, run to the end.
        server.start()
        started = time.monotonic()
        assert server.write("PUT", "/store", params={"graph": f"{EXAMPLE}committed"}, data=body, headers=nt
                            ).status_code == 201
        put_seconds = time.monotonic() - started
        started = time.monotonic()
        assert server.write("POST", "/sparql", data={"update": copy_update(f"{EXAMPLE}timing")}).status_code == 204
        update_seconds = time.monotonic() - started
        server.kill()
        committed = dataset(store)

        server.start()
        answer = kill_during(server, put_seconds * 0.6, lambda: server.write(
            "PUT", "/store", params={"graph": put_graph}, data=body, headers=nt))
        state = dataset(store)
        assert answer == "no answer"
        assert without_graph(state, put_graph) == committed
        assert sum(only_graph(state, put_graph).values()) in (0, PUT_TRIPLES), "the PUT is half there"

        server.start()
        answer = kill_during(server, update_seconds * 0.5, lambda: server.write(
            "POST", "/sparql", data={"update": copy_update(update_graph)}))
        after = dataset(store)
        assert answer == "no answer"
        assert without_graph(after, update_graph) == state
        assert sum(only_graph(after, update_graph).values()) in (0, PUT_TRIPLES), "the update is half there"

        # Restarted on the same directory, the server answers from the surviving data.
        server.start()
        count = requests.get(f"{server.url}/sparql", timeout=30, params={
            "query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{EXAMPLE}committed> {{ ?s ?p ?o }} }}"}).json()
        assert int(count["results"]["bindings"][0]["n"]["value"]) == PUT_TRIPLES
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill()


# --- backups: coprokg dump while the server is serving -------------------------------------------------------


def test_dump_while_serving_is_a_consistent_snapshot(tmp_path):
    """Each update adds an item and sets the counter to the number of items; every dump must agree with itself."""
    from tests.endpoint_support import ProductionServer

    path = tmp_path / "store"
    ox.Store(str(path)).add(ox.Quad(ox.NamedNode(f"{EXAMPLE}counter"), ox.NamedNode(f"{EXAMPLE}value"),
                                    ox.Literal("0", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
                                    ox.NamedNode(f"{EXAMPLE}g")))
    server = ProductionServer(path, COPROKG_TOKEN=TOKEN, COPROKG_WORKERS="2", COPROKG_WRITE_RATE="100000")
    step = (f"DELETE {{ GRAPH <{EXAMPLE}g> {{ <{EXAMPLE}counter> <{EXAMPLE}value> ?n }} }} "
            f"INSERT {{ GRAPH <{EXAMPLE}g> {{ <{EXAMPLE}counter> <{EXAMPLE}value> ?next . ?item a <{EXAMPLE}Item> }} }} "
            f"WHERE {{ GRAPH <{EXAMPLE}g> {{ <{EXAMPLE}counter> <{EXAMPLE}value> ?n }} "
            f"BIND(?n + 1 AS ?next) BIND(IRI(CONCAT(\"{EXAMPLE}item/\", STR(?next))) AS ?item) }}")
    stop = threading.Event()
    written = []

    def writer():
        with requests.Session() as session:
            while not stop.is_set():
                answer = session.post(f"{server.url}/sparql", data={"update": step}, timeout=30,
                                      headers={"Authorization": f"Bearer {TOKEN}"})
                written.append(answer.status_code)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        env = dict(os.environ, COPROKG_STORE=str(path), COPROKG_PORT=str(server.port))
        seen = []
        for n in range(3):
            time.sleep(0.3)
            output = tmp_path / f"backup-{n}.nq"
            done = subprocess.run([COPROKG, "dump", str(output)], env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            assert "dumping through the server" in done.stderr
            quads = list(ox.parse(path=str(output), format=ox.RdfFormat.N_QUADS))
            items = sum(1 for q in quads if q.object == ox.NamedNode(f"{EXAMPLE}Item"))
            counter = [int(q.object.value) for q in quads if q.predicate == ox.NamedNode(f"{EXAMPLE}value")]
            assert counter == [items], f"dump {n}: counter {counter} but {items} items: not one snapshot"
            seen.append(items)
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()
    assert set(written) == {204} and seen == sorted(seen) and seen[-1] > seen[0] > 0, (seen, len(written))
    assert not list(tmp_path.glob("*.partial"))
