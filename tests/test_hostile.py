"""Hostile input: random Accept headers, and oversize, deeply nested and pathological queries.

Each must end in a clean 4xx or the query timeout, never a 500, a dropped connection or a crashed
process, and the server must keep answering other clients meanwhile. `make fuzz` runs the hypothesis
tests here with many more examples (COPROKG_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from kg.config import Settings
from kg.sparql_scan import MAX_NESTING, MAX_OPERATORS, check_external, scan
from kg.store import EmbeddedStore
from server import create_app
from server.conneg import ALIAS_TO_MEDIA_TYPE, KIND_TO_MEDIA_TYPES
from tests.endpoint_support import ProductionServer, endpoint_quads, load_update

# `make fuzz` sets COPROKG_FUZZ_EXAMPLES for a longer run.
EXAMPLES = int(os.environ.get("COPROKG_FUZZ_EXAMPLES", "150"))

SELECT = "SELECT ?s ?o WHERE { ?s ?p ?o } LIMIT 5"
ASK = "ASK { ?s ?p ?o }"
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5"
# Seven copies of the test data joined: 17**7 rows, far beyond any timeout.
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r . ?s ?t ?u }"
SIMPLE = 'ASK { ?s ?p "上海"@zh }'


# --- content negotiation: random Accept headers never cause a server error ------------------------------

KNOWN_TYPES = sorted({t for types in KIND_TO_MEDIA_TYPES.values() for t in types}
                     | {a for aliases in ALIAS_TO_MEDIA_TYPE.values() for a in aliases}
                     | {"*/*", "text/*", "application/*", "text/html", "application/xhtml+xml", "image/png"})
TOKEN_CHARS = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=',;="\\')
q_values = st.one_of(st.floats(0, 1).map(lambda q: f"{q:.3f}"),
                     st.sampled_from(["0", "1", "1.0", "0.0001", "-1", "2", "abc", "", "0.5.5", "1e-3"]))
media_range = st.builds(
    lambda kind, params: kind + "".join(params),
    st.one_of(st.sampled_from(KNOWN_TYPES), st.text(TOKEN_CHARS, min_size=1, max_size=20)),
    st.lists(st.one_of(q_values.map(lambda q: f";q={q}"), st.sampled_from([";charset=utf-8", ";level=1", ";", ";q"])),
             max_size=3),
)
accept_headers = st.one_of(
    st.lists(media_range, min_size=1, max_size=6).map(", ".join),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80),  # anything a header may hold
)
# (path, query string, kind of result or None when the page chooses for itself)
TARGETS = [
    ("/sparql", {"query": SELECT}, "solutions"),
    ("/sparql", {"query": ASK}, "boolean"),
    ("/sparql", {"query": CONSTRUCT}, "graph"),
    ("/sparql", {}, None),  # the service description, or the UI for browsers
    ("/store", {}, "dataset"),
    ("/store", {"default": ""}, "graph"),
    ("/api/queries", {}, None),
    ("/", {}, None),
]


@pytest.fixture(scope="module")
def conneg_client():
    store = EmbeddedStore(None)
    store.ox.extend(endpoint_quads())
    app = create_app(Settings(store="unused"), store=store)
    return app.test_client()


def _acceptable(accept: MIMEAccept, media_type: str, kind: str) -> bool:
    """Tell whether the client accepts `media_type` (directly, by a wildcard, or by an alias we honour)."""
    names = [media_type] + [alias for alias, target in ALIAS_TO_MEDIA_TYPE.get(kind, {}).items() if target == media_type]
    return any(accept[name] > 0 for name in names)


@given(accept=accept_headers, target=st.sampled_from(TARGETS))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_accept_headers_never_cause_a_server_error(conneg_client, accept, target):
    path, params, kind = target
    response = conneg_client.get(path, query_string=params, headers={"Accept": accept})
    assert response.status_code in (200, 303, 400, 406), (accept, path, response.status_code, response.data[:300])
    parsed = parse_accept_header(accept, MIMEAccept)
    if response.status_code == 200 and kind is not None and parsed:
        served = response.mimetype
        assert served in KIND_TO_MEDIA_TYPES[kind]
        # q-values are honoured: what we chose is something the client accepts (q > 0).
        assert _acceptable(parsed, served, kind), (accept, served)
    if response.status_code == 406:
        assert response.json["error"] == "Cannot serve the requested media type"


def test_q_zero_refuses_and_the_highest_q_wins(conneg_client):
    picked = conneg_client.get("/sparql", query_string={"query": SELECT},
                               headers={"Accept": "application/sparql-results+json;q=0.2, text/csv;q=0.9"})
    assert picked.status_code == 200 and picked.mimetype == "text/csv"
    refused = conneg_client.get("/sparql", query_string={"query": SELECT},
                                headers={"Accept": "application/sparql-results+json;q=0, text/turtle"})
    assert refused.status_code == 406


# --- the scanner: limits that keep pyoxigraph's parser from overflowing the stack --------------------------


def _chain(kind: str, n: int) -> str:
    """A query with `n` of one construct in a row (or nested), each a level of the engine's trees."""
    return {
        "braces": lambda: "SELECT * WHERE " + "{" * n + " ?s ?p ?o " + "}" * n,
        "parens": lambda: "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * n + "1" + ")" * n + ") }",
        "binds": lambda: "SELECT * WHERE { " + " ".join(f"BIND({i} AS ?v{i})" for i in range(n)) + " }",
        "minus": lambda: "SELECT * WHERE { ?s ?p ?o " + " ".join(["MINUS { ?s ?p ?o }"] * n) + " }",
        "path": lambda: "SELECT * WHERE { ?s " + "/".join(["<http://example.org/p>"] * n) + " ?o }",
        "sum": lambda: "SELECT * WHERE { ?s ?p ?o FILTER(" + "+".join(["1"] * n) + " > 0) }",
        "and": lambda: "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(" + "&&".join(["true"] * n) + ") }",
    }[kind]()


