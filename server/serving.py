"""Production serving: uWSGI worker processes answering queries in-process, configured only from Settings.

For an on-disk store, `serve` first starts the single writer process (kg/writer.py), which holds the
store read-write and publishes a read-only snapshot after each write. This process then becomes the
uWSGI master and forks `workers` worker processes (size it to the cores). Each answers one request at a
time: queries run in the worker on its own read-only handle of the newest snapshot, writes go to the
writer, and a watchdog (server/watchdog.py) ends a worker whose query passes the timeout, after answering
503; the master starts a fresh one. For a remote store the workers pass everything on to it and its own
timeout applies.

Why uWSGI: its HTTP parsing, accept loop and process management are C, so a small query's answer is
not held up by the server's own Python (a trivial app answered in 0.51 ms under gunicorn's sync worker
and 0.27 ms under uWSGI, when a point lookup in Oxigraph takes about 0.2 ms). Its model is the one the timeout needs: one request at a time
per process, only idle workers accept, and a worker that exits is replaced.
"""

from __future__ import annotations

from kg.config import Settings
from kg.writer import WriterProcess

# What the master hands each forked worker (server/worker.py): set by serve() before uWSGI starts.
launch: tuple[Settings, WriterProcess | None] | None = None


def uwsgi_options(settings: Settings, writer_pid: int | None = None) -> list[str]:
    """uWSGI's command line for these settings (its own flags; nothing is read from a uWSGI config file)."""
    host = f"[{settings.host}]" if ":" in settings.host and not settings.host.startswith("[") else settings.host
    stop_writer = []
    if writer_pid is not None:
        # The master runs no Python at its exit: this shell command asks the writer to finish its write
        # and close the store, and waits (up to 30 s) until it has, so the store is free once we return.
        # The writer is recognised by its command line, which an exited (zombie) process no longer has.
        running = f"grep -q kg.writer /proc/{writer_pid}/cmdline 2>/dev/null"
        stop_writer = ["--exec-as-user-atexit",
                       f"{running} && kill -TERM {writer_pid}; "
                       f"for i in $(seq 300); do {running} || break; sleep 0.1; done"]
    return [
        "--strict",  # an unknown option is an error, not a silent no-op
        "--http-socket", f"{host}:{settings.port}",
        "--listen", "128",
        "--master",
        "--processes", str(settings.workers),
        # Imported by the master once uWSGI is up (so it can install the fork hook), then forked.
        "--module", "server.worker:application",
        "--need-app",
        "--single-interpreter",
        # Python threads in the workers: the watchdog, and streaming of large answers.
        "--enable-threads",
        "--py-call-osafterfork",
        # Request line and headers up to 64 KiB (uWSGI keeps the query string twice in it).
        "--buffer-size", "65535",
        # A client may pause this long between reads or writes (uWSGI's default, 4 s, cuts off slow readers).
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
        *stop_writer,
        "--no-orphans",
        "--disable-logging",  # our own access log (server/http_policy.py) has one line per request
        "--ignore-sigpipe", "--ignore-write-errors", "--disable-write-exception",  # clients that leave early
        "--procname-prefix-spaced", "coprokg",
    ]


def serve(settings: Settings) -> None:
    """Run the service until interrupted (this process becomes the uWSGI master and does not return).

    Raises:
        StoreUnavailable: the on-disk store cannot be opened (the message says why).
    """
    global launch
    import pyuwsgi

    # Imported here, before the fork, so the workers share these pages instead of each loading a copy.
    import flask  # noqa: F401
    import pyoxigraph  # noqa: F401

    import server  # noqa: F401
    from server import api, graph_store, sparql, ui  # noqa: F401

    writer = None if settings.is_remote else WriterProcess(settings)
    launch = (settings, writer)
    pyuwsgi.run(*uwsgi_options(settings, None if writer is None else writer.process.pid))
