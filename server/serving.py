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
import sys

from gunicorn.app.base import BaseApplication

from kg.config import Settings
from kg.writer import WriterProcess


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