def _largest_accepted(kind: str) -> int:
    """The longest chain of `kind` the scanner lets through."""
    low, high = 1, 4 * MAX_OPERATORS
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if scan(_chain(kind, middle)).too_long_at is None and \
            scan(_chain(kind, middle)).too_deep_at is None else (low, middle - 1)
    return low


KINDS = ("braces", "parens", "binds", "minus", "path", "sum", "and")


@pytest.mark.parametrize("kind", KINDS)
def test_overlong_or_overdeep_text_is_refused_with_its_position(kind):
    text = _chain(kind, 5000)
    with pytest.raises(Exception) as refused:
        check_external(text, ())
    assert type(refused.value).__name__ == "BadRequest"
    assert str(refused.value).startswith("line 1, column ")
    assert (f"nested more than {MAX_NESTING}" in str(refused.value)
            or f"more than {MAX_OPERATORS} patterns" in str(refused.value))


def test_the_longest_text_let_through_does_not_crash_the_engine():
    """Run pyoxigraph on the largest text of each kind the scanner accepts, each in a thread (a thread's stack)."""
    longest = {kind: _largest_accepted(kind) for kind in KINDS}
    assert all(n >= MAX_NESTING - 2 for n in longest.values()) and longest["binds"] >= MAX_OPERATORS - 2, longest
    script = (
        "import sys, threading, pyoxigraph as ox\n"
        "text = sys.stdin.read()\n"
        "def run():\n"
        "    store = ox.Store()\n"
        "    try:\n"
        "        store.update(text) if text.startswith('DELETE') else store.query(text)\n"
        "    except (SyntaxError, RuntimeError, OSError):\n"
        "        pass\n"
        "threading.Thread(target=run).start()\n"
    )
    runs = {kind: subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True) for kind in longest}
    for kind, process in runs.items():
        process.stdin.write(_chain(kind, longest[kind]))
        process.stdin.close()
    deadline = time.monotonic() + 3
    crashed = {}
    for kind, process in runs.items():
        try:
            code = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:  # still planning or evaluating: the server's timeout ends that
            process.kill()
            process.wait()
            continue
        if code != 0:
            crashed[kind] = code
    assert not crashed, f"the engine died on text the scanner lets through: {crashed}"


def test_a_name_full_of_dots_is_scanned_in_linear_time():
    # Before the prefix bound, every name start rescanned the rest of the run: 16 KB took 1.3 s, 1 MB hours.
    started = time.monotonic()
    found = scan("SELECT * WHERE { ?s ?p " + "a." * 100_000 + " }")
    assert time.monotonic() - started < 3 and found.form == "SELECT"


