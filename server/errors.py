"""Map errors to HTTP responses: the only place that knows status codes. Clients never see a traceback."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from kg import errors
from kg.errors import KGError, PayloadTooLarge, Unauthorized
from kg.syntax_errors import ReadableSyntaxError

log = logging.getLogger("coprokg.server")

# The one table from the library's errors to HTTP statuses. A subclass not listed takes its nearest
# listed ancestor's status (InvalidParameter is a BadRequest); tests/test_errors.py checks that every
# error class of kg.errors is listed or inherits from one that is.
ERROR_TO_STATUS: dict[type[KGError], int] = {
    errors.QuerySyntaxError: 400,
    errors.UpdateSyntaxError: 400,
    errors.BadRequest: 400,
    errors.CaseDataError: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.NotAcceptable: 406,
    errors.PayloadTooLarge: 413,
    errors.URITooLong: 414,
    errors.UnsupportedMediaType: 415,
    errors.TooManyRequests: 429,
    errors.Unsupported: 501,
    errors.QueryTimeout: 503,
    errors.StoreUnavailable: 503,
    # The store behind the service (remote-store mode) failed or did not answer in time: a gateway's statuses.
    errors.RemoteStoreError: 502,
    errors.RemoteStoreTimeout: 504,
    # The server's own files or set-up are at fault, not the request.
    errors.ConfigError: 500,
    errors.NamedQueryError: 500,
    errors.OntologySyntaxError: 500,
    errors.QueryEvaluationError: 500,
    errors.ReasoningError: 500,
    KGError: 500,
}


def status_of(error: KGError) -> int:
    """The HTTP status that answers `error`: its class's entry in ERROR_TO_STATUS, or its nearest ancestor's."""
    return next(ERROR_TO_STATUS[cls] for cls in type(error).__mro__ if cls in ERROR_TO_STATUS)


def register_error_handlers(app: Flask) -> None:
    """Turn KG errors, HTTP errors and crashes into JSON problem responses."""

    @app.errorhandler(KGError)
    def kg_error(e: KGError):
        status = status_of(e)
        headers = {}
        if isinstance(e, Unauthorized):
            headers["WWW-Authenticate"] = 'Bearer realm="CoproKG"'
        if isinstance(e, PayloadTooLarge):
            headers["Connection"] = "close"
        if status >= 500:
            log.warning("%s: %s", e.title, e.operator_detail or e)  # the operator's detail stays in the log
        body = {"error": e.title, "detail": str(e)}
        if isinstance(e, ReadableSyntaxError):  # where to underline, and what the parser itself said
            body.update(line=e.line, column=e.column, parser_message=e.parser_message)
        return body, status, headers

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
