"""The single writer: the one holder of the on-disk store read-write, which makes every write and publishes it.

The web service's worker processes answer queries from read-only snapshots (server/runtime/snapshots.py) and send
their writes here. Each write is one transaction; its snapshot is published before the write is
answered, so a client reads its own write back at once, whichever worker answers it.

In production the writer runs in its own process (`python -m server.runtime.writer`, started by `coprokg serve`
before its workers) and workers reach it over a Unix socket; a store used in-process keeps a Writer in
the same process instead.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener
from pathlib import Path

from kg import errors
from kg.config import Settings
from kg.errors import KGError, QueryEvaluationError, StoreUnavailable
from server.runtime.snapshots import Publisher, snapshot_directory

log = logging.getLogger("coproserver.runtime.writer")

STARTUP_TIMEOUT_S = 300.0  # opening and checkpointing a large store takes a while
PARENT_CHECK_S = 1.0


class Writer:
    """The read-write store and its snapshot publisher; applies writes one at a time."""

    def __init__(self, settings: Settings) -> None:
        from kg.store import EmbeddedStore  # here: the server's master process imports this module, never the store

        self.store = EmbeddedStore(settings.store, allowlist=settings.service_allowlist,
                                   timeout=settings.query_timeout)
        self.publisher = Publisher(snapshot_directory(settings.store))
        self._epoch = f"{time.time_ns():x}"
        self._published = 0
        self._lock = threading.Lock()
        self._publish()

    def apply(self, operation: str, args: tuple, kwargs: dict) -> str:
        """Make one write ("update" or "restore") and publish it; give the new snapshot's generation.

        Raises:
            UpdateSyntaxError, Forbidden, BadRequest, QueryEvaluationError: as EmbeddedStore raises them;
            nothing was written.
        """
        with self._lock:
            if operation == "update":
                self.store.update(*args, **kwargs)
            elif operation == "restore":
                self.store.restore(*args)
            else:
                raise QueryEvaluationError(f"the writer knows no operation {operation!r}")
            self._publish()
            return self.publisher.current

    def _publish(self) -> None:
        self._published += 1
        self.publisher.publish(self.store.ox, f"{self._epoch}-{self._published}")

    def close(self) -> None:
        """Wait for a write in progress, then close the store and delete the snapshots."""
        with self._lock:
            self.store.close()
            self.publisher.close()


def _error_reply(e: Exception) -> tuple:
    if isinstance(e, KGError):
        return ("error", type(e).__name__, str(e))
    log.exception("the write failed")
    return ("error", "QueryEvaluationError", f"the write failed and changed nothing: {type(e).__name__}: {e}")


def _raise_reply(name: str, message: str):
    """Raise the KGError the writer reported, as the same class when it can be rebuilt from its message."""
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, KGError):
        try:
            raise cls(message)
        except TypeError:
            pass
    raise QueryEvaluationError(message)


class WriterClient:
    """A worker process's connection to the writer process."""

    def __init__(self, address: str, authkey: bytes) -> None:
        self.address, self.authkey = address, authkey
        self._connection = None
        self._pid = None
        self._lock = threading.Lock()

    def apply(self, operation: str, args: tuple, kwargs: dict) -> str:
        """Send one write to the writer and wait until it is published.

        Raises:
            StoreUnavailable: the writer cannot be reached or went away (the write may not have been made).
            Any KGError the write raised in the writer.
        """
        with self._lock:
            try:
                connection = self._connect()
                connection.send((operation, args, kwargs))
                reply = connection.recv()
            except (OSError, EOFError) as e:
                self._drop()
                raise StoreUnavailable(f"the store's writer process does not answer: {e}") from e
        if reply[0] == "error":
            _raise_reply(reply[1], reply[2])
        return reply[1]

    def _connect(self):
        # A connection is never shared across fork: a forked worker opens its own.
        if self._connection is None or self._pid != os.getpid():
            self._connection, self._pid = Client(self.address, family="AF_UNIX", authkey=self.authkey), os.getpid()
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop()


