"""Production serving: uWSGI worker processes answering queries in-process, configured only from Settings.

For an on-disk store, `serve` first starts the single writer process (kg/writer.py), which holds the
store read-write and publishes a read-only snapshot after each write. This process then becomes the
uWSGI master and forks `workers` worker processes (size it to the cores). Each answers one request at a
time: queries run in the worker on its own read-only handle of the newest snapshot, writes go to the
writer, and a watchdog (server/watchdog.py) ends a worker whose query passes the timeout, after answering
503; the master starts a fresh one. For a remote store the workers pass everything on to it and its own
timeout applies.

Why uWSGI: its HTTP parsing, accept loop and process management are C, so a small query's answer is
not held up by the server's own Python (gunicorn's sync worker cost about 0.3 ms of CPU per request,
as much as a point lookup in Oxigraph). Its model is the one the timeout needs: one request at a time
per process, only idle workers accept, and a worker that exits is replaced.
"""

from __future__ import annotations

from kg.config import Settings
from kg.writer import WriterProcess

# What the master hands each forked worker (server/worker.py): set by serve() before uWSGI starts.
launch: tuple[Settings, WriterProcess | None] | None = None


def uwsgi_options(settings: Settings, writer_pid: int | None = None) -> list[str]:
    """uWSGI's command line for these settings (its own flags; nothing is read from a uWSGI config file)."""
    # The master runs no Python at its exit: a shell command tells the writer to finish its write and
    # close the store at once (it would also notice the master is gone, within a second). A reload
    # (SIGHUP) exits too, so the writer is never stopped under a master that goes on serving.
    stop_writer = [] if writer_pid is None else ["--exec-as-user-atexit", f"kill -TERM {writer_pid}",
                                                 "--exit-on-reload"]
    return [*stop_writer,
        "--strict",  # an unknown option is an error, not a silent no-op
        "--http-socket", f"{settings.host}:{settings.port}",
        "--master",
        "--processes", str(settings.workers),
        # Imported by the master once uWSGI is up (so it can install the fork hook), then forked.
        "--module", "server.worker:application",
        "--need-app",
        "--single-interpreter",
        # Python threads in the workers: the watchdog, and streaming of large answers.
        "--enable-threads",
        "--py-call-osafterfork",
        # One accept at a time across workers, so an idle worker takes the next connection.
        # Request line and headers up to 64 KiB: long SPARQL queries are sent by GET.
        "--buffer-size", "65535",
        # The watchdog ends overrunning queries at the timeout; this only catches a wedged worker.
        "--harakiri", str(int(settings.query_timeout) + 60),
        "--die-on-term",  # SIGTERM stops the service (uWSGI would otherwise reload it)
        "--no-orphans",
        "--worker-reload-mercy", "10",
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
