"""Blueprint "api": the named-query library as a REST API and its OpenAPI document (the page documenting it,
/api/docs, is a page of the site: server/ui/api_docs.py)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from functools import lru_cache

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, quote_etag

from kg.errors import BadRequest, InvalidParameter, NotAcceptable, NotFound, UnsupportedMediaType
from kg.plain_values import language_key, plain_blank_node, plain_literal
from kg.queries import FORMAT_PARAMETER, InstanceMemo, NamedQuery, QueryLibrary, load_library
from kg.store import EmbeddedStore
from server.http_policy import add_vary
from server.openapi import build_openapi

bp = Blueprint("api", __name__)

# Media type -> the `format` name a client may also give in the query string. First entry = no Accept header.
RESULT_MEDIA_TYPE_TO_FORMAT = {
    "application/json": "json",
    "text/csv": "csv",
    "application/sparql-results+json": "sparql-json",
    "text/tab-separated-values": "tsv",
    "application/sparql-results+xml": "sparql-xml",
}
FORMAT_TO_RESULT_MEDIA_TYPE = {fmt: media for media, fmt in RESULT_MEDIA_TYPE_TO_FORMAT.items()}
FORMAT_TO_OXIGRAPH_FORMAT = {
    "sparql-json": ox.QueryResultsFormat.JSON,
    "tsv": ox.QueryResultsFormat.TSV,
    "sparql-xml": ox.QueryResultsFormat.XML,
}
# Clients revalidate every time; the ETag makes that a cheap 304 until the dataset changes.
CACHE_CONTROL = "public, no-cache"
LIBRARY_KEY = "coprokg.queries"
INSTANCE_MEMO_KEY = "coprokg.known_instances"
# Distinct Accept headers whose chosen format is remembered; clients send few, so this bounds memory only.
ACCEPT_CACHE_SIZE = 256


@bp.record_once
def _load_library(state: BlueprintSetupState) -> None:
    """Load and check queries/*.rq once per app; report malformed files and serve the rest."""
    app: Flask = state.app
    library = load_library(app.extensions["coprokg.settings"].queries)
    for problem in library.problems:
        app.logger.warning("named query skipped: %s", problem)
    app.extensions[LIBRARY_KEY] = library
    app.extensions[INSTANCE_MEMO_KEY] = InstanceMemo()


def library() -> QueryLibrary:
    """The named-query library this app loaded (also read by the /api/docs page in server/ui/api_docs.py)."""
    return current_app.extensions[LIBRARY_KEY]


def _store():
    return current_app.extensions["coprokg.store"]


@bp.get("/api/queries")
def list_queries():
    """List the named queries with their parameters."""
    return [
        {**query.to_json(), "url": f"{request.script_root}/api/queries/{query.name}"}
        for query in library().queries.values()
    ]


@bp.get("/api/queries/<name>")
def run_with_query_string(name: str):
    """Run a named query with query-string parameters; answer 304 if the client's copy is current."""
    query = _named_query(name)
    values = _single_values(request.args)
    fmt = _negotiate(values.pop(FORMAT_PARAMETER, None))
    version = dataset_version(_store())  # read once: the ETag and the instance checks name the same state
    etag = _etag(version, query, values, fmt)
    # If-None-Match uses weak comparison (RFC 9110 13.1.2). Most requests send none: the environ look-up
    # spares parsing an absent header.
    if "HTTP_IF_NONE_MATCH" in request.environ and request.if_none_match.contains_weak(etag):
        return _with_cache_headers(Response(status=304), etag)
    return _with_cache_headers(_results(query, values, fmt, version), etag)


@bp.post("/api/queries/<name>")
def run_with_json_body(name: str):
    """Run a named query with parameters in a JSON object body."""
    query = _named_query(name)
    if not request.is_json and request.get_data():
        raise UnsupportedMediaType("send the parameters as a JSON object with Content-Type: application/json")
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object of parameter names to values")
    fmt = _negotiate(_single_values(request.args).get(FORMAT_PARAMETER) or body.pop(FORMAT_PARAMETER, None))
    return _results(query, body, fmt, dataset_version(_store()))


@bp.get("/api/openapi.json")
def openapi_document():
    """Serve the OpenAPI 3.1 document generated from the query headers."""
    # The configured address, never the Host header a client sent (which anyone can set).
    server_url = current_app.extensions["coprokg.settings"].base_url + request.script_root
    document = build_openapi(library().queries.values(), server_url, RESULT_MEDIA_TYPE_TO_FORMAT)
    return current_app.response_class(json.dumps(document, ensure_ascii=False, indent=1), mimetype="application/json")


def _named_query(name: str) -> NamedQuery:
    query = library().get(name)
    if query is None:
        raise NotFound(f"no named query '{name}'; GET /api/queries lists them")
    return query


def _single_values(args) -> dict[str, str]:
    """Collect query-string values, refusing a name given twice (a query binds one value per variable)."""
    values = {}
    for name in args:
        given = args.getlist(name)
        if len(given) > 1:
            raise InvalidParameter(name, "given more than once; give one value")
        values[name] = given[0]
    return values


def _negotiate(fmt: object) -> str:
    """Pick the result format from `format` if given, else from Accept (406 if nothing fits).

    Raises:
        InvalidParameter: `format` names no known format.
        NotAcceptable: Accept allows none of the result media types.
    """
    if fmt not in (None, ""):
        if fmt not in FORMAT_TO_RESULT_MEDIA_TYPE:
            raise InvalidParameter(FORMAT_PARAMETER, f"{fmt!r} is not one of {', '.join(FORMAT_TO_RESULT_MEDIA_TYPE)}")
        return fmt
    fmt = _format_for_accept(request.headers.get("Accept"))
    if fmt is None:
        raise NotAcceptable(", ".join(RESULT_MEDIA_TYPE_TO_FORMAT))
    return fmt


@lru_cache(maxsize=ACCEPT_CACHE_SIZE)
def _format_for_accept(accept_header: str | None) -> str | None:
    """The result format an Accept header asks for (None: none of ours); a pure function of the header."""
    accept = parse_accept_header(accept_header, MIMEAccept)  # as werkzeug builds request.accept_mimetypes
    best = accept.best_match(RESULT_MEDIA_TYPE_TO_FORMAT) if accept.provided else next(iter(RESULT_MEDIA_TYPE_TO_FORMAT))
    return None if best is None else RESULT_MEDIA_TYPE_TO_FORMAT[best]


def _known_instances(store, version: str) -> set[tuple[str, str]] | None:
    """The instance checks already passed in this dataset version, where the version follows every write."""
    # A remote endpoint can be written behind our back, so its version may miss a write.
    if not isinstance(store, EmbeddedStore):
        return None
    memo: InstanceMemo | None = current_app.extensions.get(INSTANCE_MEMO_KEY)
    return memo.known(version) if memo is not None else None


def _results(query: NamedQuery, values: dict, fmt: str, version: str) -> Response:
    """Run the query and serialise its solutions in `fmt`; `version` names the dataset state read beforehand."""
    store = _store()
    solutions = query.run(store, values, _known_instances(store, version))
    try:
        if fmt == "json":
            body = json.dumps(_records(solutions), ensure_ascii=False)
        elif fmt == "csv":
            body = _csv(solutions)
        else:
            body = solutions.serialize(format=FORMAT_TO_OXIGRAPH_FORMAT[fmt])
    finally:
        # pyoxigraph results belong to this thread; a traceback must not carry them to another one.
        del solutions
    media_type = FORMAT_TO_RESULT_MEDIA_TYPE[fmt]
    response = current_app.response_class(body, mimetype=media_type)
    if fmt in ("csv", "tsv"):
        response.headers["Content-Disposition"] = f'inline; filename="{query.name}.{fmt}"'
    return response


def _records(solutions: ox.QuerySolutions) -> list[dict]:
    """Turn solutions into plain JSON records: IRIs and text as strings, numbers and booleans typed.

    Text with a language tag also gets `NAME@lang`, its tag: a query asked for Chinese may answer in
    English where the text exists only in English, and the reader must be able to tell.
    """
    names = [(v.value, language_key(v.value)) for v in solutions.variables]
    records = []
    for solution in solutions:
        record = {}
        for name, key in names:
            term = solution[name]
            record[name] = _plain(term)
            if isinstance(term, ox.Literal) and term.language:
                record[key] = term.language
        records.append(record)
    return records


def _plain(term) -> object:
    """Give one RDF term as a plain JSON value (None when unbound); kg/plain_values.py has the rule."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        return plain_literal(term.value, term.datatype.value)
    if isinstance(term, ox.BlankNode):
        return plain_blank_node(term.value)
    return term.value


def _csv(solutions: ox.QuerySolutions) -> str:
    """Write solutions as CSV with a header row (one column per projected variable), values as in records."""
    names = [v.value for v in solutions.variables]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for solution in solutions:
        row = [_plain(solution[name]) for name in names]
        writer.writerow(["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in row])
    return out.getvalue()


def dataset_version(store) -> str:
    """Name the dataset's current state, as the store reports it (it changes with every write through it)."""
    return store.version


def _etag(version: str, query: NamedQuery, values: dict, fmt: str) -> str:
    """Build the (strong) ETag of one answer: dataset version, query text, parameter values and format."""
    # repr of a tuple of strings is unambiguous (every string quoted and escaped) and cheaper than JSON.
    key = repr((version, query.digest, tuple(sorted(values.items())), fmt))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _with_cache_headers(response: Response, etag: str) -> Response:
    headers = response.headers
    headers["ETag"] = quote_etag(etag)  # what response.set_etag writes, without its property round trip
    headers["Cache-Control"] = CACHE_CONTROL
    add_vary(response, "Accept")
    return response
