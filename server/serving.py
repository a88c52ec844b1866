"""Production serving: gunicorn worker processes answering queries in-process, configured only from Settings.

For an on-disk store, `serve` first starts the single writer process (kg/writer.py), which holds the
store read-write and publishes a read-only snapshot after each write. gunicorn then forks `workers`
sync workers (size it to the cores). Each answers one request at a time: queries run in the worker on
its own read-only handle of the newest snapshot, writes go to the writer, and a watchdog
(server/watchdog.py) ends a worker whose query passes the timeout, after answering 503; gunicorn starts
a fresh one. For a remote store the workers pass everything on to it and its own timeout applies.
"""

from __future__ import annotations

import logging
import socket
import sys

from gunicorn.app.base import BaseApplication
from gunicorn.http.body import LengthReader

from kg.config import Settings
from kg.writer import WriterProcess


def close_if_fully_received(worker, req, environ: dict, resp) -> None:
    """gunicorn's post_request hook: close an answered connection at once when the client has nothing left to send.

    The sync worker answers every request with `Connection: close`, then waits (up to 2 s) for the client to
    close its side, so that unread request bytes cannot make the kernel reset the connection and cut the
    answer short. Most requests are a GET whose every byte was read: there is nothing to protect, and the
    wait held the worker for a client round trip per request, a third of its time under load. Like nginx's
    `lingering_close auto`, this closes at once then, and keeps the wait whenever the client may still be
    sending (an unread or chunked body, or bytes sent behind the request). gunicorn's own close then finds
    the socket closed and returns.
    """
    client = environ.get("gunicorn.socket")
    # Only after an answer went out: before that, gunicorn may still write its own error answer.
    if client is not None and resp is not None and resp.headers_sent and _fully_received(req, client):
        client.close()


def _fully_received(req, client: socket.socket) -> bool:
    """Whether the request's body was all read and the client sent nothing after it."""
    reader = getattr(req.body, "reader", None)
    if not isinstance(reader, LengthReader) or reader.length > 0 or req.unreader.buf.getvalue():
        return False
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""  # b"": the client closed already
    except BlockingIOError:
        return True  # nothing waiting to be read
    except OSError:
        return False


class CoproKGServer(BaseApplication):
    """gunicorn, with settings from Settings rather than gunicorn's command line."""

    def __init__(self, settings: Settings, writer: WriterProcess | None) -> None:
        self.settings = settings
        self.writer = writer
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        for key, value in {
            "bind": [f"{s.host}:{s.port}"],
            "workers": s.workers,
            # One request at a time per process: a worker ended at a query's deadline takes no other
            # request with it, and a busy worker accepts no connection another worker could answer.
            "worker_class": "sync",
            "post_request": close_if_fully_received,
            # The watchdog ends overrunning queries; this only catches a wedged process.
            "timeout": int(s.query_timeout) + 60,
            "graceful_timeout": 10,
            "accesslog": None,  # our own access log (server/http_policy.py) has one line per request
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "coprokg",
            "control_socket_disable": True,  # no socket under $HOME; several servers may run side by side
            # Bounded header sizes; bodies are limited by the app (413 before reading).
            "limit_request_line": 8190,
        }.items():
            self.cfg.set(key, value)

    def load(self):
        """Build the app in a freshly forked worker: its own snapshot handle, writer connection and watchdog."""
        from server import create_app
        from server.watchdog import Watchdog

        # The worker's pid on each line: several workers write to the same log.
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s [%(process)d] %(name)s %(message)s")
        # Every request writes an access line: skip what each record would gather and this format never
        # shows (thread, multiprocessing name, calling file and line), as the logging HOWTO's
        # "Optimization" section suggests.
        logging.logThreads = False
        logging.logMultiprocessing = False
        logging._srcfile = None
        if self.writer is None:
            return create_app(self.settings)
        from kg.served_store import ServedStore

        store = ServedStore(self.settings.store, self.writer.client(), allowlist=self.settings.service_allowlist,
                            timeout=self.settings.query_timeout)
        watchdog = Watchdog(create_app(self.settings, store=store), self.settings)
        store.guard = watchdog
        return watchdog


def serve(settings: Settings) -> None:
    """Run the service until interrupted.

    Raises:
        StoreUnavailable: the on-disk store cannot be opened (the message says why).
    """
    writer = None if settings.is_remote else WriterProcess(settings)
    try:
        CoproKGServer(settings, writer).run()
    finally:
        if writer is not None:
            writer.stop()
