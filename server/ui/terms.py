"""How a term appears on a page: its label in the page language, its short name, and where it is described."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

import pyoxigraph as ox
from flask import g
from markupsafe import Markup, escape

from kg.namespaces import COP, ID, ONTOLOGY_IRI, OWL, RDF
from kg.namespaces import compact_iri
from server.ui.language import pick_language
from server.ui.reading import select

# How OWL restrictions and lists read in words, Manchester-style.
RESTRICTION_PREDICATE_TO_WORD = {
    OWL.someValuesFrom: "some",
    OWL.allValuesFrom: "only",
    OWL.hasValue: "value",
    OWL.minCardinality: "min",
    OWL.maxCardinality: "max",
    OWL.cardinality: "exactly",
    OWL.minQualifiedCardinality: "min",
    OWL.maxQualifiedCardinality: "max",
    OWL.qualifiedCardinality: "exactly",
}
LIST_PREDICATE_TO_WORD = {OWL.intersectionOf: "and", OWL.unionOf: "or", OWL.oneOf: ",", OWL.propertyChainAxiom: "∘"}


def labels() -> dict[str, dict[str, str]]:
    """Map every labelled IRI to its labels by language tag ("" for none); read once per request."""
    if "labels" not in g:
        table: dict[str, dict[str, str]] = defaultdict(dict)
        for row in select("labels"):
            literal = row["label"]
            language = (literal.language or "").lower() if isinstance(literal, ox.Literal) else ""
            table[row["s"].value].setdefault(language, literal.value)
        g.labels = table
    return g.labels


def local_name(iri: str) -> str:
    """Give a short name for an IRI: a case part's path inside its case ("observation 2"), else the last segment."""
    parts = iri[len(str(ID)):].split("/") if iri.startswith(str(ID)) else []
    if len(parts) >= 4 and parts[0] == "case":
        return " ".join(parts[2:])
    return iri.rstrip("/").rsplit("#", 1)[-1].rsplit("/", 1)[-1] or iri


def label(term) -> str:
    """Give a term's label in the page language, falling back to English, then its local name."""
    iri = term.value if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal)) else str(term)
    if isinstance(term, ox.Literal):
        return term.value
    found = pick_language(labels().get(iri, {}), g.lang)
    return found if found is not None else local_name(iri)


def local_path(iri: str) -> str:
    """Give the path on this server that describes `iri` (see README, "Web UI")."""
    if iri == str(ONTOLOGY_IRI):
        return "/ontology"
    if iri.startswith(str(ONTOLOGY_IRI) + "/"):  # a version IRI, /ontology/0.1.0
        return "/ontology/" + quote(iri[len(str(ONTOLOGY_IRI)) + 1:], safe="")
    if iri.startswith(str(COP)):
        return "/ontology/" + quote(iri[len(str(COP)):], safe="")
    if iri.startswith(str(ID)):
        return "/id/" + quote(iri[len(str(ID)):], safe="/")
    return "/resource?iri=" + quote(iri, safe="")


def case_path(iri: str) -> str | None:
    """Give the case page of a case IRI (id:case/{case}), or None if it is not one."""
    prefix = str(ID) + "case/"
    rest = iri[len(prefix):] if iri.startswith(prefix) else ""
    return "/cases/" + quote(rest, safe="") if rest and "/" not in rest else None


def link(term, css: str = "") -> Markup:
    """Render a term as HTML: an IRI as a labelled link, a literal as text, a blank node as an OWL expression."""
    if isinstance(term, ox.NamedNode):
        iri = term.value
        external = "" if iri.startswith((str(COP), str(ID), str(ONTOLOGY_IRI))) else " external"
        return Markup('<a class="term{}{}" href="{}" title="{}">{}</a>').format(
            external, f" {css}" if css else "", local_path(iri), compact_iri(iri), label(term))
    if isinstance(term, ox.Literal):
        if term.language:
            return Markup('<span class="literal" lang="{}">{}</span>').format(term.language, term.value)
        datatype = term.datatype.value
        note = "" if datatype.endswith(("#string", "#langString")) else compact_iri(datatype)
        return Markup('<span class="literal" title="{}">{}</span>').format(note, term.value)
    if isinstance(term, ox.BlankNode):
        return Markup('<span class="expression">{}</span>').format(class_expression(term))
    return escape(str(term))


# --- blank nodes: OWL class expressions, rendered in Manchester-like words (link() and these call each other)


def _blank_node_triples(node: ox.BlankNode) -> dict[str, list]:
    rows = select("blank_node", s=node)
    grouped: dict[str, list] = defaultdict(list)
    for row in rows:
        grouped[row["p"].value].append(row["o"])
    return grouped


def _rdf_list(node, depth: int) -> list:
    items = []
    while isinstance(node, ox.BlankNode) and len(items) < 100:
        triples = _blank_node_triples(node)
        if str(RDF.first) not in triples:
            break
        items.append(triples[str(RDF.first)][0])
        node = (triples.get(str(RDF.rest)) or [None])[0]
    return items


def class_expression(node, depth: int = 0) -> Markup:
    """Render an OWL expression (restriction, intersection, union, enumeration, list) as readable HTML."""
    if not isinstance(node, ox.BlankNode):
        return link(node)
    if depth > 6:
        return Markup("…")
    triples = _blank_node_triples(node)
    if str(OWL.onProperty) in triples:
        prop = link(triples[str(OWL.onProperty)][0])
        for predicate, word in RESTRICTION_PREDICATE_TO_WORD.items():
            if str(predicate) in triples:
                filler = class_expression(triples[str(predicate)][0], depth + 1)
                on_class = triples.get(str(OWL.onClass))
                if on_class:
                    filler = Markup("{} {}").format(filler, class_expression(on_class[0], depth + 1))
                return Markup('{} <span class="keyword">{}</span> {}').format(prop, word, filler)
        return prop
    for predicate, word in LIST_PREDICATE_TO_WORD.items():
        if str(predicate) in triples:
            items = [class_expression(item, depth + 1) for item in _rdf_list(triples[str(predicate)][0], depth)]
            joiner = Markup(f' <span class="keyword">{word}</span> ') if word != "," else Markup(", ")
            body = joiner.join(items)
            return Markup("{{{}}}").format(body) if predicate == OWL.oneOf else Markup("({})").format(body)
    if str(OWL.complementOf) in triples:
        return Markup('<span class="keyword">not</span> {}').format(
            class_expression(triples[str(OWL.complementOf)][0], depth + 1))
    if str(RDF.first) in triples:
        return Markup("({})").format(Markup(" ").join(class_expression(i, depth + 1) for i in _rdf_list(node, depth)))
    return Markup('<span class="muted">[{}]</span>').format(
        "; ".join(f"{compact_iri(p)} …" for p in triples) or "blank node")


