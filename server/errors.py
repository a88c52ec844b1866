"""Map errors to HTTP responses: the only place that knows status codes. Clients never see a traceback."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from kg.errors import KGError, PayloadTooLarge, Unauthorized
from kg.syntax_errors import ReadableSyntaxError

log = logging.getLogger("coprokg.server")


def register_error_handlers(app: Flask) -> None:
    """Turn KG errors, HTTP errors and crashes into JSON problem responses."""

    @app.errorhandler(KGError)
    def kg_error(e: KGError):
        headers = {}
        if isinstance(e, Unauthorized):
            headers["WWW-Authenticate"] = 'Bearer realm="CoproKG"'
        if isinstance(e, PayloadTooLarge):
            headers["Connection"] = "close"
        if e.status >= 500:
            log.warning("%s: %s", e.title, e)
        body = {"error": e.title, "detail": str(e)}
        if isinstance(e, ReadableSyntaxError):  # where to underline, and what the parser itself said
            body.update(line=e.line, column=e.column, parser_message=e.parser_message)
        return body, e.status, headers

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        # werkzeug's own refusals (unknown path, wrong method, body over the limit) in the same shape.
        response = e.get_response()
        headers = {k: v for k, v in response.headers.items() if k in ("Allow", "WWW-Authenticate")}
        if e.code == 413:
            headers["Connection"] = "close"
        return {"error": e.name, "detail": e.description}, e.code, headers

    @app.errorhandler(Exception)
    def crash(e: Exception):
        log.exception("unhandled error")
        return {"error": "Internal error", "detail": "the server failed; the log has the details"}, 500
