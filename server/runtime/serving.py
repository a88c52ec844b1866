"""Production serving: nginx at the edge, uWSGI worker processes answering queries, configured only from Settings.

For an on-disk store, `serve` first starts the single writer process (server/runtime/writer.py), which
holds the store read-write and publishes a read-only snapshot after each write. It then starts nginx
(server/runtime/edge.py), which faces the clients and hands each whole request to a worker over a local
socket, and becomes the uWSGI master, forking `workers` worker processes (size it to the cores). Each
answers one request at a time: queries run in the worker on its own read-only handle of the newest
snapshot, writes go to the writer, and a watchdog (server/runtime/watchdog.py) ends a worker whose query
passes the timeout, after answering 503; the master starts a fresh one. For a remote store the workers
pass everything on to it, each call bounded by the query timeout.

Why uWSGI workers behind the edge: the query timeout needs a process per running query (pyoxigraph cannot
cancel one), and uWSGI's accept loop and process management are C, so a small query's answer is not held
up by the server's own Python.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

from kg.config import Settings
from server.runtime.writer import WriterProcess
from server.runtime import edge

# uWSGI's lines that tell a user nothing actionable: the start-up banner, the root warnings (a container's
# usual user), the worker respawned after the watchdog ended a runaway query (the watchdog logs why), and
# the shutdown steps.
UWSGI_NOISE = (
    r"^\*\*\* ", r"^ \*\*\* WARNING", r"^compiled with version", r"^os: ", r"^nodename: ", r"^machine: ",
    r"^clock source", r"^pcre jit", r"^detected ", r"^current working directory", r"^uWSGI running as root",
    r"^your ", r"^lock engine", r"^thunder lock", r"^uwsgi socket \d", r"^Python version", r"^--- Python VM",
    r"^Python main interpreter", r"^python threads support", r"^mapped \d+ bytes", r"^WSGI app \d",
    r"^spawned uWSGI", r"^DAMN ! worker", r"^Respawned uWSGI worker", r"^worker \d+ buried",
    r"^SIGINT/SIGTERM received", r"^gracefully killing", r"^goodbye to uWSGI", r"^VACUUM", r"^running \"",
    r"^chmod\(\) socket", r"^\[uWSGI\] getting", r"^exec\(\)", r"^Gracefully killing", r"^waiting for workers",
    r"^subprocess \d+ exited with code 0$",
)

# What the master hands each forked worker (server/runtime/worker.py): set by serve() before uWSGI starts.
launch: tuple[Settings, WriterProcess | None] | None = None


def uwsgi_options(settings: Settings, workers_socket: Path, writer_pid: int | None = None) -> list[str]:
    """uWSGI's command line for these settings (its own flags; nothing is read from a uWSGI config file)."""
    # nginx first (it would also get SIGTERM once the master is gone), then its run directory.
    run_dir = shlex.quote(str(workers_socket.parent))
    at_exit = [f"kill -TERM $(cat {run_dir}/nginx.pid 2>/dev/null) 2>/dev/null; "
               f"for i in $(seq 50); do [ -e {run_dir}/nginx.pid ] || break; sleep 0.1; done; rm -rf {run_dir}"]
    if writer_pid is not None:
        # The master runs no Python at its exit: this shell command asks the writer to finish its write
        # and close the store, and waits (up to 30 s) until it has, so the store is free once we return.
        # The writer is recognised by its command line, which an exited (zombie) process no longer has.
        running = f"grep -q server.runtime.writer /proc/{writer_pid}/cmdline 2>/dev/null"
        at_exit.insert(0, f"{running} && kill -TERM {writer_pid}; "
                          f"for i in $(seq 300); do {running} || break; sleep 0.1; done")
    return [
        "--strict",  # an unknown option is an error, not a silent no-op
        # The workers take whole requests from nginx (server/runtime/edge.py) on a local socket.
        "--socket", str(workers_socket),
        "--chmod-socket=666",  # nginx's workers may run as another user; the directory is ours
        "--listen", "1024",
        "--master",
        "--processes", str(settings.workers),
        # Imported by the master once uWSGI is up (so it can install the fork hook), then forked.
        "--module", "server.runtime.worker:application",
        "--need-app",
        "--single-interpreter",
        # Python threads in the workers: the watchdog, and streaming of large answers.
        "--enable-threads",
        "--py-call-osafterfork",
        # What nginx passes on (the request line and headers) up to 64 KiB, the most uWSGI takes.
        "--buffer-size", "65535",
        # nginx buffers what clients send and take, so this bounds only the local socket to it.
        "--socket-timeout", str(max(60, int(settings.query_timeout))),
        # The watchdog ends overrunning queries at the timeout; this only ends a worker wedged for longer.
        "--harakiri", str(int(settings.query_timeout) + 60),
        # SIGTERM and SIGINT (Ctrl-C) stop the service at once: a request in progress is cut off, and a
        # write in progress is wholly absent (one transaction). uWSGI's graceful variant was tried and
        # left workers blocked in accept() until the master killed them, then hung the master. A reload
        # (SIGHUP) exits too: the writer is never restarted under a master that goes on serving.
        "--die-on-term",
        "--worker-reload-mercy", "10",
        "--exit-on-reload",
        *(option for command in at_exit for option in ("--exec-as-user-atexit", command)),
        "--no-orphans",
        "--disable-logging",  # our own access log (server/http_policy.py) has one line per request
        # uWSGI's own start-up, respawn and shutdown lines describe its internals, not the service: the
        # master's log thread drops them, and keeps every other line (ours, and any uWSGI error).
        "--log-master",
        *(option for pattern in UWSGI_NOISE for option in ("--log-drain", pattern)),
        "--ignore-sigpipe", "--ignore-write-errors", "--disable-write-exception",  # clients that leave early
        "--procname-prefix-spaced", "coprokg",
    ]


def serve(settings: Settings, announce: Callable[[], None] = lambda: None) -> None:
    """Run the service until interrupted (this process becomes the uWSGI master and does not return).

    `announce` is called once the store is open and the port is listening.

    Raises:
        StoreUnavailable: the on-disk store cannot be opened (the message says why).
        ConfigError: the port is taken, or nginx is missing or does not start.
    """
    global launch
    import pyuwsgi

    # Imported here, before the fork, so the workers share these pages instead of each loading a copy.
    import flask  # noqa: F401
    import pyoxigraph  # noqa: F401

    import server  # noqa: F401
    from server import api, graph_store, sparql, ui  # noqa: F401

    run_dir = edge.new_run_dir()
    writer = None
    try:
        edge_config = edge.prepare(settings, run_dir)
        writer = None if settings.is_remote else WriterProcess(settings)
        launch = (settings, writer)
        edge.start(settings, edge_config)
    except BaseException:
        if writer is not None:
            writer.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    announce()
    pyuwsgi.run(*uwsgi_options(settings, edge_config.workers_socket,
                               None if writer is None else writer.process.pid))
