"""The query timeout in production: a worker whose query overruns answers 503, then ends so the work stops.

pyoxigraph cannot cancel a query and a thread cannot be killed, but a process can be ended. Each
uWSGI worker answers one request at a time; the store calls `arm` as a query starts, and at the
deadline this watchdog writes the timeout answer on the request's connection (unless the answer has
begun) and ends the worker. The uWSGI master starts a fresh worker in its place while the others go
on serving. pyoxigraph releases the GIL while it evaluates, so the watchdog thread runs on time.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable

from kg.config import Settings
from kg.errors import QueryTimeout

log = logging.getLogger("coprokg.server")
access_log = logging.getLogger("coprokg.access")

# The worker's exit status after a timeout, which the master's log shows when it replaces the worker.
EXIT_QUERY_TIMEOUT = 70


class _Request:
    """One request in progress: its connection's file descriptor, whether its answer has begun, and its deadline."""

    def __init__(self, environ: dict, fd: int | None) -> None:
        self.environ = environ
        self.fd = fd
        self.started = False  # the first byte of the answer went to the server: too late for a 503
        self.deadline: float | None = None
        self.timeout = 0.0
        self.received = time.perf_counter()
        self.lock = threading.Lock()


class _Body:
    """The app's answer, marking when it starts and ending the request when the server closes it."""

    def __init__(self, body: Iterable[bytes], request: _Request, watchdog: Watchdog) -> None:
        self.body, self.request, self.watchdog = body, request, watchdog

    def __iter__(self):
        request = self.request
        for chunk in self.body:
            if not request.started:
                with request.lock:  # after the watchdog fired, this waits for the process to end
                    request.started = True
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.watchdog.finish(self.request)


class Watchdog:
    """WSGI middleware and thread that end this worker process when a query passes its deadline."""

    def __init__(self, app, settings: Settings, exit=os._exit,
                 connection_fd: Callable[[], int | None] = lambda: None) -> None:
        """Watch `app`'s queries; `connection_fd` gives the current request's socket (uwsgi.connection_fd)."""
        self.app = app
        self.settings = settings
        self._exit = exit
        self._connection_fd = connection_fd
        self._requests: dict[int, _Request] = {}
        # The thread looks at the deadlines this often, so arming one costs an assignment, not a wake-up.
        self._period = min(0.25, settings.query_timeout / 20)
        threading.Thread(target=self._watch, daemon=True, name="coprokg-watchdog").start()

    def __call__(self, environ: dict, start_response):
        request = _Request(environ, self._connection_fd())
        self._requests[threading.get_ident()] = request
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self.finish(request)
            raise
        return _Body(body, request, self)

    def arm(self, timeout: float) -> bool:
        """Start the current request's query deadline, unless a query still in progress started one; say if it did."""
        request = self._requests.get(threading.get_ident())
        if request is None or request.deadline is not None:
            return False
        request.timeout = timeout
        request.deadline = time.monotonic() + timeout
        return True

    def disarm(self) -> None:
        """Clear the current request's deadline: its query's work is done (the answer is in memory)."""
        request = self._requests.get(threading.get_ident())
        if request is not None:
            request.deadline = None

    def finish(self, request: _Request) -> None:
        request.deadline = None
        if self._requests.get(threading.get_ident()) is request:
            del self._requests[threading.get_ident()]

    def _watch(self) -> None:
        while True:
            now = time.monotonic()
            deadlines = [(r.deadline, r) for r in list(self._requests.values()) if r.deadline is not None]
            for deadline, request in deadlines:
                if deadline <= now:
                    self._fire(request)
            time.sleep(min([self._period] + [deadline - now for deadline, _ in deadlines if deadline > now]))

    def _fire(self, request: _Request) -> None:
        with request.lock:
            if request.deadline is None:
                return  # the query finished meanwhile
            detail = f"the query ran longer than the {request.timeout:g} s limit and was stopped"
            if not request.started and request.fd is not None:
                self._answer(request, detail)
            else:
                log.warning("a query ran past its %g s limit after its answer began; the answer is cut short",
                            request.timeout)
            log.warning("ending worker %d: its query ran past the %g s limit (a fresh worker replaces it)",
                        os.getpid(), request.timeout)
            for handler in logging.getLogger().handlers + log.handlers:
                handler.flush()
            self._exit(EXIT_QUERY_TIMEOUT)

    def _answer(self, request: _Request, detail: str) -> None:
        """Write the 503 the error handler would have written, then close the connection."""
        body = json.dumps({"error": QueryTimeout.title, "detail": detail}).encode()
        headers = ["HTTP/1.1 503 SERVICE UNAVAILABLE", "Content-Type: application/json", "X-Content-Type-Options: nosniff",
                   f"Content-Length: {len(body)}", "Connection: close"]
        origin = self._allowed_origin(request.environ.get("HTTP_ORIGIN"))
        if origin is not None:
            headers.append(f"Access-Control-Allow-Origin: {origin}")
        try:
            # A duplicate of the server's descriptor: closing it leaves the server's own alone.
            with socket.socket(fileno=os.dup(request.fd)) as connection:
                connection.sendall(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body)
                connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the client left already
        environ = request.environ
        query = environ.get("QUERY_STRING")
        path = environ.get("PATH_INFO", "")[:300] + (f"?<{len(query)} bytes>" if query else "")  # as server/http_policy.py
        access_log.info('%s "%s %s" 503 %d %.1fms', environ.get("REMOTE_ADDR"), environ.get("REQUEST_METHOD"),
                        path, len(body), (time.perf_counter() - request.received) * 1000)

    def _allowed_origin(self, origin: str | None) -> str | None:
        # The same rule as server/http_policy.py, which cannot run here: no Flask request is active.
        origins = self.settings.cors_origins
        if origin is None or not origins:
            return None
        return "*" if "*" in origins else origin if origin in origins else None
