"""Per-request latency over HTTP, the systems interleaved round by round, reported as medians."""

from __future__ import annotations

import http.client
import json
import time

import pyoxigraph as ox

from bench.report import Figure, Results, Target, median
from bench.servers import Server
from bench.workloads import Workload

ACCEPT = {"Accept": "application/sparql-results+json"}
LATENCY_TARGET = Target(1.5)
REQUEST_TIMEOUT_S = 300


class Client:
    """One keep-alive HTTP connection to a server, as a SPARQL client library would hold."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=REQUEST_TIMEOUT_S)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            self.connection.request("GET", path, headers=ACCEPT)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            # The server closed the idle connection: reconnect once, as clients do.
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=REQUEST_TIMEOUT_S)
            self.connection.request("GET", path, headers=ACCEPT)
            response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def _rows(body: bytes) -> int:
    return len(json.loads(body)["results"]["bindings"])


def measure_latency(workloads: list[Workload], coprokg: Server, oxigraph: Server, store: ox.Store,
                    size: str, rounds: int, budget_s: float, results: Results) -> None:
    """Time every workload on CoproKG, oxigraph serve and pyoxigraph in-process, interleaved."""
    clients = {"CoproKG": Client(coprokg), "oxigraph serve": Client(oxigraph)}

    def call(system: str, workload: Workload) -> tuple[float, int]:
        started = time.perf_counter()
        if system == "pyoxigraph in-process":
            solutions = store.query(workload.inprocess_sparql, use_default_graph_as_union=True,
                                    substitutions=workload.substitutions or None)
            body = solutions.serialize(format=ox.QueryResultsFormat.JSON)
            elapsed = time.perf_counter() - started
            return elapsed, _rows(body)
        path = workload.coprokg_path if system == "CoproKG" else oxigraph.query_url(workload.sparql)
        status, body = clients[system].get(path)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"{system} answered {status} to {workload.name}: {body[:300]!r}")
        return elapsed, _rows(body)

    systems = ["CoproKG", "oxigraph serve", "pyoxigraph in-process"]
    try:
        for workload in workloads:
            try:
                counts = {system: call(system, workload)[1] for system in systems}  # warm-up, and a correctness check
            except RuntimeError as e:
                results.skip(f"latency {size} {workload.name}", str(e)[:200])
                continue
            note = "" if len(set(counts.values())) == 1 else f"row counts differ: {counts}"
            times: dict[str, list[float]] = {s: [] for s in systems}
            started = time.monotonic()
            try:
                for number in range(rounds):
                    # Rotate who goes first, so no system always meets a cache the other warmed.
                    order = systems[number % 3:] + systems[:number % 3]
                    for system in order:
                        times[system].append(call(system, workload)[0])
                    if number >= 2 and time.monotonic() - started > budget_s:
                        break
            except (RuntimeError, OSError, http.client.HTTPException) as e:
                # One failing request (a server's own error, say) costs this row, not the rest of the run.
                results.skip(f"latency {size} {workload.name}", f"failed in round {number + 1}: {str(e)[:200]}")
                continue
            values = {s: median(t) * 1000 for s, t in times.items()}
            rows = counts["CoproKG"]
            if not workload.like_for_like:
                note += ("no verdict: oxigraph serve got the values as a trailing VALUES (a parameter is a BIND "
                         "target), which it evaluates after the whole pattern")
            results.add(Figure("latency", workload.name, size, "ms", values, baseline="oxigraph serve",
                               target=LATENCY_TARGET if workload.like_for_like else None, runs=len(times["CoproKG"]),
                               note=(note or f"{rows} rows") + f", {len(times['CoproKG'])} runs"))
    finally:
        for client in clients.values():
            client.close()
