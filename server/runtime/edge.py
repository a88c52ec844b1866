"""The HTTP edge: nginx, started beside the uWSGI master, facing the clients.

nginx (Debian's `nginx-light`) is what faces the network: one event loop in C that reads each request
whole (line, headers and body, chunked or not) before handing it to a worker over a local socket, keeps
connections alive between requests, frames every answer and closes idle or trickling connections after
the timeouts below. A slow or hostile client therefore holds a few kilobytes of nginx and never one of
the few worker processes that run queries. We write no HTTP parsing or framing: nginx does all of it,
and its refusals (malformed framing, oversized headers or bodies) reach the client as our JSON problems.
The measured comparison with the other candidates is in the README's serving section.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import tempfile
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kg.config import Settings
from kg.errors import ConfigError

TEMPLATE = Path(__file__).with_name("nginx.conf")
# How long nginx waits on a worker: past any query (the watchdog ends those at the query timeout) and
# long enough for the largest write to finish, since a write's client must learn its outcome.
UPSTREAM_TIMEOUT_S = 3600
STARTUP_TIMEOUT_S = 10
RUN_DIR_PREFIX = "coprokg-edge-"
INSTALL_HINT = "install it with `apt-get install nginx-light` (Debian/Ubuntu) or your system's nginx package"


@dataclass(frozen=True)
class Edge:
    """Where the edge lives for one run: its directory (config, pid, spooled bodies) and the workers' socket."""

    run_dir: Path

    @property
    def config(self) -> Path:
        return self.run_dir / "nginx.conf"

    @property
    def workers_socket(self) -> Path:
        return self.run_dir / "workers.sock"


def nginx_binary() -> str:
    """The nginx to run.

    Raises:
        ConfigError: there is none on the PATH or in /usr/sbin.
    """
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise ConfigError(f"the HTTP edge needs nginx, which is not installed; {INSTALL_HINT}")
    return found


def render(settings: Settings, edge: Edge) -> str:
    """nginx's configuration for these settings (server/runtime/nginx.conf with its blanks filled)."""
    host = f"[{settings.host}]" if ":" in settings.host and not settings.host.startswith("[") else settings.host
    # nginx started by root would run its workers as `nobody`; they only need the socket and the spool.
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    values = {
        "USER": user,
        "RUN": str(edge.run_dir),
        "LISTEN": f"{host}:{settings.port}",
        "HEADER_TIMEOUT": _milliseconds(settings.header_timeout),
        "IDLE_TIMEOUT": _milliseconds(settings.idle_timeout),
        "UPSTREAM_TIMEOUT": str(UPSTREAM_TIMEOUT_S),
        "QUERY_LIMIT": str(settings.max_query_bytes),
        "UPLOAD_LIMIT": str(settings.max_upload_bytes),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def prepare(settings: Settings, run_dir: Path) -> Edge:
    """Write the edge's configuration into `run_dir` and check it with nginx itself.

    Raises:
        ConfigError: nginx is missing or refuses the configuration (its message is kept).
    """
    edge = Edge(run_dir)
    # nginx's workers (nobody, when started by root) reach the socket through this directory.
    run_dir.chmod(0o755)
    edge.config.write_text(render(settings, edge), encoding="utf-8")
    check = subprocess.run([nginx_binary(), "-t", "-q", "-e", "stderr", "-p", str(run_dir), "-c", str(edge.config)],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise ConfigError(f"nginx refused the edge's configuration ({edge.config}): {check.stderr.strip()}")
    return edge


def start(settings: Settings, edge: Edge) -> subprocess.Popen:
    """Start nginx on the prepared configuration and wait until it listens.

    It ends when this process does, however that ends. Until the workers are up it answers 503.

    Raises:
        ConfigError: the port is taken, or nginx exited instead of listening (its own message is above).
    """
    _check_port_free(settings)
    command = [nginx_binary(), "-e", "stderr", "-p", str(edge.run_dir), "-c", str(edge.config)]
    with_parent = _end_with_parent if sys.platform.startswith("linux") else None
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=with_parent, close_fds=True)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"the HTTP edge (nginx) could not start on {settings.host}:{settings.port}; "
                              "its message is above")
        try:
            socket.create_connection((settings.host, settings.port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise ConfigError(f"the HTTP edge (nginx) did not listen on {settings.host}:{settings.port} "
                      f"within {STARTUP_TIMEOUT_S} s")


def _check_port_free(settings: Settings) -> None:
    """Refuse to start when something already listens where the service would (nginx would only retry)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx binds
        try:
            probe.bind((settings.host.strip("[]"), settings.port))
        except OSError as e:
            raise ConfigError(f"cannot listen on {settings.host}:{settings.port}: {e.strerror} "
                              "(another service uses the port? choose one with COPROKG_PORT)") from None


def new_run_dir() -> Path:
    """A fresh directory for one run's edge, after removing those left by runs that were killed.

    Its name carries the pid of the process that made it; one whose process is gone is stale.
    """
    base = Path(tempfile.gettempdir())
    for stale in base.glob(f"{RUN_DIR_PREFIX}*"):
        pid = stale.name.removeprefix(RUN_DIR_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-"))


def _milliseconds(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _end_with_parent() -> None:
    # Linux's parent-death signal: nginx gets SIGTERM (its fast stop) when the uWSGI master exits, even
    # if it is killed, so no nginx is left holding the port.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
