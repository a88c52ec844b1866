"""Policies every request passes through: body limits, bearer-token writes, write rate limits, CORS, security
headers, the access log.

Secrets stay out of the log: the access log writes the method, the path, the query string's length (not its
text, where a careless client may have put a token), status, size and time, never a header or a body.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict

from flask import Flask, Response, current_app, g, request

from kg.config import Settings
from kg.errors import Forbidden, PayloadTooLarge, TooManyRequests, Unauthorized

access_log = logging.getLogger("coprokg.access")

# Blueprints whose request bodies are RDF uploads (the larger limit); every other body is a query or update.
UPLOAD_BLUEPRINTS = {"graph_store"}
CORS_METHODS = "GET, HEAD, POST, OPTIONS"
# Authorization is deliberately absent: browsers on other origins may read, never write.
CORS_HEADERS = "Accept, Content-Type"
# The most clients whose write budgets are remembered; the longest-idle are forgotten first, so a flood
# of addresses costs bounded memory (a forgotten client starts again with a full budget).
MAX_TRACKED_CLIENTS = 10_000
# A problem the server met reading the request's body (a malformed or oversize chunked body, see
# server/runtime/worker.py), left in the environ for the app to answer like any other error.
INPUT_ERROR_KEY = "coprokg.input_error"


# Every response carries these. The pages load scripts, styles, fonts and images from this server only, and
# nothing inline (a page that must, such as pyLODE's /docs, sets its own policy with the hashes of its
# inline styles); no other site may frame them, and no page tells the sites it links to where the reader was.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
}


def content_security_policy(style_sources: list[str] | tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy header value; `style_sources` (hashes, a nonce) admit exactly those inline styles."""
    styles = " ".join(("'self'", *style_sources))
    return ("default-src 'self'; script-src 'self'; style-src " + styles + "; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


DEFAULT_CSP = content_security_policy()


def style_nonce() -> str:
    """A nonce that admits this response's own <style> elements (the query editor makes one), fresh per request."""
    if "style_nonce" not in g:
        g.style_nonce = secrets.token_urlsafe(18)
    return g.style_nonce


class WriteRateLimiter:
    """A token bucket per client address: `per_minute` writes a minute, in bursts of up to `per_minute`."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """Spend one write from `client`'s budget.

        Raises:
            TooManyRequests: the budget is empty; `retry_after` says when one write is available again.
        """
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.refill_per_second)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.refill_per_second)
                raise TooManyRequests(f"at most {self.capacity:g} writes a minute per client; retry in {wait} s",
                                      retry_after=wait)
            self._buckets[client] = (tokens - 1.0, now)
            while len(self._buckets) > MAX_TRACKED_CLIENTS:
                self._buckets.popitem(last=False)


def settings() -> Settings:
    return current_app.extensions["coprokg.settings"]


def require_token() -> None:
    """Allow a write only within the client's write rate and with the configured bearer token.

    Raises:
        Forbidden: the service is read-only (no token configured, or COPROKG_UPDATES=off).
        TooManyRequests: the client's write budget is spent (wrong-token attempts count too, which slows guessing).
        Unauthorized: the token is missing or wrong.
    """
    s = settings()
    if s.read_only:
        raise Forbidden("this service is read-only: set COPROKG_TOKEN (and leave COPROKG_UPDATES unset or on) "
                        "to allow writes")
    try:
        current_app.extensions["coprokg.write_limiter"].take(request.remote_addr or "unknown")
    except TooManyRequests as e:
        g.retry_after = e.retry_after  # the after-request hook turns it into the Retry-After header
        raise
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not tokens_match(given.strip(), s.token or ""):
        raise Unauthorized("send the write token as 'Authorization: Bearer <token>'")


def tokens_match(given: str, expected: str) -> bool:
    """Compare tokens in constant time, of their content and of their length alike."""
    # compare_digest alone returns early on a length mismatch; equal-length digests hide the length too.
    given_digest = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(given_digest, hashlib.sha256(expected.encode("utf-8")).digest())


def body_limit() -> int:
    """The largest request body this endpoint accepts."""
    if request.blueprint in UPLOAD_BLUEPRINTS:
        return settings().max_upload_bytes
    return settings().max_query_bytes


def _before() -> Response | None:
    g.started = time.perf_counter()
    req = request._get_current_object()  # one proxy look-up, not one per attribute: this runs on every request
    problem = req.environ.get(INPUT_ERROR_KEY)
    if problem is not None:
        raise problem  # found by the server while reading the body (server/runtime/worker.py)
    if req.method == "OPTIONS" and "Access-Control-Request-Method" in req.headers:
        return _preflight()
    limit = body_limit()
    # Refuse on the declared length, before a byte of the body is read; a chunked body is cut off at the limit.
    req.max_content_length = limit
    declared = req.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"the body has {declared} bytes; this endpoint accepts at most {limit}")
    return None


def _allowed_origin(origins: tuple[str, ...] | None = None) -> str | None:
    if origins is None:
        origins = settings().cors_origins
    if not origins:
        return None  # no CORS configured: the Origin header need not even be read
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def _preflight() -> Response:
    response = Response(status=204)
    origin = _allowed_origin()
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    response.vary.add("Origin")
    return response


def _after(response: Response) -> Response:
    req = request._get_current_object()
    origins = settings().cors_origins
    if origins:
        origin = _allowed_origin(origins)
        if origin is not None and "Access-Control-Allow-Origin" not in response.headers:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Content-Type, ETag, Location"
        if origin != "*":
            add_vary(response, "Origin")
    status = response.status_code
    if status == 413:
        # Close rather than drain the unread body of an oversize request.
        response.headers["Connection"] = "close"
    if status == 429 and "retry_after" in g:
        response.headers["Retry-After"] = str(g.retry_after)
    headers = response.headers
    headers.update(SECURITY_HEADERS)
    if "Content-Security-Policy" not in headers:
        nonce = g.get("style_nonce")
        headers["Content-Security-Policy"] = DEFAULT_CSP if nonce is None else content_security_policy((f"'nonce-{nonce}'",))
    if access_log.isEnabledFor(logging.INFO):
        now = time.perf_counter()
        elapsed = (now - g.get("started", now)) * 1000
        query = f"?<{len(req.query_string)} bytes>" if req.query_string else ""
        length = response.content_length
        access_log.info('%s "%s %s%s" %s %s %.1fms', req.remote_addr, req.method, req.path[:300], query, status,
                        length if length is not None else "-", elapsed)
    return response


def add_vary(response: Response, name: str) -> None:
    """Add `name` to the Vary header unless it is there; the header text equals what response.vary.add writes.

    response.vary parses the header into a set and writes it back through a callback: with CORS on by
    default, that showed up as a noticeable part of every request's time.
    """
    current = response.headers.get("Vary")
    if not current:
        response.headers["Vary"] = name
    elif name.lower() not in {value.strip().lower() for value in current.split(",")}:
        response.headers["Vary"] = f"{current}, {name}"


def register_http_policies(app: Flask) -> None:
    """Install the limits, CORS and access log on every request of `app`."""
    s: Settings = app.extensions["coprokg.settings"]
    app.config["MAX_CONTENT_LENGTH"] = max(s.max_query_bytes, s.max_upload_bytes)
    app.config["MAX_FORM_MEMORY_SIZE"] = s.max_query_bytes
    app.extensions["coprokg.write_limiter"] = WriteRateLimiter(s.write_rate)
    app.before_request(_before)
    app.after_request(_after)
