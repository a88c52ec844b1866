"""Compare HTTP servers for the service's edge on a trivial WSGI app, side by side on loopback.

Run: `.venv/bin/python -m bench.edge_candidates` (granian must be installed for its row:
`.venv/bin/pip install granian`; nginx comes with `make serve`). For each candidate with two workers it measures
- the median latency of a trivial request, on one keep-alive connection when the server keeps it open;
- how many of 20 simple requests answer within 2 s while 100 connections trickle their headers, then
  while 100 connections trickle their bodies (one byte a second);
- the summed PSS of the server's processes.
The figures of the choice are in the README's serving section.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from pathlib import Path

from bench.servers import VENV_BIN, free_port, tree_memory
from kg.config import ROOT, Settings
from server.runtime import edge

WORKERS = 2


def application(environ, start_response):
    """The app under every server: read the body, answer a few bytes."""
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def candidates(port: int, run_dir: Path) -> dict[str, list[list[str]]]:
    """Each candidate's command lines (the first is the one whose process tree is measured)."""
    app = "bench.edge_candidates:application"
    uwsgi = [str(VENV_BIN / "uwsgi"), "--master", "--processes", str(WORKERS), "--module", app,
             "--disable-logging", "--need-app"]
    backend = str(run_dir / "router.sock")
    nginx = edge.prepare(Settings(port=port), run_dir / "nginx")
    return {
        "uWSGI --http-socket (before)": [[*uwsgi, "--http-socket", f"127.0.0.1:{port}"]],
        "uWSGI --http router, keep-alive": [[*uwsgi, "--http", f"127.0.0.1:{port}", "--http-keepalive",
                                             "--http-auto-chunked", "--http-timeout", "30",
                                             "--http-headers-timeout", "10", "--socket", backend]],
        "granian, 2 workers x 1 thread": [[str(VENV_BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
                                           "--port", str(port), "--workers", str(WORKERS), "--blocking-threads",
                                           "1", "--log-level", "error", "--no-ws", app]],
        "nginx -> uWSGI (chosen)": [[*uwsgi, "--socket", str(nginx.workers_socket), "--chmod-socket=666"],
                                    [edge.nginx_binary(), "-e", "stderr", "-p", str(nginx.run_dir),
                                     "-c", str(nginx.config)]],
    }


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


def keepalive_latency_ms(port: int, n: int = 2000) -> tuple[float, bool]:
    """Median latency of n requests from one client that reuses its connection when allowed; and whether it could."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    times, reused = [], True
    for _ in range(n):
        start = time.perf_counter()
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError):  # closed without saying so: connect again for each request
            connection.close()
            connection.request("GET", "/")
            response = connection.getresponse()
            reused = False
        if response.read() != b"ok\n":
            raise RuntimeError(f"port {port} answered {response.status}, not the app's answer")
        times.append(time.perf_counter() - start)
        if response.will_close:
            reused = False
            connection.close()
    connection.close()
    return statistics.median(times) * 1000, reused


def trickle(port: int, body: bool, stop: threading.Event, connections: list) -> None:
    s = socket.create_connection(("127.0.0.1", port))
    connections.append(s)
    try:
        if body:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n")
        else:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        while not stop.wait(1.0):
            s.sendall(b"x" if body else b"X-Slow: 1\r\n")
    except OSError:
        pass


def answered_under_attack(port: int, body: bool, slow: int = 100, probes: int = 20, within: float = 2.0) -> int:
    stop, connections = threading.Event(), []
    threads = [threading.Thread(target=trickle, args=(port, body, stop, connections), daemon=True) for _ in range(slow)]
    for t in threads:
        t.start()
    time.sleep(2.0)  # the slow connections are all open and trickling
    ok = []

    def probe():
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=within)
            connection.request("GET", "/")
            if connection.getresponse().read() == b"ok\n":
                ok.append(1)
        except OSError:
            pass

    probers = [threading.Thread(target=probe) for _ in range(probes)]
    for t in probers:
        t.start()
    for t in probers:
        t.join()
    stop.set()
    for s in connections:
        s.close()
    return len(ok)


def main() -> None:
    port = free_port()
    rows = []
    with tempfile.TemporaryDirectory(prefix="edge-candidates-") as directory:
        run_dir = Path(directory)
        run_dir.chmod(0o755)  # nginx's workers (nobody, under root) reach the socket through it
        (run_dir / "nginx").mkdir()
        for name, commands in candidates(port, run_dir).items():
            processes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True) for command in commands]
            try:
                wait_up(port)
                latency, reused = keepalive_latency_ms(port)
                pss = sum((tree_memory(process.pid).pss_kb or 0) for process in processes) / 1024
                headers = answered_under_attack(port, body=False)
                bodies = answered_under_attack(port, body=True)
                rows.append((name, latency, reused, headers, bodies, pss))
            finally:
                for process in processes:  # each in its own session: end its whole group (granian's workers too)
                    os.killpg(process.pid, signal.SIGTERM)
                    try:
                        process.wait(10)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
            time.sleep(1)
    print(f"{'server':36} {'median ms':>9} {'keep-alive':>10} {'slow hdrs':>9} {'slow body':>9} {'PSS MB':>7}")
    for name, latency, reused, headers, bodies, pss in rows:
        print(f"{name:36} {latency:9.3f} {str(reused):>10} {headers:>6}/20 {bodies:>6}/20 {pss:7.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
