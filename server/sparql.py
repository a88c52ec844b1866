"""Blueprint "sparql": the SPARQL 1.1 Protocol at /sparql (minimal until the endpoint issue lands)."""

from flask import Blueprint, Response, current_app, request
import pyoxigraph as ox

from kg.errors import BadRequest

bp = Blueprint("sparql", __name__)


@bp.get("/sparql")
def query():
    text = request.args.get("query")
    if text is None:
        raise BadRequest("missing query parameter")
    result = current_app.extensions["coprokg.store"].query(text)
    if isinstance(result, ox.QueryTriples):
        return Response(result.serialize(format=ox.RdfFormat.N_TRIPLES), mimetype="application/n-triples")
    return Response(result.serialize(format=ox.QueryResultsFormat.JSON), mimetype="application/sparql-results+json")
