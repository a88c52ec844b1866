"""/terms.json: the known prefixes and the ontology's own terms labelled in the page language, which the query
editor offers as completions (server/static/src/editor.js)."""

from __future__ import annotations

from flask import g, jsonify

from kg.namespaces import OWL, PREFIXES, compact_iri
from server.ui.blueprint import bp
from server.ui.language import pick_language
from server.ui.reading import select
from server.ui.terms import labels, local_name

# A term typed both ways (a class punned as an individual) is offered as the first kind here.
KIND_ORDER = ((OWL.Class, "class"), (OWL.ObjectProperty, "property"), (OWL.DatatypeProperty, "property"),
              (OWL.AnnotationProperty, "property"), (OWL.NamedIndividual, "individual"))


@bp.get("/terms.json")
def completion_terms():
    """Give {lang, prefixes, terms: [{name, iri, kind, label, label_lang}]}, terms sorted by name."""
    kinds: dict[str, set[str]] = {}
    for row in select("completion_terms"):
        kinds.setdefault(row["term"].value, set()).add(row["kind"].value)
    terms = []
    for iri, found in kinds.items():
        kind = next(name for owl_kind, name in KIND_ORDER if str(owl_kind) in found)
        by_language = labels().get(iri, {})
        text = pick_language(by_language, g.lang)
        language = next((tag for tag, value in by_language.items() if value == text), None)
        terms.append({"name": compact_iri(iri), "iri": iri, "kind": kind,
                      "label": text if text is not None else local_name(iri), "label_lang": language})
    terms.sort(key=lambda term: term["name"])
    response = jsonify({"lang": g.lang, "prefixes": PREFIXES, "terms": terms})
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    return response