class WriterProcess:
    """The writer running in its own process; the server starts it before forking its workers."""

    def __init__(self, settings: Settings) -> None:
        """Start the writer and wait until its first snapshot is published.

        Raises:
            StoreUnavailable: the writer could not open the store (the message says why).
        """
        self._directory: Path | None = None
        if sys.platform.startswith("linux"):
            # An abstract socket: nothing on disk that a killed server could leave behind. Any local
            # process may connect, but none gets past the handshake without the random key.
            self.address = f"\0coprokg-writer-{os.getpid()}-{os.urandom(8).hex()}"
        else:
            # A private directory: the socket inside is reachable by this user only.
            self._directory = Path(tempfile.mkdtemp(prefix="coprokg-writer-"))
            self.address = str(self._directory / "socket")
        self.authkey = os.urandom(32)
        self._owner = os.getpid()  # uWSGI's forked workers inherit this object; only the starter stops it
        config = {"store": settings.store, "allowlist": list(settings.service_allowlist),
                  "timeout": settings.query_timeout, "address": self.address, "authkey": self.authkey.hex()}
        self.process = subprocess.Popen([sys.executable, "-m", "server.runtime.writer"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, close_fds=True)
        self.process.stdin.write(json.dumps(config).encode() + b"\n")
        self.process.stdin.close()
        line = self._first_line()
        if not line.startswith("ready"):
            try:
                self.process.wait(timeout=10)  # it exits by itself after saying why
            except subprocess.TimeoutExpired:
                pass
            self.stop()
            raise StoreUnavailable(line.removeprefix("error: ") or "the store's writer process exited")

    def _first_line(self) -> str:
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(STARTUP_TIMEOUT_S):
                return f"error: the store's writer process did not start within {STARTUP_TIMEOUT_S:g} s"
        return self.process.stdout.readline().decode("utf-8", "replace").strip()

    def client(self) -> WriterClient:
        return WriterClient(self.address, self.authkey)

    def stop(self) -> None:
        """Ask the writer to finish its write in progress and close the store; kill it if it does not."""
        if os.getpid() != self._owner:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)


# --- the writer process ---------------------------------------------------------------------------------


class _Stop(Exception):
    """SIGTERM, or the server that started the writer is gone."""


def _serve_connection(writer: Writer, connection) -> None:
    with connection:
        while True:
            try:
                operation, args, kwargs = connection.recv()
            except (EOFError, OSError):
                return
            try:
                reply = ("ok", writer.apply(operation, args, kwargs))
            except Exception as e:  # every failure goes back to the worker that asked
                reply = _error_reply(e)
            try:
                connection.send(reply)
            except OSError:
                return


def _watch_parent(parent: int) -> None:
    # Orphaned (the server was killed): stop cleanly rather than hold the store's lock forever.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os.kill(os.getpid(), signal.SIGTERM)


def _stop(signum, frame) -> None:
    # Once only: a second SIGTERM (the server's exit and the parent watch may both send one) must not
    # interrupt the store's closing in the `finally` the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Stop()


def main() -> None:
    """Run the writer process: read its configuration from stdin, then serve writes until SIGTERM."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s [%(process)d] %(name)s %(message)s")
    config = json.loads(sys.stdin.readline())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server stops us in order
    settings = Settings(store=config["store"], service_allowlist=tuple(config["allowlist"]),
                        query_timeout=config["timeout"])
    try:
        writer = Writer(settings)
    except KGError as e:
        print(f"error: {e}", flush=True)
        sys.exit(1)
    listener = Listener(config["address"], family="AF_UNIX", authkey=bytes.fromhex(config["authkey"]))
    try:
        signal.signal(signal.SIGTERM, _stop)  # from here on, SIGTERM closes the store cleanly
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True, name="coprokg-parent-watch").start()
        print(f"ready {writer.publisher.current}", flush=True)
        while True:
            try:
                connection = listener.accept()
            except (OSError, EOFError, AuthenticationError) as e:
                log.warning("refused a connection to the writer: %s", e)
                continue
            threading.Thread(target=_serve_connection, args=(writer, connection), daemon=True,
                             name="coprokg-writer-connection").start()
    except _Stop:
        pass
    finally:
        try:
            listener.close()
        except OSError:
            pass  # the socket's directory is already gone
        writer.close()


if __name__ == "__main__":
    main()
