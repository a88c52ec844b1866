"""Start and stop the HTTP servers under test on loopback, and read their memory from /proc."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from kg.config import ROOT

VENV_BIN = ROOT / ".venv" / "bin"
STARTUP_TIMEOUT_S = 120.0


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A server process on 127.0.0.1 with the paths its SPARQL queries and named queries go to."""

    name: str
    process: subprocess.Popen
    port: int
    query_path: str  # SPARQL query endpoint (GET ?query=)
    api_path: str | None = None  # named-query REST API prefix, if it has one
    log: Path | None = None
    description: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query_url(self, sparql: str) -> str:
        return f"{self.query_path}?{urllib.parse.urlencode({'query': sparql})}"

    def stop(self) -> None:
        """End the server (its whole process group) and wait for it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    # A new session, so stopping the server ends its workers too, and nothing else.
    return subprocess.Popen(command, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=ROOT)


def start_oxigraph(store_dir: Path, log: Path) -> Server:
    """Run `oxigraph serve` on a store directory, the default graph being the union (as CoproKG's is)."""
    port = free_port()
    command = [str(VENV_BIN / "oxigraph"), "serve", "--location", str(store_dir),
               "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    server = Server("oxigraph serve", _start(command, dict(os.environ), log), port, "/query", log=log,
                    description=" ".join(command[1:]))
    _wait_ready(server)
    return server


def start_coprokg(store_dir: Path, log: Path) -> Server:
    """Run CoproKG's production server (`coprokg serve`) on a store directory."""
    port = free_port()
    env = dict(os.environ, COPROKG_STORE=str(store_dir), COPROKG_PORT=str(port), COPROKG_HOST="127.0.0.1",
               COPROKG_QUERY_TIMEOUT="120")
    env.pop("COPROKG_TOKEN", None)  # read-only, as a public endpoint runs
    command = [str(VENV_BIN / "coprokg"), "serve", "--store", str(store_dir)]
    server = Server("CoproKG", _start(command, env, log), port, "/sparql", api_path="/api/queries", log=log,
                    description="coprokg serve")
    _wait_ready(server)
    server.description = describe_process_tree(server.process.pid)
    return server


def _wait_ready(server: Server) -> None:
    """Wait until the server answers a trivial query; fail with its log if it dies or never answers."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}; see {server.log}:\n"
                               + _tail(server.log))
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            connection.request("GET", server.query_url("ASK {}"), headers={"Accept": "application/sparql-results+json"})
            if connection.getresponse().status == 200:
                connection.close()
                return
            connection.close()
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer within {STARTUP_TIMEOUT_S:.0f} s; see {server.log}")


def _tail(path: Path | None, lines: int = 20) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def process_tree(pid: int) -> list[int]:
    """List a process and all its descendants (a WSGI master, its workers and its writer, say)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                pass
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def describe_process_tree(pid: int) -> str:
    """Say what runs in a server's process tree (e.g. a WSGI master with N workers)."""
    names = []
    for member in process_tree(pid):
        try:
            names.append(Path(f"/proc/{member}/cmdline").read_text().replace("\0", " ").strip()[:80])
        except OSError:
            pass
    return f"{len(names)} process(es): " + "; ".join(names)


def _pss_kb(pid: int) -> int | None:
    """The proportional set size of one process: each shared page split among the processes mapping it.

    None when the kernel will not say (no smaps_rollup, or not allowed to read it); 0 for a process that
    has exited or is a zombie, as it holds no memory.
    """
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except PermissionError:
        return None
    except FileNotFoundError:
        # All of /proc/PID goes when the process is reaped; a kernel without smaps_rollup lacks only the file.
        return 0 if not Path(f"/proc/{pid}").exists() else None
    except OSError:  # ESRCH: a zombie, or a process exiting as we read
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class TreeMemory:
    """One reading of a process tree's memory, in kB: summed RSS and summed PSS (None if unreadable)."""

    processes: int
    rss_kb: int
    pss_kb: int | None


def tree_memory(pid: int) -> TreeMemory:
    """Read the summed RSS and the summed PSS of a process and its descendants at this moment.

    Summed RSS counts a page shared by several processes (forked workers share the interpreter, libraries
    and preloaded modules copy-on-write) once per process; summed PSS counts it once in all, so PSS is the
    tree's real footprint.
    """
    members = process_tree(pid)
    rss = sum(_status_kb(p, "VmRSS") for p in members)
    pss_parts = [_pss_kb(p) for p in members]
    pss = None if any(part is None for part in pss_parts) else sum(pss_parts)
    return TreeMemory(len(members), rss, pss)


@dataclass
class MemorySampler:
    """Sample a server's process tree in the background and keep the peaks of its summed RSS and summed PSS.

    PSS has no kernel high-water mark, so its peak is only as good as the sampling: a spike shorter than
    the interval can be missed. Reading smaps_rollup walks each process's page tables (about 12 ms for
    800 MB resident here), so the interval stretches beyond `interval_s` when needed to keep the sampler
    under `max_duty` of one core: it runs on the machine under test.
    """

    pid: int
    interval_s: float = 0.05
    max_duty: float = 0.05
    peak_rss_kb: int = 0
    peak_pss_kb: int = 0
    samples: int = 0
    pss_unreadable: bool = False
    sampling_s: float = 0.0  # time spent reading /proc, to show what the sampling cost
    _began: float = 0.0
    _ended: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "MemorySampler":
        self._began = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.perf_counter()
            reading = tree_memory(self.pid)
            cost = time.perf_counter() - began
            self.sampling_s += cost
            self.samples += 1
            self.peak_rss_kb = max(self.peak_rss_kb, reading.rss_kb)
            if reading.pss_kb is None:
                self.pss_unreadable = True
            else:
                self.peak_pss_kb = max(self.peak_pss_kb, reading.pss_kb)
            self._stop.wait(max(self.interval_s, cost * (1 / self.max_duty - 1)))

    def stop(self) -> dict[str, float | int | None]:
        """Stop sampling; return the sampled peaks (RSS and PSS), the summed RSS high-water marks and the sampling pace.

        `pss_peak_mb` is None when PSS could not be read for some process, rather than a misleading partial sum.
        """
        if not self._stop.is_set():
            self._stop.set()
            if self._thread:
                self._thread.join()
            self._ended = time.monotonic()
        hwm = sum(_status_kb(p, "VmHWM") for p in process_tree(self.pid))
        pss_ok = self.samples > 0 and not self.pss_unreadable
        return {"sampled_peak_mb": self.peak_rss_kb / 1024, "hwm_sum_mb": hwm / 1024,
                "pss_peak_mb": self.peak_pss_kb / 1024 if pss_ok else None, "samples": self.samples,
                "sampling_ms_per_sample": 1000 * self.sampling_s / self.samples if self.samples else None,
                "mean_interval_ms": 1000 * (self._ended - self._began) / self.samples if self.samples else None}
