"""What uWSGI loads in its master: the WSGI entry point, and the hooks that set up each forked worker.

The master imports this module once uWSGI is running (server/serving.py names it), which is the moment
its `uwsgi` module accepts hooks. Each worker builds its own app after the fork: a RocksDB handle,
a connection to the writer and a watchdog thread cannot be shared across a fork.

uWSGI's http-socket speaks a plain HTTP/1.1 and leaves four things to the application, which this
entry point does for every request before the app sees it:
- a chunked request body is handed over undecoded: it is decoded here (bounded by the largest body
  any endpoint accepts), so the app sees an ordinary body with a Content-Length;
- an answer without a Content-Length is not chunked: it is framed here, so a client can tell an answer
  cut short (a crash, or the timeout after the answer began) from a complete one;
- each connection is closed after its answer without saying so: `Connection: close` is added;
- a query string too long for uWSGI's buffer is silently left out: that request is refused (414).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator

import uwsgi

from kg.errors import BadRequest, PayloadTooLarge, URITooLong
from server import serving
from server.http_policy import INPUT_ERROR_KEY

log = logging.getLogger("coprokg.server")

_app = None
_body_limit = 0
# How long one chunk of a chunked request body may take to arrive.
CHUNK_TIMEOUT_S = 60
# Chunked bodies up to this size are kept in memory, bigger ones in a temporary file.
SPOOL_BYTES = 1024 * 1024
NO_BODY_STATUSES = ("1", "204", "304")


def application(environ: dict, start_response):
    """The WSGI entry point uWSGI calls: HTTP framing here, then the app this worker built after its fork."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        _decode_chunked_body(environ)
    if "QUERY_STRING" not in environ and "?" in environ.get("REQUEST_URI", ""):
        # uWSGI leaves out a variable that does not fit its buffer: the query string was too long to pass on.
        environ[INPUT_ERROR_KEY] = URITooLong(
            "the URL's query string is too long to read (about 30 KB at most); send the query by POST")
    framed = environ.get("SERVER_PROTOCOL") == "HTTP/1.1" and environ.get("REQUEST_METHOD") != "HEAD"
    chunked = False

    def start_with_framing(status: str, headers: list, exc_info=None):
        nonlocal chunked
        names = {name.lower() for name, _ in headers}
        chunked = framed and "content-length" not in names and not status.startswith(NO_BODY_STATUSES)
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        if "connection" not in names:
            headers.append(("Connection", "close"))
        return start_response(status, headers, exc_info)

    body = _app(environ, start_with_framing)
    return _Chunked(body) if chunked else body


def _decode_chunked_body(environ: dict) -> None:
    """Replace a chunked body by its decoded bytes; leave a BadRequest or PayloadTooLarge for the app to raise."""
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    size = 0
    try:
        while chunk := uwsgi.chunked_read(CHUNK_TIMEOUT_S):
            size += len(chunk)
            if size > _body_limit:
                environ[INPUT_ERROR_KEY] = PayloadTooLarge(
                    f"the chunked body passed {_body_limit} bytes, the most any endpoint here accepts")
                break
            body.write(chunk)
    except OSError as e:  # uWSGI's chunked reader: a malformed chunk, or one that did not arrive in time
        environ[INPUT_ERROR_KEY] = BadRequest(f"the chunked request body could not be read: {e}")
    body.seek(0)
    environ["wsgi.input"] = body
    environ["CONTENT_LENGTH"] = str(min(size, _body_limit))
    del environ["HTTP_TRANSFER_ENCODING"]


class _Chunked:
    """An answer framed in HTTP/1.1 chunks; the closing chunk is sent only when the answer really ended."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        for data in self.body:
            if data:
                yield b"%x\r\n%s\r\n" % (len(data), data)
        yield b"0\r\n\r\n"

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


def _start_worker() -> None:
    """Build this worker's app: its own snapshot handle, writer connection and watchdog."""
    global _app, _body_limit
    try:
        from server import create_app
        from server.watchdog import Watchdog

        settings, writer = serving.launch
        _body_limit = max(settings.max_query_bytes, settings.max_upload_bytes)
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
    except BaseException:
        # uWSGI would swallow the error and keep a worker with no app: end it, so the log says why and
        # the master tries a fresh one.
        log.exception("worker %d could not start", os.getpid())
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(1)


uwsgi.post_fork_hook = _start_worker
