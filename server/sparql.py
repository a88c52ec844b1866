"""Blueprint "sparql": the SPARQL 1.1 Protocol (query and update) at /sparql, and its service description."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import pyoxigraph as ox
from flask import Blueprint, Response, current_app, redirect, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.sansio.utils import get_current_url

from kg.errors import BadRequest, NotAcceptable, QuerySyntaxError
from kg.known_prefixes import declare_known_prefixes
from kg.namespaces import INFERRED_GRAPH, PREFIXES, SD
from kg.sparql_scan import scan
from kg.store import FORM_TO_KIND, Dataset, QueryOutput
from kg.syntax_errors import explain
from server.conneg import choose_formats, content_type, negotiate, require
from server.http_policy import require_token
from server.query_string import parse_query_string

bp = Blueprint("sparql", __name__)

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
QUERY_MEDIA_TYPE = "application/sparql-query"
UPDATE_MEDIA_TYPE = "application/sparql-update"
POST_MEDIA_TYPES = f"{FORM_MEDIA_TYPE}, {QUERY_MEDIA_TYPE} or {UPDATE_MEDIA_TYPE}"
# The service description is a graph; quad formats add nothing to it.
DESCRIPTION_MEDIA_TYPES = ("text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml")
FORMATS_NS = "http://www.w3.org/ns/formats/"
MEDIA_TYPE_TO_FORMAT_IRI = {
    "application/sparql-results+json": "SPARQL_Results_JSON",
    "application/sparql-results+xml": "SPARQL_Results_XML",
    "text/csv": "SPARQL_Results_CSV",
    "text/tab-separated-values": "SPARQL_Results_TSV",
    "text/turtle": "Turtle",
    "application/n-triples": "N-Triples",
    "application/ld+json": "JSON-LD",
    "application/rdf+xml": "RDF_XML",
    "application/n-quads": "N-Quads",
    "application/trig": "TriG",
}


@dataclass
class Operation:
    """One protocol operation: a query or an update, its text and its other parameters."""

    kind: str  # "query" or "update"
    text: str
    params: MultiDict


def _store():
    return current_app.extensions["coprokg.store"]


def _utf8(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(f"{where} is not UTF-8: byte {data[e.start]:#04x} at offset {e.start}") from None


def _parse_params(raw: str, where: str) -> MultiDict:
    """Parse URL-encoded parameters, refusing percent-escapes that are not UTF-8 (werkzeug would replace them)."""
    try:
        return MultiDict(parse_query_string(raw))
    except UnicodeDecodeError as e:
        raise BadRequest(f"{where} holds a percent-escape that is not UTF-8 ({e.reason})") from None


@lru_cache(maxsize=256)
def _base_iri(scheme: str, host: str, root_path: str, path: str) -> str:
    """request.base_url, worked out once per URL (werkzeug re-derives it, IRI conversion included, on every request)."""
    return get_current_url(scheme, host, root_path, path)


def _request_base_iri() -> str:
    req = request._get_current_object()  # one proxy look-up instead of four on this per-query path
    return _base_iri(req.scheme, req.host, req.root_path, req.path)


def _url_params() -> MultiDict:
    return _parse_params(_utf8(request.query_string, "the URL's query string"), "the URL's query string")


def _one(params: MultiDict, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"the request has {len(values)} '{name}' parameters; send one {name} per request")
    return values[0] if values else None


def _read_operation() -> Operation | None:
    """Find the operation in the request, as the protocol allows it to be sent; None for a bare GET.

    Raises:
        BadRequest: an ambiguous, mis-typed or non-UTF-8 request; the message says which part.
    """
    url_params = _url_params()
    if request.method == "GET":
        if "update" in url_params:
            raise BadRequest("an update must be sent by POST, not GET")
        text = _one(url_params, "query")
        return None if text is None else Operation("query", text, url_params)
    media_type = request.mimetype
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise BadRequest(f"the body must be UTF-8, not charset={charset}")
    if media_type == FORM_MEDIA_TYPE:
        form = _parse_params(_utf8(request.get_data(cache=False), "the form body"), "the form body")
        if "query" in url_params or "update" in url_params:
            raise BadRequest("a form POST carries its query or update in the body, not in the URL")
        query, update = _one(form, "query"), _one(form, "update")
        if query is not None and update is not None:
            raise BadRequest("the form has both 'query' and 'update'; send one operation per request")
        if query is None and update is None:
            raise BadRequest("the form has neither a 'query' nor an 'update' parameter")
        return Operation("query", query, form) if query is not None else Operation("update", update, form)
    if media_type in (QUERY_MEDIA_TYPE, UPDATE_MEDIA_TYPE):
        kind = "query" if media_type == QUERY_MEDIA_TYPE else "update"
        if "query" in url_params or "update" in url_params:
            raise BadRequest(f"a {media_type} POST carries the {kind} in the body; the URL must not add another")
        return Operation(kind, _utf8(request.get_data(cache=False), f"the {kind} body"), url_params)
    if not media_type:
        raise BadRequest(f"a POST needs a Content-Type: {POST_MEDIA_TYPES}")
    raise BadRequest(f"cannot read a {media_type} body; send {POST_MEDIA_TYPES}")


def _iris(params: MultiDict, name: str) -> tuple[str, ...]:
    iris = []
    for value in params.getlist(name):
        try:
            iris.append(ox.NamedNode(value).value)
        except ValueError as e:
            raise BadRequest(f"{name}={value!r} is not an absolute IRI: {e}") from None
    return tuple(iris)


def _dataset(params: MultiDict) -> Dataset:
    """The query's dataset from the protocol parameters (or inferred=false for asserted facts only).

    Raises:
        BadRequest: an IRI that is not absolute, or inferred=false together with explicit graphs.
    """
    if "default-graph-uri" not in params and "named-graph-uri" not in params and "inferred" not in params:
        return Dataset()  # the common case, decided without building the lists below
    default_graphs, named_graphs = _iris(params, "default-graph-uri"), _iris(params, "named-graph-uri")
    inferred = (_one(params, "inferred") or "true").lower()
    if inferred not in ("true", "false"):
        raise BadRequest(f"inferred must be true or false, not {inferred!r}")
    if inferred == "false":
        if default_graphs or named_graphs:
            raise BadRequest("inferred=false chooses the graphs itself; do not add default-graph-uri/named-graph-uri")
        asserted = tuple(g for g in _store().graph_names() if g != str(INFERRED_GRAPH))
        return Dataset((None, *asserted), asserted)
    if default_graphs or named_graphs:
        # The protocol: a dataset given by parameters is the whole dataset; what it leaves out is empty.
        return Dataset(default_graphs, named_graphs)
    return Dataset()


def respond(output: QueryOutput) -> Response:
    """Answer with a result: a small one whole (with Content-Length), a large one streamed."""
    body = b"".join(output) if output.complete else output
    response = Response(body, content_type=content_type(output.media_type))
    response.headers["Vary"] = "Accept"  # a new response has no Vary yet; response.vary would parse and re-join it
    return response


# Names the CoproKG prefixes the server declared for a query that used them undeclared (README, "SPARQL").
DECLARED_PREFIXES_HEADER = "CoproKG-Declared-Prefixes"


def _run_query(operation: Operation) -> Response:
    formats = choose_formats(operation.params.getlist("format"))
    declared = declare_known_prefixes(operation.text)
    kind = FORM_TO_KIND.get(scan(declared.text).form or "")
    if kind is not None:
        require(formats, kind)
    try:
        output = _store().execute(declared.text, formats, dataset=_dataset(operation.params),
                                  base_iri=_request_base_iri())
    except QuerySyntaxError as e:
        raise explain(operation.text, str(e), declared.shift) from None
    response = respond(output)
    if declared.prefixes:
        response.headers[DECLARED_PREFIXES_HEADER] = " ".join(declared.prefixes)
    return response


def _run_update(operation: Operation) -> Response:
    require_token()
    _store().update(operation.text, base_iri=_request_base_iri(),
                    using_graphs=_iris(operation.params, "using-graph-uri"),
                    using_named_graphs=_iris(operation.params, "using-named-graph-uri"))
    return Response(status=204)


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint():
    """Answer a query or update; a bare GET gets the service description (or, in a browser, the UI)."""
    operation = _read_operation()
    if operation is None:
        return service_description()
    if operation.kind == "query":
        return _run_query(operation)
    return _run_update(operation)


def service_description() -> Response:
    """Describe the service (sd:Service) in the negotiated RDF syntax; browsers go to the UI instead."""
    accept = request.accept_mimetypes
    if accept.provided and accept["text/html"] > max(accept[m] for m in DESCRIPTION_MEDIA_TYPES):
        # The UI engineer owns the pages; use their SPARQL page once it exists.
        target = url_for("ui.sparql") if "ui.sparql" in current_app.view_functions else "/"
        return redirect(target, code=303)
    media_type = negotiate("graph")
    if media_type not in DESCRIPTION_MEDIA_TYPES:
        raise NotAcceptable(f"the service description can be served as: {', '.join(DESCRIPTION_MEDIA_TYPES)}")
    body = ox.serialize(_description_triples(), format=ox.RdfFormat.from_media_type(media_type),
                        prefixes={"sd": str(SD), "cop": PREFIXES["cop"]})
    response = Response(body, content_type=content_type(media_type))
    response.vary.add("Accept")
    return response


def _description_triples() -> list[ox.Triple]:
    settings = current_app.extensions["coprokg.settings"]
    service = ox.BlankNode("service")
    dataset, default_graph = ox.BlankNode("dataset"), ox.BlankNode("defaultGraph")

    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(str(SD[name]))

    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    triples = [
        ox.Triple(service, rdf_type, sd("Service")),
        ox.Triple(service, sd("endpoint"), ox.NamedNode(settings.base_url + request.script_root + request.path)),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(service, sd("feature"), sd("BasicFederatedQuery")) if settings.service_allowlist else None,
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Update")) if not settings.read_only else None,
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, rdf_type, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, rdf_type, sd("Graph")),
    ]
    for name in MEDIA_TYPE_TO_FORMAT_IRI.values():
        triples.append(ox.Triple(service, sd("resultFormat"), ox.NamedNode(FORMATS_NS + name)))
    for i, graph in enumerate(_store().graph_names()):
        named = ox.BlankNode(f"graph{i}")
        triples += [ox.Triple(dataset, sd("namedGraph"), named), ox.Triple(named, rdf_type, sd("NamedGraph")),
                    ox.Triple(named, sd("name"), ox.NamedNode(graph))]
    return [t for t in triples if t is not None]
