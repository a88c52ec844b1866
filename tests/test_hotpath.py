"""The per-request shortcuts of the hot path give exactly what the slow paths they replace gave."""

from __future__ import annotations

import socket

import pytest
from gunicorn.config import Config
from gunicorn.http import get_parser

from kg.errors import BadRequest
from server.serving import _fully_received
from server.sparql import _parse_params

def test_a_percent_escape_that_is_not_utf8_is_still_refused():
    with pytest.raises(BadRequest, match="the URL holds a percent-escape that is not UTF-8"):
        _parse_params("query=%FF", "the URL")


def _parsed(request_bytes: bytes):
    """A real gunicorn request parsed from a real socket, with the client's end still open."""
    server_side, client_side = socket.socketpair()
    client_side.sendall(request_bytes)
    request = next(get_parser(Config(), server_side, ("127.0.0.1", 1)))
    return request, server_side, client_side


def test_a_bodiless_get_closes_at_once_but_unread_or_pipelined_bytes_keep_the_lingering_close():
    request, server_side, client_side = _parsed(b"GET /sparql?query=ASK{} HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _fully_received(request, server_side)
    request, server_side, client_side = _parsed(
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nquery=ASK{}")
    assert not _fully_received(request, server_side)  # the body was never read
    request, server_side, client_side = _parsed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    client_side.sendall(b"GET /second HTTP/1.1\r\n")  # a pipelined request arriving after the first was read
    assert not _fully_received(request, server_side)
