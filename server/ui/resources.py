"""Resource pages and IRI dereferencing: one description per IRI, as HTML for browsers and RDF for machines.

The media type is chosen by the negotiator every endpoint shares (server/conneg.py): `format=` names or
Accept, with HTML offered beside the graph formats.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Response, g, make_response, render_template, request

from kg.errors import BadRequest, NotAcceptable, NotFound
from kg.namespaces import COP, GRAPH, ID, INFERRED_GRAPH, ONTOLOGY_GRAPH, PREFIXES, RDF, RDFS, SKOS
from kg.readable_turtle import readable_turtle
from server import conneg
from server.ui.blueprint import bp
from server.ui.language import in_page_language, translate
from server.ui.reading import is_true, select, statements_about, statements_pointing_at
from server.ui.terms import case_path, label, labels

HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml")
# The serialisations a resource page links to (any graph format the negotiator knows is served).
DESCRIPTION_FORMATS = {
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "rdf": "application/rdf+xml",
    "nt": "application/n-triples",
}
# Predicates shown first on a resource page, in this order; the rest follow by label.
LEADING_PREDICATES = (RDF.type, RDFS.label, SKOS.prefLabel, SKOS.definition, RDFS.comment, COP.description)
# Inverse links with a name of their own (a class's instances, subclasses, ...); i18n keys.
INVERSE_PREDICATE_TO_KEY = {
    str(RDF.type): "instances",
    str(RDFS.subClassOf): "subclasses",
    str(RDFS.domain): "domain_of",
    str(RDFS.range): "range_of",
    str(RDFS.subPropertyOf): "subproperties",
}


def negotiate() -> str:
    """Choose the response media type: `format=html` or a browser's Accept gives HTML, else a graph format.

    Raises:
        BadRequest: `format=` names no format we serve for a description.
        NotAcceptable: Accept admits neither HTML nor any graph format.
    """
    chosen = request.args.get("format")
    if chosen is not None:
        media_type = "text/html" if chosen.strip().lower() == "html" else conneg.negotiate("graph", format_name=chosen)
        if media_type is None:
            raise BadRequest(f"format={chosen!r}: use html or a graph format ({', '.join(DESCRIPTION_FORMATS)}, "
                             "or a media type)")
        return media_type
    accept = request.accept_mimetypes
    if not accept.provided:
        return "text/html"
    best = accept.best_match([*HTML_MEDIA_TYPES, *conneg.GRAPH_MEDIA_TYPES, *conneg.ALIAS_TO_MEDIA_TYPE["graph"]])
    if best is None:
        raise NotAcceptable(f"this resource is available as {', '.join([*HTML_MEDIA_TYPES, *conneg.GRAPH_MEDIA_TYPES])}")
    if best in HTML_MEDIA_TYPES:
        return "text/html"
    return conneg.ALIAS_TO_MEDIA_TYPE["graph"].get(best, best)


@bp.get("/ontology/<name>")
def ontology_term(name: str):
    """Describe one ontology term (https://w3id.org/coprokg/ontology#name)."""
    return describe(_named(str(COP), name))


@bp.get("/id/<path:rest>")
def data_resource(rest: str):
    """Describe one case-data resource (https://w3id.org/coprokg/id/rest)."""
    return describe(_named(str(ID), rest))


def _named(namespace: str, name: str) -> ox.NamedNode:
    """The IRI of `name` in `namespace`.

    Raises:
        NotFound: `name` cannot be part of an IRI (a space, a line break): no resource can have it.
    """
    try:
        return ox.NamedNode(namespace + name)
    except ValueError:
        raise NotFound(f"no resource can be named {name!r}: it is not valid in an IRI") from None


@bp.get("/resource")
def any_resource():
    """Describe any IRI given as ?iri= (external terms, graph names).

    Raises:
        BadRequest: ?iri= is missing or not an IRI.
    """
    iri = request.args.get("iri", "")
    try:
        subject = ox.NamedNode(iri)
    except ValueError:
        raise BadRequest(f"iri={iri!r} is not an absolute IRI") from None
    return describe(subject)


def describe(subject: ox.NamedNode):
    """Answer with the resource's description in the negotiated format; 404 if the store never mentions it.

    Raises:
        NotFound: no triple has the resource as subject or object.
        NotAcceptable, BadRequest: see negotiate().
    """
    media_type = negotiate()
    outgoing, incoming = statements_about(subject), statements_pointing_at(subject)
    if not outgoing and not incoming:
        if media_type in HTML_MEDIA_TYPES:
            page = render_template("not_found.html", iri=subject.value, active=None)
            return _vary(make_response(page, 404))
        raise NotFound(f"the knowledge graph says nothing about <{subject.value}>")
    if media_type not in HTML_MEDIA_TYPES:
        return _vary(rdf_response(_description(subject, outgoing, incoming), media_type, subject))
    describe_query = (f"SELECT ?property ?value ?graph WHERE {{\n  GRAPH ?graph {{ <{subject.value}> ?property ?value }}\n}}"
                      "\nORDER BY ?property")
    page = render_template("resource.html", subject=subject, **_resource_view(subject, outgoing, incoming),
                           formats=DESCRIPTION_FORMATS, describe_query=describe_query, active="ui.ontology")
    response = make_response(page)
    response.headers["Link"] = ", ".join(
        f'<{request.path}?format={name}>; rel="alternate"; type="{media}"'
        for name, media in DESCRIPTION_FORMATS.items())
    return _vary(response)


def _vary(response: Response) -> Response:
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


def _graph_kind(graph) -> str:
    if graph.value == str(INFERRED_GRAPH):
        return "inferred"
    if graph.value == str(ONTOLOGY_GRAPH):
        return "ontology"
    return "case" if graph.value.startswith(str(GRAPH["case/"])) else "other"


def _grouped(rows: list[dict], value_key: str) -> dict[str, dict]:
    """Group rows by predicate; a value asserted somewhere is not also shown as inferred."""
    groups: dict[str, dict] = {}
    for row in rows:
        group = groups.setdefault(row["p"].value, {"predicate": row["p"], "values": {}})
        term = row[value_key]
        key = (type(term).__name__, term.value, getattr(term, "language", None))
        kind = _graph_kind(row["g"])
        previous = group["values"].get(key)
        if previous is None or previous["kind"] == "inferred":
            group["values"][key] = {"term": term, "kind": kind, "graph": row["g"]}
    return groups


def _resource_view(subject, outgoing: list[dict], incoming: list[dict]) -> dict:
    groups = _grouped(outgoing, "o")
    order = {str(p): i for i, p in enumerate(LEADING_PREDICATES)}
    statements = sorted(groups.values(), key=lambda grp: (order.get(grp["predicate"].value, len(order)),
                                                           label(grp["predicate"]).lower()))
    for group in statements:
        values = sorted(group.pop("values").values(), key=lambda v: label(v["term"]).lower())
        group["values"] = in_page_language(values)
    inverse = []
    for group in _grouped(incoming, "s").values():
        predicate = group["predicate"]
        key = INVERSE_PREDICATE_TO_KEY.get(predicate.value)
        values = sorted(group.pop("values").values(), key=lambda v: label(v["term"]).lower())
        inverse.append({"predicate": predicate, "key": key, "values": values,
                        "title": translate(key) if key else translate("is_x_of").format(label(predicate))})
    inverse.sort(key=lambda grp: (grp["key"] is None, grp["title"].lower()))
    types = [v["term"].value for grp in statements if grp["predicate"].value == str(RDF.type) for v in grp["values"]]
    graphs = sorted({row["g"].value for row in outgoing})
    return {"statements": statements, "inverse": inverse, "types": types, "graphs": graphs,
            "case_page": case_path(subject.value) if str(COP.CoproductionCase) in types else None,
            "illustrative": any(is_true(row["o"]) for row in outgoing if row["p"].value == str(COP.isIllustrative))}


def _description(subject, outgoing: list[dict], incoming: list[dict]) -> set[ox.Triple]:
    """Collect the triples about `subject`, its blank-node closure, inverse links from named resources, and
    neighbours' labels."""
    triples = {ox.Triple(row["s"], row["p"], row["o"]) for row in outgoing}
    # An inverse link from a blank node (a list cell, a restriction) means nothing without the whole
    # expression, which belongs to the description of the resource that holds it.
    triples |= {ox.Triple(row["s"], row["p"], row["o"]) for row in incoming if not isinstance(row["s"], ox.BlankNode)}
    pending = [row["o"] for row in outgoing if isinstance(row["o"], ox.BlankNode)]
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if node.value in seen:
            continue
        seen.add(node.value)
        for row in select("blank_node", s=node):
            triples.add(ox.Triple(node, row["p"], row["o"]))
            if isinstance(row["o"], ox.BlankNode):
                pending.append(row["o"])
    neighbours = {t.object.value for t in triples if isinstance(t.object, ox.NamedNode)}
    neighbours |= {t.subject.value for t in triples if isinstance(t.subject, ox.NamedNode)}
    neighbours |= {t.predicate.value for t in triples}
    neighbours.discard(subject.value)
    known = labels()
    label_predicate = ox.NamedNode(str(RDFS.label))
    for iri in neighbours:
        by_language = known.get(iri)
        if not by_language:
            continue
        tag = next((t for t in by_language if t.split("-")[0] == g.lang), None)
        tag = tag if tag is not None else next((t for t in by_language if t.split("-")[0] == "en"), next(iter(by_language)))
        literal = ox.Literal(by_language[tag], language=tag) if tag else ox.Literal(by_language[tag])
        triples.add(ox.Triple(ox.NamedNode(iri), label_predicate, literal))
    return triples


def rdf_response(triples, media_type: str, subject: ox.NamedNode | None = None) -> Response:
    """Serialise triples in one of the graph media types the negotiator chose, with CoproKG's prefixes.

    A description of `subject` in Turtle is written for reading: its triples first, blank nodes nested
    (kg/readable_turtle.py). Without a subject (the whole ontology) pyoxigraph streams it: rdflib would
    take half a second over the whole graph on every request.
    """
    if media_type == "text/turtle" and subject is not None:
        body = readable_turtle(triples, subject)
    else:
        body = ox.serialize(triples, format=ox.RdfFormat.from_media_type(media_type), prefixes=PREFIXES)
    return Response(body, mimetype=media_type, headers={"Content-Type": conneg.content_type(media_type)})
