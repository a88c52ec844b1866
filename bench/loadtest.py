"""Load test of the production server (`make loadtest`): a mix of named queries and raw SPARQL under wrk.

It builds a fresh store (ontology, shipped cases, inferences) in a temporary directory, starts `coprokg
serve` on a free loopback port, and drives it with wrk at each concurrency for a fixed time, printing
throughput, p50/p99 latency and the error count. `--soak SECONDS` then runs 32 clients for that long,
sampling the summed PSS and RSS of the server's processes, to show whether memory grows without bound.
Everything is bounded in time and stays on 127.0.0.1; `--url` points it at a server already running
there instead.

    python -m bench.loadtest                      # 8, 32 and 64 clients, 20 s each
    python -m bench.loadtest --seconds 5 --soak 60
    python -m bench.loadtest --url http://127.0.0.1:8000 --soak 600
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.servers import start_coprokg, tree_memory
from kg.config import ROOT

MAX_SECONDS = 600  # per concurrency level
MAX_SOAK_SECONDS = 3600
MAX_CLIENTS = 256
SOAK_CLIENTS = 32
SOAK_SAMPLE_S = 5.0
# Raw SPARQL beside the named queries: a lookup, a join over the inferred modes, an aggregate and an ASK.
RAW_QUERIES = [
    "PREFIX cop: <https://w3id.org/coprokg/ontology#> SELECT ?case ?mode WHERE { ?case cop:hasMode ?mode }",
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?s ?label WHERE { ?s rdfs:label ?label "
    "FILTER(LANGMATCHES(LANG(?label), 'zh')) } LIMIT 50",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "PREFIX cop: <https://w3id.org/coprokg/ontology#> ASK { ?case a cop:CoproductionCase }",
]
# wrk runs one Lua state per thread: each walks the request list from its own offset, round-robin.
LUA = """
local requests = {%s}
local counter = 0
local offset = 0
function setup(thread)
  thread:set("offset", math.random(1, #requests))
end
function request()
  counter = counter + 1
  local r = requests[((counter + offset) %% #requests) + 1]
  return wrk.format(r[1], r[2], r[3], r[4])
end
"""


@dataclass
class LevelResult:
    clients: int
    seconds: float
    requests: int
    throughput: float  # requests per second
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers plus socket errors and timeouts


def request_mix(base_url: str) -> list[tuple[str, str, dict, str]]:
    """Build (method, path, headers, body) for every named query (with its example values) and raw query."""
    with urllib.request.urlopen(f"{base_url}/api/queries", timeout=30) as answer:
        listing = json.load(answer)
    mix = []
    for query in listing:
        params = {p["name"]: p["example"] for p in query["parameters"] if p.get("required") and "example" in p}
        path = f"/api/queries/{query['name']}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        mix.append(("GET", path, {"Accept": "application/json"}, ""))
    for sparql in RAW_QUERIES:
        mix.append(("GET", "/sparql?" + urllib.parse.urlencode({"query": sparql}),
                    {"Accept": "application/sparql-results+json"}, ""))
        mix.append(("POST", "/sparql", {"Content-Type": "application/x-www-form-urlencoded",
                                        "Accept": "application/sparql-results+json"},
                    urllib.parse.urlencode({"query": sparql})))
    return mix


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_script(mix: list[tuple[str, str, dict, str]], directory: Path) -> Path:
    rows = []
    for method, path, headers, body in mix:
        header_table = "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()) + "}"
        rows.append(f"{{{_lua_string(method)}, {_lua_string(path)}, {header_table}, "
                    f"{_lua_string(body) if body else 'nil'}}}")
    script = directory / "mix.lua"
    script.write_text(LUA % ",\n  ".join(rows))
    return script


_UNIT_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNIT_TO_MS[unit]


def parse_wrk(output: str, clients: int, seconds: float) -> LevelResult:
    """Read wrk's summary (run with --latency): requests, throughput, percentiles and errors."""
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.M))
    total = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if not (percentiles and total and rate):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return LevelResult(clients, seconds, int(total.group(1)), float(rate.group(1)), _ms(percentiles["50"]),
                       _ms(percentiles["99"]), errors)


def run_wrk(base_url: str, script: Path, clients: int, seconds: float) -> LevelResult:
    threads = min(clients, 2)  # two cores: more wrk threads would only compete with the server
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{int(seconds)}s", "--timeout", "30s", "--latency",
               "-s", str(script), base_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr}")
    return parse_wrk(done.stdout, clients, seconds)


def memory_mb(pid: int) -> tuple[float, float | None]:
    """The summed RSS and summed PSS (None if unreadable) of a process and its descendants, in MB."""
    reading = tree_memory(pid)
    return reading.rss_kb / 1024, (reading.pss_kb / 1024 if reading.pss_kb is not None else None)


def soak(base_url: str, script: Path, seconds: float, pid: int | None) -> dict:
    """Run SOAK_CLIENTS clients for `seconds`, sampling memory every few seconds; report start, end and peak.

    Both sums over the server's processes are kept: PSS (shared pages split among the processes sharing
    them, the tree's real footprint) and RSS (shared pages counted once per process, an overstatement).
    """
    samples: list[tuple[float, float, float | None]] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - started, *memory_mb(pid)))
            stop.wait(SOAK_SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True) if pid is not None else None
    if sampler is not None:
        sampler.start()
    result = run_wrk(base_url, script, SOAK_CLIENTS, seconds)
    stop.set()
    if sampler is not None:
        sampler.join()
        samples.append((time.monotonic() - started, *memory_mb(pid)))
    report = {"clients": SOAK_CLIENTS, **asdict(result)}
    if samples:
        report.update(rss_start_mb=samples[0][1], rss_end_mb=samples[-1][1], rss_peak_mb=max(s[1] for s in samples),
                      rss_samples=[(round(t, 1), round(rss, 1)) for t, rss, _ in samples])
        if all(pss is not None for _, _, pss in samples):
            report.update(pss_start_mb=samples[0][2], pss_end_mb=samples[-1][2],
                          pss_peak_mb=max(s[2] for s in samples),
                          pss_samples=[(round(t, 1), round(pss, 1)) for t, _, pss in samples])
    return report


