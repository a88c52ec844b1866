"""Blueprint "graph_store": the SPARQL 1.1 Graph Store HTTP Protocol at /store (?graph=IRI, ?default, ?union).

?default is the store's own default graph, as the protocol (section 5) defines it, so PUT then GET
?default gives back what was put, whatever the named graphs hold. What queries see as their default
graph, the union of every graph, is read (never written) as ?union. A GET of /store with no parameter
returns the whole dataset as N-Quads or TriG.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request

from kg.errors import BadRequest, NotFound
from kg.store import Dataset, parse_upload
from server.conneg import choose_formats, require
from server.http_policy import require_token
from server.sparql import respond

bp = Blueprint("graph_store", __name__)

# Pattern for one graph; the IRI goes in as a validated pyoxigraph term, never as raw text.
GRAPH_CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?graph { ?s ?p ?o } }"
DEFAULT_CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


def _store():
    return current_app.extensions["coprokg.store"]


def _target(*, writing: bool = False) -> tuple[str, str | None]:
    """Which graph the request names: ("graph", IRI), ("default", None) or ("union", None).

    Raises:
        BadRequest: not exactly one of ?graph, ?default and ?union; a graph name that is not an absolute IRI;
            a write to ?union, which is a view of every graph, not a graph of its own.
    """
    graphs = request.args.getlist("graph")
    named = [name for name in ("default", "union") if name in request.args]
    if len(graphs) + len(named) != 1:
        raise BadRequest("name one graph: ?graph=IRI, ?default or ?union (GET /store alone returns the whole dataset)")
    if named == ["union"] and writing:
        raise BadRequest("?union is every graph seen as one, for reading; write to ?default or to ?graph=IRI")
    if named:
        return named[0], None
    try:
        return "graph", ox.NamedNode(graphs[0]).value
    except ValueError as e:
        raise BadRequest(f"graph={graphs[0]!r} is not an absolute IRI: {e}") from None


@bp.route("/store", methods=["GET"])
def get_graph():
    """Return one graph, or the whole dataset when no graph is named."""
    if not request.args:
        formats = choose_formats(request.args.getlist("format"), kinds=("dataset",))
        require(formats, "dataset")
        return respond(_store().export(formats))
    kind, graph = _target()
    formats = choose_formats(request.args.getlist("format"), kinds=("graph",))
    require(formats, "graph")
    if kind == "graph" and not _store().has_graph(graph):
        raise NotFound(f"no graph named {graph}")
    if kind == "graph":
        output = _store().execute(GRAPH_CONSTRUCT, formats, substitutions={"graph": ox.NamedNode(graph)})
    elif kind == "default":
        output = _store().execute(DEFAULT_CONSTRUCT, formats, dataset=Dataset(default_graphs=(None,)))
    else:
        output = _store().execute(DEFAULT_CONSTRUCT, formats)
    return respond(output)


def _upload(replace: bool) -> Response:
    require_token()
    kind, graph = _target(writing=True)
    named = kind == "graph"
    if not request.mimetype:
        raise BadRequest("send the graph with a Content-Type such as text/turtle or application/n-triples")
    existed = _store().has_graph(graph) if named else True
    ntriples = parse_upload(request.stream, request.mimetype, base_iri=graph or request.base_url)
    _store().write_graph(graph, ntriples, replace=replace)
    return Response(status=204 if existed else 201)


@bp.route("/store", methods=["PUT"])
def put_graph():
    """Replace a graph by the body; a body that does not parse changes nothing."""
    return _upload(replace=True)


@bp.route("/store", methods=["POST"])
def post_graph():
    """Add the body's triples to a graph."""
    return _upload(replace=False)


@bp.route("/store", methods=["DELETE"])
def delete_graph():
    """Delete a graph (or empty the default graph)."""
    require_token()
    kind, graph = _target(writing=True)
    named = kind == "graph"
    if named and not _store().has_graph(graph):
        raise NotFound(f"no graph named {graph}")
    _store().drop_graph(graph)
    return Response(status=204)