def test_cached_scans_keep_no_tokens():
    # 1 024 cached scans of 8 KB of "(((" once held 1.2 GB through their token lists.
    found = scan("#x\n" + "(" * 8000)
    assert found.tokens == [] and found.too_deep_at is not None


# --- the production server under pathological queries ---------------------------------------------------


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """`coprokg serve` with two workers and a 2 s query timeout, over the endpoint test data."""
    path = tmp_path_factory.mktemp("hostile") / "store"
    store = EmbeddedStore(path)
    store.update(load_update())
    store.close()
    server = ProductionServer(path, COPROKG_QUERY_TIMEOUT="2", COPROKG_WORKERS="2")
    yield server
    if server.process.poll() is None:
        server.stop()


def _meanwhile(url: str, send) -> tuple[requests.Response | str, list[float]]:
    """Send a hostile request in a thread; meanwhile time simple queries. Return its answer and their times."""
    outcome: dict = {}

    def hostile():
        try:
            outcome["response"] = send()
        except requests.RequestException as e:
            outcome["response"] = f"no answer: {e}"

    thread = threading.Thread(target=hostile)
    thread.start()
    time.sleep(0.2)
    times = []
    for _ in range(3):
        started = time.monotonic()
        answer = requests.get(f"{url}/sparql", params={"query": SIMPLE}, timeout=10)
        assert answer.status_code == 200 and answer.json()["boolean"] is True
        times.append(time.monotonic() - started)
    thread.join(timeout=30)
    return outcome["response"], times


HOSTILE = {
    # name: (how to send it, the statuses that are a clean end)
    "cartesian product": (lambda url: requests.get(f"{url}/sparql", params={"query": CARTESIAN}, timeout=30), {503}),
    "huge VALUES": (lambda url: requests.post(f"{url}/sparql", timeout=30, headers={
        "Content-Type": "application/sparql-query"}, data="SELECT (COUNT(*) AS ?n) WHERE { VALUES ?x { "
        + " ".join(f"<http://example.org/v{i}>" for i in range(30_000)) + " } }"), {200, 503}),
    "oversize body": (lambda url: requests.post(f"{url}/sparql", data="x" * 2_000_000, timeout=30,
                                                headers={"Content-Type": "application/sparql-query"}), {413}),
    "deep nesting": (lambda url: requests.post(f"{url}/sparql", data=_chain("braces", 20_000), timeout=30,
                                               headers={"Content-Type": "application/sparql-query"}), {400}),
    "deep property path": (lambda url: requests.get(f"{url}/sparql", timeout=30, params={
        "query": "SELECT * WHERE { ?s " + "(" * 90 + "<http://example.org/p>" + ")*" * 90 + " ?o }"}), {200, 503}),
    "long property path": (lambda url: requests.post(f"{url}/sparql", data=_chain("path", 20_000), timeout=30,
                                                     headers={"Content-Type": "application/sparql-query"}), {400}),
    "binds in a row": (lambda url: requests.post(f"{url}/sparql", data=_chain("binds", 5_000), timeout=30,
                                                 headers={"Content-Type": "application/sparql-query"}), {400}),
    "dots in a name": (lambda url: requests.post(f"{url}/sparql", data="SELECT * WHERE { " + "a." * 100_000 + " }",
                                                 timeout=30, headers={"Content-Type": "application/sparql-query"}),
                       {400}),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_pathological_query_ends_cleanly_while_others_are_served(production, name):
    send, clean = HOSTILE[name]
    response, times = _meanwhile(production.url, lambda: send(production.url))
    assert not isinstance(response, str), response
    assert response.status_code in clean, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json") or response.status_code == 200
    assert max(times) < 2.0, times  # the other worker kept answering
    assert requests.get(f"{production.url}/healthz", timeout=10).status_code == 200


def test_no_worker_crashed_on_hostile_input(production):
    """Timeouts end a worker on purpose (exit 70); nothing may have died of a signal such as SIGSEGV."""
    assert requests.get(f"{production.url}/sparql", params={"query": SIMPLE}, timeout=10).status_code == 200
    production.stop()
    # uWSGI's master reports a worker killed by any signal (SIGSEGV, or SIGKILL from harakiri or the OOM
    # killer); only what the shutdown itself logs after its first line is left out.
    serving = production.output.split("SIGINT/SIGTERM received")[0]
    assert not re.search(r"killed by signal|Segmentation|HARAKIRI", serving), serving[-2000:]