def _loopback(url: str) -> str:
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"--url must be a loopback address (127.0.0.1, localhost or ::1), not {host}")
    return url.rstrip("/")


def _bounded(text: str, limit: int, name: str) -> int:
    value = int(text)
    if not 0 < value <= limit:
        raise SystemExit(f"{name} must be between 1 and {limit}, not {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="8,32,64", help="concurrency levels, comma-separated")
    parser.add_argument("--seconds", default="20", help="seconds per level")
    parser.add_argument("--soak", default="0", help="seconds of the soak run at 32 clients (0: none)")
    parser.add_argument("--url", help="a CoproKG server already running on loopback (default: start one)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run `make system-deps` (Debian package wrk)")
    levels = [_bounded(c, MAX_CLIENTS, "--clients") for c in args.clients.split(",")]
    seconds = _bounded(args.seconds, MAX_SECONDS, "--seconds")
    soak_seconds = int(args.soak) and _bounded(args.soak, MAX_SOAK_SECONDS, "--soak")

    with tempfile.TemporaryDirectory(prefix="coprokg-loadtest-") as scratch:
        scratch_dir = Path(scratch)
        server, pid = None, None
        if args.url:
            base_url = _loopback(args.url)
        else:
            store = scratch_dir / "store"
            subprocess.run([str(ROOT / ".venv" / "bin" / "coprokg"), "build", "--store", str(store)], check=True,
                           capture_output=True)
            server = start_coprokg(store, scratch_dir / "server.log")
            base_url, pid = f"http://127.0.0.1:{server.port}", server.process.pid
            print(f"serving a fresh store at {base_url}: {server.description}", file=sys.stderr)
        try:
            mix = request_mix(base_url)
            script = write_script(mix, scratch_dir)
            print(f"request mix: {len(mix)} requests (named queries and raw SPARQL, GET and POST)", file=sys.stderr)
            run_wrk(base_url, script, 8, 2)  # warm-up, not reported
            results = [run_wrk(base_url, script, clients, seconds) for clients in levels]
            print(f"{'clients':>8} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'requests':>9} {'errors':>7}")
            for r in results:
                print(f"{r.clients:>8} {r.throughput:>9.1f} {r.p50_ms:>9.1f} {r.p99_ms:>9.1f} {r.requests:>9} {r.errors:>7}")
            report: dict = {"levels": [asdict(r) for r in results], "mix": len(mix)}
            if soak_seconds:
                report["soak"] = soak(base_url, script, soak_seconds, pid)
                s = report["soak"]
                memory = "memory not sampled (--url)"
                if "rss_start_mb" in s:
                    memory = "; ".join(f"{kind.upper()} start {s[kind + '_start_mb']:.0f} MB, end "
                                       f"{s[kind + '_end_mb']:.0f} MB, peak {s[kind + '_peak_mb']:.0f} MB"
                                       for kind in ("pss", "rss") if kind + "_start_mb" in s)
                    memory += " (PSS: the processes' real footprint; RSS sums count shared pages per process)"
                print(f"soak {soak_seconds} s at {SOAK_CLIENTS} clients: {s['throughput']:.1f} req/s, "
                      f"p99 {s['p99_ms']:.1f} ms, {s['errors']} errors; {memory}")
            if args.json:
                args.json.write_text(json.dumps(report, indent=2))
        finally:
            if server is not None:
                server.stop()
    if any(r["errors"] for r in report["levels"]) or report.get("soak", {}).get("errors"):
        raise SystemExit("errors under load: see the table above")


if __name__ == "__main__":
    main()
