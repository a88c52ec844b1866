"""Policies every request passes through: body limits, bearer-token writes, CORS and the access log."""

from __future__ import annotations

import hmac
import logging
import time

from flask import Flask, Response, current_app, g, request

from kg.config import Settings
from kg.errors import Forbidden, PayloadTooLarge, Unauthorized

access_log = logging.getLogger("coprokg.access")

# Blueprints whose request bodies are RDF uploads (the larger limit); every other body is a query or update.
UPLOAD_BLUEPRINTS = {"graph_store"}
CORS_METHODS = "GET, HEAD, POST, OPTIONS"
# Authorization is deliberately absent: browsers on other origins may read, never write.
CORS_HEADERS = "Accept, Content-Type"


def settings() -> Settings:
    return current_app.extensions["coprokg.settings"]


def require_token() -> None:
    """Allow a write only with the configured bearer token.

    Raises:
        Forbidden: no token is configured, so the service is read-only.
        Unauthorized: the token is missing or wrong.
    """
    expected = settings().token
    if expected is None:
        raise Forbidden("this service is read-only: set COPROKG_TOKEN to allow writes")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    # compare_digest takes as long for a wrong first byte as for a wrong last one.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Unauthorized("send the write token as 'Authorization: Bearer <token>'")


def body_limit() -> int:
    """The largest request body this endpoint accepts."""
    if request.blueprint in UPLOAD_BLUEPRINTS:
        return settings().max_upload_bytes
    return settings().max_query_bytes


def _before() -> Response | None:
    g.started = time.perf_counter()
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return _preflight()
    limit = body_limit()
    # Refuse on the declared length, before a byte of the body is read; a chunked body is cut off at the limit.
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body has {request.content_length} bytes; this endpoint accepts at most {limit}")
    return None


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin")
    origins = settings().cors_origins
    if origin is None or not origins:
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
    origin = _allowed_origin()
    if origin is not None and "Access-Control-Allow-Origin" not in response.headers:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Content-Type, ETag, Location"
    if origin != "*" and settings().cors_origins:
        response.vary.add("Origin")
    if response.status_code == 413:
        # Close rather than drain the unread body of an oversize request.
        response.headers["Connection"] = "close"
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    path = request.full_path if request.query_string else request.path
    access_log.info('%s "%s %s" %s %s %.1fms', request.remote_addr, request.method, path[:300],
                    response.status_code, response.content_length if response.content_length is not None else "-",
                    elapsed)
    return response


def register_http_policies(app: Flask) -> None:
    """Install the limits, CORS and access log on every request of `app`."""
    s: Settings = app.extensions["coprokg.settings"]
    app.config["MAX_CONTENT_LENGTH"] = max(s.max_query_bytes, s.max_upload_bytes)
    app.config["MAX_FORM_MEMORY_SIZE"] = s.max_query_bytes
    app.before_request(_before)
    app.after_request(_after)
