"""Throughput under concurrent clients, measured with wrk on loopback for a bounded time."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request

from bench.report import Figure, Results, Target, median
from bench.servers import Server
from bench.workloads import Workload

THROUGHPUT_TARGETS = {8: Target(0.25, at_most=False)}  # the issue sets a bound at 8 clients only
REQUESTS_PER_S = re.compile(r"Requests/sec:\s+([0-9.]+)")
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+([0-9]+)")
SOCKET_ERRORS = re.compile(r"Socket errors:.*")


def wrk(url: str, clients: int, seconds: int) -> tuple[float, str]:
    """Run wrk once; return requests/s and any errors it reported."""
    command = ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s",
               "-H", "Accept: application/sparql-results+json", url]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = REQUESTS_PER_S.search(out)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    problems = [m.group(0) for m in (NON_2XX.search(out), SOCKET_ERRORS.search(out)) if m]
    return float(rate.group(1)), "; ".join(problems)


def _status(url: str) -> int:
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def measure_throughput(workloads: list[Workload], coprokg: Server, oxigraph: Server, size: str,
                       clients: tuple[int, ...], seconds: int, runs: int, results: Results) -> None:
    """Compare requests/s of CoproKG and oxigraph serve, alternating which one wrk hits."""
    if shutil.which("wrk") is None:
        results.skip("throughput", "wrk is not installed (make bench installs it: bash .ci/system-deps bench)")
        return
    for workload in workloads:
        urls = {"CoproKG": coprokg.base + workload.coprokg_path,
                "oxigraph serve": oxigraph.base + oxigraph.query_url(workload.sparql)}
        broken = [name for name, url in urls.items() if _status(url) != 200]
        if broken:
            results.skip(f"throughput {size} {workload.name}", f"{', '.join(broken)} does not answer it with 200")
            continue
        for count in clients:
            rates: dict[str, list[float]] = {name: [] for name in urls}
            problems = set()
            for number in range(runs):
                for name in (list(urls) if number % 2 == 0 else list(urls)[::-1]):
                    rate, problem = wrk(urls[name], count, seconds)
                    rates[name].append(rate)
                    if problem:
                        problems.add(f"{name}: {problem}")
            if problems:
                results.skip(f"throughput {size} {workload.name}, {count} clients", "; ".join(sorted(problems)))
                continue
            results.add(Figure("throughput", f"{workload.name}, {count} clients", size, "req/s",
                               {name: median(r) for name, r in rates.items()}, baseline="oxigraph serve",
                               target=THROUGHPUT_TARGETS.get(count), runs=runs,
                               note=f"{runs}×{seconds} s each"))
