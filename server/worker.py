"""What uWSGI loads in its master: the WSGI entry point, and the hooks that set up each forked worker.

The master imports this module once uWSGI is running (server/serving.py names it), which is the moment
its `uwsgi` module accepts hooks. Each worker builds its own app after the fork: a RocksDB handle,
a connection to the writer and a watchdog thread cannot be shared across a fork.
"""

from __future__ import annotations

import logging
import os
import sys

import uwsgi

from server import serving

_app = None
# uWSGI's http-socket closes each connection after its answer without saying so; clients that assume
# HTTP/1.1 keep-alive (connection pools, wrk) would otherwise send their next request into a closed socket.
CONNECTION_CLOSE = ("Connection", "close")


def application(environ: dict, start_response):
    """The WSGI entry point uWSGI calls: the app this worker built after it was forked."""

    def start_closing(status: str, headers: list, exc_info=None):
        headers.append(CONNECTION_CLOSE)
        return start_response(status, headers, exc_info)

    return _app(environ, start_closing)


def _start_worker() -> None:
    """Build this worker's app: its own snapshot handle, writer connection and watchdog."""
    global _app
    from server import create_app
    from server.watchdog import Watchdog

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
    from kg.served_store import ServedStore

    store = ServedStore(settings.store, writer.client(), allowlist=settings.service_allowlist,
                        timeout=settings.query_timeout)
    _app = Watchdog(create_app(settings, store=store), settings, connection_fd=uwsgi.connection_fd)
    store.guard = _app


uwsgi.post_fork_hook = _start_worker
