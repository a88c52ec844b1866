"""The ontology browser: the class tree, the properties and the individuals; machines get the ontology graph.

The ontology IRI (/ontology) and its version IRI (/ontology/0.1.0, the owl:versionIRI) are one document.
A request that sends no Accept at all gets RDF/XML there: browsers always send one, and a client that
sends none is loading the ontology (owlready2's get_ontology(IRI).load() does so, and reads RDF/XML).
"""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox
from flask import make_response, render_template, request

from kg.errors import NotFound
from kg.namespaces import ONTOLOGY_IRI
from server.ui.blueprint import bp
from server.ui.reading import construct, same_term, select
from server.ui.resources import HTML_MEDIA_TYPES, negotiate, rdf_response
from server.ui.terms import label, labels, local_name


def _class_tree() -> list[dict]:
    """Build the class hierarchy (asserted and inferred, transitively reduced) as nested nodes."""
    supers: dict[str, set[str]] = defaultdict(set)
    classes: set[str] = set()
    for row in select("ontology_classes"):
        classes.add(row["class"].value)
        if "super" in row:
            supers[row["class"].value].add(row["super"].value)
    # Keep only direct superclasses: drop any that another superclass already reaches.
    def ancestors(cls: str, seen: set[str]) -> set[str]:
        for parent in supers.get(cls, ()):
            if parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen
    direct = {cls: {p for p in ps if not any(p in ancestors(o, set()) for o in ps if o != p)}
              for cls, ps in supers.items()}
    children: dict[str | None, list[str]] = defaultdict(list)
    for cls in classes:
        for parent in direct.get(cls) or {None}:
            children[parent].append(cls)
            # A superclass from another vocabulary (prov:Agent) becomes a root of its own.
            if parent is not None and parent not in classes and parent not in children[None]:
                children[None].append(parent)
    counts = {row["class"].value: int(row["n"].value) for row in select("instance_counts")}

    def node(iri: str, path: tuple[str, ...]) -> dict:
        kids = [] if iri in path else sorted(children.get(iri, []), key=lambda c: label(ox.NamedNode(c)).lower())
        return {"term": ox.NamedNode(iri), "count": counts.get(iri, 0), "external": iri not in classes,
                "children": [node(k, path + (iri,)) for k in kids]}

    roots = sorted(set(children[None]), key=lambda c: (c not in classes, label(ox.NamedNode(c)).lower()))
    return [node(root, ()) for root in roots]


@bp.get("/ontology")
def ontology():
    """Show the class tree, properties and individuals; machines get the whole ontology graph."""
    return _ontology_document()


@bp.get("/ontology/<int:major>.<int:minor>.<int:patch>")
def ontology_version(major: int, minor: int, patch: int):
    """Answer the version IRI (owl:versionIRI) as the ontology itself, negotiated like /ontology.

    Raises:
        NotFound: the store's ontology has another version (only the version it holds is served).
    """
    # The IRI as written in the path (the int converters would read 00.1.0 as 0.1.0).
    asked = f"{ONTOLOGY_IRI}/{request.path.rsplit('/', 1)[-1]}"
    versions = [row["version"].value for row in select("ontology_version")]
    if asked not in versions:
        held = ", ".join(f"<{v}>" for v in versions) or "none"
        raise NotFound(f"no release <{asked}> is served here; the ontology in the store has version IRI {held}")
    return _ontology_document()


def _ontology_document():
    # No Accept header at all: a loading client, not a browser (see the module docstring).
    media_type = "application/rdf+xml" if not _sends_accept() else negotiate()
    if media_type not in HTML_MEDIA_TYPES:
        response = rdf_response(construct("ontology_graph"), media_type)
        response.headers["Vary"] = "Accept"
        return response
    properties: dict[str, dict] = {}
    for row in select("ontology_properties"):
        entry = properties.setdefault(row["property"].value, {
            "term": row["property"], "kind": local_name(row["kind"].value), "domains": [], "ranges": []})
        for key, column in (("domain", "domains"), ("range", "ranges")):
            if key in row and not any(same_term(row[key], seen) for seen in entry[column]):
                entry[column].append(row[key])
    by_kind: dict[str, list] = defaultdict(list)
    for entry in sorted(properties.values(), key=lambda e: label(e["term"]).lower()):
        by_kind[entry["kind"]].append(entry)
    individuals: dict[str, list] = defaultdict(list)
    for row in select("ontology_individuals"):
        individuals[row["class"].value].append(row["individual"])
    grouped = sorted(((ox.NamedNode(cls), sorted(members, key=lambda m: label(m).lower()))
                      for cls, members in individuals.items()), key=lambda pair: label(pair[0]).lower())
    ontology_node = ox.NamedNode(str(ONTOLOGY_IRI))
    response = make_response(render_template(
        "ontology.html", tree_nodes=_class_tree(), properties=by_kind, individuals=grouped,
        node_ontology=ontology_node if str(ONTOLOGY_IRI) in labels() else None, active="ui.ontology"))
    response.headers["Vary"] = "Accept"
    return response


def _sends_accept() -> bool:
    return "Accept" in request.headers or "format" in request.args
