"""The longer fuzz run (`make fuzz`): schemathesis over the whole HTTP API, and random SPARQL at the endpoint.

Both run against `coprokg serve` (the production server) on a fresh store on a free loopback port:
  1. schemathesis generates requests for every operation of the OpenAPI document and checks each answer
     (no 5xx, declared status codes, media types and JSON schemas);
  2. hypothesis writes random token soups from SPARQL's own vocabulary (keywords, brackets, operators,
     terms) and sends them as queries and updates: each must end in 200, 204, 400, 401, 403 or the timeout's
     503, never a 500 or a dropped connection, and no worker may die of a signal.
It prints the cases run and every failure found, and exits non-zero if there was one.

    python -m bench.fuzz                  # 200 examples per API operation, 2 000 random queries
    python -m bench.fuzz --examples 50 --queries 300
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bench.servers import free_port
from kg.config import ROOT

QUERY_TIMEOUT_S = "5"  # random joins can be cartesian products: let the timeout end them quickly

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CLEAN_STATUSES = {200, 204, 400, 401, 403, 406, 413, 503}
WORDS = ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "FILTER", "OPTIONAL", "UNION", "MINUS", "BIND", "AS",
         "VALUES", "GRAPH", "SERVICE", "LOAD", "INSERT", "DELETE", "DATA", "CLEAR", "DROP", "ALL", "DEFAULT", "NAMED",
         "FROM", "PREFIX", "BASE", "LIMIT", "OFFSET", "ORDER", "BY", "GROUP", "HAVING", "COUNT", "DISTINCT", "IN",
         "NOT", "EXISTS", "REGEX", "STR", "LANG", "IRI", "CONCAT", "a", "true", "false", ";", ".", ",", "{", "}", "(",
         ")", "[", "]", "*", "+", "?", "/", "|", "^", "!", "=", "!=", "<", ">", "&&", "||", "-", "?s", "?p", "?o",
         "?x", "$y", "_:b", "<http://example.org/s>", "<>", "cop:Actor", ":x", '"上海"@zh', '"1"^^<http://www.w3.org/2001/XMLSchema#integer>',
         "1", "2.5", "-3e2", "'''x'''", '"\\u0041"', "#c\n", "\n"]
sparql_soup = st.lists(st.sampled_from(WORDS), min_size=1, max_size=120).map(" ".join)
# A short fragment repeated thousands of times: the shape that overflowed pyoxigraph's parser.
repeated_fragment = st.tuples(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), st.integers(100, 6000)).map(
    lambda pair: "SELECT * WHERE { " + " ".join(pair[0] * pair[1]) + " }")
# Openers and chain links known to recurse in the engine, repeated to depths that once crashed it.
deep_structure = st.tuples(st.sampled_from(["{", "(", "[", "OPTIONAL {", "MINUS { ?s ?p ?o }", "BIND(1 AS ?v)",
                                            "?s ?p ?o .", "FILTER(?o != 1)", "1 +", "true &&"]),
                           st.integers(100, 8000)).map(lambda pair: "SELECT * WHERE { ?s ?p ?o " + " ".join(
                               [pair[0]] * pair[1]) + " 1 }")


def fuzz_api(base_url: str, examples: int) -> tuple[int, list[str]]:
    """Run schemathesis on every operation; return the number of cases and the failures."""
    api = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    cases, failures = 0, []
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            nonlocal cases
            cases += 1
            case.validate_response(case.call(base_url=base_url, timeout=60), checks=CHECKS)

        try:
            check()
        except Exception as e:  # one failing operation must not hide the others
            failures.append(f"{operation.method.upper()} {operation.path}: {str(e)[:800]}")
    return cases, failures


def fuzz_sparql(base_url: str, queries: int) -> tuple[int, list[str]]:
    """Send random SPARQL token soups (short, or one fragment repeated) as queries and updates; return cases and failures."""
    cases, failures = 0, []
    session = requests.Session()

    @given(text=st.one_of(sparql_soup, repeated_fragment, deep_structure), as_update=st.booleans())
    @settings(max_examples=queries, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(text, as_update):
        nonlocal cases
        cases += 1
        try:
            if as_update:
                answer = session.post(f"{base_url}/sparql", data={"update": text}, timeout=60)
            else:
                answer = session.post(f"{base_url}/sparql", data={"query": text}, timeout=60)
        except requests.RequestException as e:
            failures.append(f"no answer to {text!r}: {e}")
            return
        if answer.status_code not in CLEAN_STATUSES:
            failures.append(f"{answer.status_code} for {text!r}: {answer.text[:300]}")

    check()
    return cases, failures


def start_server(store: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """Start `coprokg serve` (read-only, short timeout) in its own process group; return it and its URL."""
    port = free_port()
    env = dict(os.environ, COPROKG_STORE=str(store), COPROKG_PORT=str(port), COPROKG_HOST="127.0.0.1",
               COPROKG_QUERY_TIMEOUT=QUERY_TIMEOUT_S)
    env.pop("COPROKG_TOKEN", None)
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "coprokg"), "serve"], env=env, stdout=open(log, "wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit(f"coprokg serve did not start; see {log}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="schemathesis examples per API operation")
    parser.add_argument("--queries", type=int, default=2000, help="random SPARQL texts to send")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="coprokg-fuzz-") as scratch:
        store = Path(scratch) / "store"
        subprocess.run([str(ROOT / ".venv" / "bin" / "coprokg"), "build", "--store", str(store)], check=True,
                       capture_output=True)
        process, base_url = start_server(store, Path(scratch) / "server.log")
        try:
            api_cases, api_failures = fuzz_api(base_url, args.examples)
            sparql_cases, sparql_failures = fuzz_sparql(base_url, args.queries)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        log = (Path(scratch) / "server.log").read_text(errors="replace")
    # uWSGI's master reports a worker killed by any signal (SIGSEGV, or SIGKILL from harakiri or the OOM
    # killer); only what the shutdown itself logs after its first line is left out.
    serving = log.split("SIGINT/SIGTERM received")[0]
    crashes = [line for line in serving.splitlines() if re.search(r"killed by signal|Segmentation|HARAKIRI", line)]
    print(f"schemathesis: {api_cases} cases over the API, {len(api_failures)} failing operation(s)")
    print(f"random SPARQL: {sparql_cases} queries and updates, {len(sparql_failures)} failure(s)")
    print(f"server log: {len(crashes)} worker crash(es)")
    for failure in api_failures + sparql_failures + crashes:
        print(f"  - {failure}")
    if api_failures or sparql_failures or crashes:
        sys.exit(1)


if __name__ == "__main__":
    main()
