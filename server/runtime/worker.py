"""What uWSGI loads in its master: the WSGI entry point, and the hooks that set up each forked worker.

The master imports this module once uWSGI is running (server/runtime/serving.py names it), which is the moment
its `uwsgi` module accepts hooks. Each worker builds its own app after the fork: a RocksDB handle,
a connection to the writer and a watchdog thread cannot be shared across a fork.

nginx (server/runtime/edge.py) has read and framed every request before a worker takes it, and frames
every answer, so the entry point only hands the request to this worker's app.
"""

from __future__ import annotations

import logging
import os
import sys

import uwsgi

from server.runtime import serving

log = logging.getLogger("coprokg.server")

_app = None


def application(environ: dict, start_response):
    """The WSGI entry point uWSGI calls: the app this worker built after its fork."""
    return _app(environ, start_response)


def _start_worker() -> None:
    """Build this worker's app: its own snapshot handle, writer connection and watchdog."""
    global _app
    try:
        from server import create_app
        from server.runtime.watchdog import Watchdog

        settings, writer = serving.launch
        # The worker's pid on each line: several workers write to the same log.
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                            format="%(asctime)s [%(process)d] %(name)s %(message)s")
        # Every request writes an access line: skip what each record would gather and this format never
        # shows (thread, multiprocessing name, calling file and line), as the logging HOWTO's
        # "Optimization" section suggests.
        logging.logThreads = False
        logging.logMultiprocessing = False
        logging._srcfile = None
        if writer is None:
            _app = create_app(settings)
            return
        from server.runtime.served_store import ServedStore

        store = ServedStore(settings.store, writer.client(), allowlist=settings.service_allowlist,
                            timeout=settings.query_timeout)
        _app = Watchdog(create_app(settings, store=store), settings, connection_fd=uwsgi.connection_fd)
        store.guard = _app
    except BaseException:
        # uWSGI would swallow the error and keep a worker with no app: end it, so the log says why and
        # the master tries a fresh one.
        log.exception("worker %d could not start", os.getpid())
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(1)


uwsgi.post_fork_hook = _start_worker
