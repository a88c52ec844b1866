"""HTTP to a remote SPARQL store: each call bounded as a whole by one deadline, and never redirected.

requests' timeouts bound each socket operation, not a call: a store that sends its answer (or its
headers) a byte a second never trips them, and closing a response while another thread reads it waits
for that read, as the reader holds the buffer's lock. So each connection a call uses is recorded in
the call, and when the call is cut (at its deadline, or when its reader gives up) their sockets are shut
down: a read or write blocked on one ends at once, in whatever thread, and closing no longer waits.

Redirects are never followed, not even to the same host. The store's URL is configuration; following a
307/308 would resend a query or an update (with the credentials, on the same host) to an address nobody
configured, and a 302/303 would turn the POST into a GET that has lost its query. A redirect is a
failure that names, to the operator, where it pointed, so the configured URL can be corrected.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    from kg.store_auth import StoreAuth

# What a call may fail with, before its answer or while reading it (requests' errors are OSErrors).
READ_ERRORS = (OSError, urllib3.exceptions.HTTPError)

# The call each thread is making, which its connections join when they connect or send a request.
_current = threading.local()


class Call:
    """One call to the remote store (its request, reading its answer, closing it), cut at its deadline.

    Use it as a context manager in the thread that makes the call; `cut()` may come from any thread.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.expired = False  # cut by the deadline, so whatever failed after that failed because of it
        self._cut = False
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self.cut, kwargs={"expired": True})
        self._timer.daemon = True
        self._timer.start()

    def __enter__(self) -> "Call":
        _current.call = self
        return self

    def __exit__(self, *exc) -> None:
        _current.call = None
        self._timer.cancel()

    def join(self, connection: HTTPConnection) -> None:
        """Record a connection this call uses; one joining a call already cut is shut down at once."""
        with self._lock:
            if connection not in self._connections:
                self._connections.append(connection)
            cut = self._cut
        if cut:
            _shut_down(connection)

    def cut(self, expired: bool = False) -> None:
        """End every read and write of this call now (it must not block: readers may hold their locks)."""
        with self._lock:
            self._cut = True
            self.expired = self.expired or expired
            connections = list(self._connections)
        for connection in connections:
            _shut_down(connection)


def _shut_down(connection: HTTPConnection) -> None:
    sock = connection.sock  # during a TLS handshake still the plain socket, which is what to shut
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed, or never connected
            pass


def _join_current_call(connection: HTTPConnection) -> None:
    call = getattr(_current, "call", None)
    if call is not None:
        call.join(connection)


class _CallBoundConnection(HTTPConnection):
    """A connection that joins the current call before each request (it may be reused from the pool)."""

    def connect(self) -> None:
        super().connect()
        _join_current_call(self)  # after: only now is there a socket a cut already made can shut

    def request(self, *args, **kwargs) -> None:
        _join_current_call(self)
        super().request(*args, **kwargs)


class _CallBoundHTTPSConnection(HTTPSConnection):
    """The same, over TLS (urllib3 connects these before the request, so joining on connect matters)."""

    def connect(self) -> None:
        _join_current_call(self)  # before too: the handshake can be cut through the plain socket
        super().connect()
        _join_current_call(self)

    def request(self, *args, **kwargs) -> None:
        _join_current_call(self)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _CallBoundConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CallBoundHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _CallBoundAdapter(HTTPAdapter):
    """requests' adapter, with connections that join the current call (directly or through an HTTP proxy)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools have their own classes: per-operation timeouts only
            manager.pool_classes_by_scheme = _POOLS
        return manager


class _Session(requests.Session):
    def get_redirect_target(self, response) -> None:
        return None  # nothing is followed, whatever a call's allow_redirects says (see the module's docstring)


def new_session(auth: StoreAuth | None) -> requests.Session:
    """A session for one thread: connections bound to the current Call, the store's credentials, no redirects."""
    session = _Session()
    session.headers["User-Agent"] = "CoproKG"
    adapter = _CallBoundAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if auth is not None:
        session.auth = auth.for_requests()  # one per session: digest keeps its nonce count there
    return session
