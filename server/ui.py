"""Blueprint "ui": the web pages (query editor, ontology browser, theory pictures) and IRI dereferencing."""

from __future__ import annotations

import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, g, make_response, render_template, request
from markupsafe import Markup, escape
from rdflib import BNode, Graph, Literal, URIRef

from kg.errors import BadRequest, NotAcceptable, NotFound
from kg.namespaces import (
    COP, DCTERMS, GRAPH, ID, INFERRED_GRAPH, ONTOLOGY_GRAPH, ONTOLOGY_IRI, OWL, PREFIXES, RDF, RDFS, SKOS,
    case_iri,
)
from kg.queries import compact_iri

bp = Blueprint("ui", __name__)

STATIC = Path(__file__).parent / "static"
LANGUAGES = ("en", "zh")
PROLOGUE = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())
LABEL_PREDICATES = (RDFS.label, SKOS.prefLabel)
MAX_INVERSE_LINKS = 1000

# Machine-readable serialisations of a resource description; HTML is for browsers.
RDF_MEDIA_TYPE_TO_RDFLIB_FORMAT = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
}
HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml")
# ?format= overrides Accept, so a plain link can fetch any serialisation.
FORMAT_PARAMETER_TO_MEDIA_TYPE = {
    "html": "text/html",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "rdf": "application/rdf+xml",
    "nt": "application/n-triples",
}
MEDIA_TYPE_TO_FORMAT_PARAMETER = {media: name for name, media in FORMAT_PARAMETER_TO_MEDIA_TYPE.items()}

# The source fixes these orders; the ontology does not rank stages or levels.
STAGE_ORDER = (COP.DesignStage, COP.OperationStage, COP.EvaluationStage)
SECTOR_ORDER = (COP.StateSector, COP.MarketSector, COP.SocietySector, COP.FamilySector)
AUTHORITY_ROWS = (COP.HighAuthority, COP.LowAuthority)  # top row first, as the typology is usually drawn
RESOURCE_COLUMNS = (COP.LowConcentration, COP.HighConcentration)
# Predicates shown first on a resource page, in this order; the rest follow by label.
LEADING_PREDICATES = (RDF.type, RDFS.label, SKOS.prefLabel, SKOS.definition, RDFS.comment, COP.description)
# Inverse links with a name of their own (a class's instances, subclasses, ...); i18n keys.
INVERSE_PREDICATE_TO_KEY = {
    RDF.type: "instances",
    RDFS.subClassOf: "subclasses",
    RDFS.domain: "domain_of",
    RDFS.range: "range_of",
    RDFS.subPropertyOf: "subproperties",
}
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


# --- reading the store ------------------------------------------------------------------------


def _store():
    return current_app.extensions["coprokg.store"]


def _ox_term(value) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(value, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        return value
    return ox.NamedNode(str(value))


def select(body: str, **bindings) -> list[dict[str, object]]:
    """Run a SELECT (CoproKG prefixes pre-declared) with variables bound by substitution; unbound ones are left out."""
    substitutions = {ox.Variable(name): _ox_term(value) for name, value in bindings.items()}
    solutions = _store().query(PROLOGUE + body, substitutions=substitutions or None)
    names = [variable.value for variable in solutions.variables]
    return [{name: solution[name] for name in names if solution[name] is not None} for solution in solutions]


def _iri(term) -> str | None:
    return term.value if isinstance(term, ox.NamedNode) else None


def _bool(term) -> bool:
    return isinstance(term, ox.Literal) and term.value in ("true", "1")


# --- language and labels ----------------------------------------------------------------------


def current_language() -> str:
    """Pick the page language: ?lang=, then the cookie, then Accept-Language, then English."""
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


@lru_cache(maxsize=1)
def _ui_strings() -> dict[str, dict[str, str]]:
    return json.loads((STATIC / "i18n.json").read_text(encoding="utf-8"))


def translate(key: str) -> str:
    """Give the UI string `key` in the page language (English if it has no translation)."""
    strings = _ui_strings()
    return strings.get(g.lang, {}).get(key) or strings["en"].get(key) or key


def _labels() -> dict[str, dict[str, str]]:
    """Map every labelled IRI to its labels by language tag ("" for none); read once per request."""
    if "labels" not in g:
        table: dict[str, dict[str, str]] = defaultdict(dict)
        rows = select("SELECT ?s ?label WHERE { VALUES ?p { rdfs:label skos:prefLabel } ?s ?p ?label FILTER isIRI(?s) }")
        for row in rows:
            literal = row["label"]
            language = (literal.language or "").lower() if isinstance(literal, ox.Literal) else ""
            table[row["s"].value].setdefault(language, literal.value)
        g.labels = table
    return g.labels


def _pick_language(by_language: dict[str, str], language: str) -> str | None:
    for wanted in (language, "en", ""):
        for tag, text in by_language.items():
            if tag == wanted or tag.split("-")[0] == wanted:
                return text
    return next(iter(by_language.values()), None)


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
    found = _pick_language(_labels().get(iri, {}), g.lang)
    return found if found is not None else local_name(iri)


# --- where each IRI lives on this server --------------------------------------------------------


def local_path(iri: str) -> str:
    """Give the path on this server that describes `iri` (see README, "Web UI")."""
    if iri == str(ONTOLOGY_IRI):
        return "/ontology"
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


# --- blank nodes: OWL class expressions, rendered in Manchester-like words ----------------------


def _blank_node_triples(node: ox.BlankNode) -> dict[str, list]:
    rows = select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", s=node)
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


# --- requests ---------------------------------------------------------------------------------


@bp.before_request
def _choose_language() -> None:
    g.lang = current_language()


@bp.after_request
def _remember_language(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax")
    return response


NAVIGATION = (
    ("ui.query_page", "nav_query"),
    ("ui.ontology", "nav_ontology"),
    ("ui.mechanisms", "nav_mechanisms"),
    ("ui.modes", "nav_modes"),
    ("ui.cases", "nav_cases"),
    ("ui.government", "nav_government"),
    ("ui.docs", "nav_docs"),
)


@bp.context_processor
def _template_helpers() -> dict:
    def switch_language(language: str) -> str:
        args = request.args.to_dict()
        args["lang"] = language
        return request.path + "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in args.items())

    return {"t": translate, "lang": g.get("lang", "en"), "label": label, "link": link, "compact": compact_iri,
            "local_path": local_path, "case_path": case_path, "navigation": NAVIGATION,
            "switch_language": switch_language, "iri_of": _iri, "is_true": _bool, "iri_node": ox.NamedNode}


# --- the query page ---------------------------------------------------------------------------


# Strings the query page's script shows; the rest of the page is translated in the template.
QUERY_SCRIPT_STRINGS = ("example_values", "no_examples", "running", "query_failed", "line", "column", "rows",
                        "no_rows", "sort_hint", "page", "declared_for_you", "parser_said")


@bp.get("/")
def query_page():
    """Show the SPARQL editor with the named queries as one-click examples."""
    # No PREFIX lines: /sparql declares the known prefixes a query uses (server/sparql.py).
    starter = request.args.get("query") or (
        "# " + translate("starter_comment") + "\nSELECT ?case ?label ?mode WHERE {\n"
        "  ?case a cop:CoproductionCase ; rdfs:label ?label .\n"
        "  OPTIONAL { ?case cop:hasMode ?mode }\n"
        f'  FILTER(LANGMATCHES(LANG(?label), "{g.lang}"))\n}}\nORDER BY ?case\n')
    config = {
        "endpoint": "/sparql",
        "queriesApi": "/api/queries",
        "starter": starter,
        "lang": g.lang,
        "prefixes": PREFIXES,
        "localPaths": [[str(COP), "/ontology/"], [str(ID), "/id/"]],
        "strings": {key: translate(key) for key in QUERY_SCRIPT_STRINGS},
    }
    return render_template("query.html", config=config, prefixes=PREFIXES, active="ui.query_page")


# --- the ontology browser ---------------------------------------------------------------------

ONTOLOGY_CLASSES = f"""
SELECT DISTINCT ?class ?super WHERE {{
  GRAPH <{ONTOLOGY_GRAPH}> {{ ?class a owl:Class }}
  FILTER isIRI(?class)
  OPTIONAL {{ ?class rdfs:subClassOf ?super FILTER(isIRI(?super) && ?super != ?class && ?super != owl:Thing) }}
}}"""
INSTANCE_COUNTS = "SELECT ?class (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ?class } GROUP BY ?class"
ONTOLOGY_PROPERTIES = f"""
SELECT DISTINCT ?property ?kind ?domain ?range WHERE {{
  GRAPH <{ONTOLOGY_GRAPH}> {{
    VALUES ?kind {{ owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty }}
    ?property a ?kind FILTER isIRI(?property)
  }}
  OPTIONAL {{ ?property rdfs:domain ?domain }}
  OPTIONAL {{ ?property rdfs:range ?range }}
}}"""
ONTOLOGY_INDIVIDUALS = f"""
SELECT DISTINCT ?individual ?class WHERE {{
  GRAPH <{ONTOLOGY_GRAPH}> {{ ?individual a ?class FILTER(isIRI(?individual) && isIRI(?class)) }}
  GRAPH <{ONTOLOGY_GRAPH}> {{ ?class a owl:Class }}
}}"""


def _class_tree() -> list[dict]:
    """Build the class hierarchy (asserted and inferred, transitively reduced) as nested nodes."""
    supers: dict[str, set[str]] = defaultdict(set)
    classes: set[str] = set()
    for row in select(ONTOLOGY_CLASSES):
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
    counts = {row["class"].value: int(row["n"].value) for row in select(INSTANCE_COUNTS)}

    def node(iri: str, path: tuple[str, ...]) -> dict:
        kids = [] if iri in path else sorted(children.get(iri, []), key=lambda c: label(ox.NamedNode(c)).lower())
        return {"term": ox.NamedNode(iri), "count": counts.get(iri, 0), "external": iri not in classes,
                "children": [node(k, path + (iri,)) for k in kids]}

    roots = sorted(set(children[None]), key=lambda c: (c not in classes, label(ox.NamedNode(c)).lower()))
    return [node(root, ()) for root in roots]


@bp.get("/ontology")
def ontology():
    """Show the class tree, properties and individuals; machines get the whole ontology graph."""
    media_type = negotiate()
    if media_type not in HTML_MEDIA_TYPES:
        rows = _store().query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }} }}")
        return _rdf_response(_to_rdflib(list(rows)), media_type)
    properties: dict[str, dict] = {}
    for row in select(ONTOLOGY_PROPERTIES):
        entry = properties.setdefault(row["property"].value, {
            "term": row["property"], "kind": local_name(row["kind"].value), "domains": [], "ranges": []})
        for key, column in (("domain", "domains"), ("range", "ranges")):
            if key in row and not any(_same(row[key], seen) for seen in entry[column]):
                entry[column].append(row[key])
    by_kind: dict[str, list] = defaultdict(list)
    for entry in sorted(properties.values(), key=lambda e: label(e["term"]).lower()):
        by_kind[entry["kind"]].append(entry)
    individuals: dict[str, list] = defaultdict(list)
    for row in select(ONTOLOGY_INDIVIDUALS):
        individuals[row["class"].value].append(row["individual"])
    grouped = sorted(((ox.NamedNode(cls), sorted(members, key=lambda m: label(m).lower()))
                      for cls, members in individuals.items()), key=lambda pair: label(pair[0]).lower())
    ontology_node = ox.NamedNode(str(ONTOLOGY_IRI))
    response = make_response(render_template(
        "ontology.html", tree_nodes=_class_tree(), properties=by_kind, individuals=grouped,
        node_ontology=ontology_node if str(ONTOLOGY_IRI) in _labels() else None, active="ui.ontology"))
    response.headers["Vary"] = "Accept"
    return response


def _same(a, b) -> bool:
    return type(a) is type(b) and a.value == b.value


# --- resource pages and dereferencing ---------------------------------------------------------


def negotiate() -> str:
    """Choose the response media type from ?format= or Accept: HTML for browsers, RDF for machines.

    Raises:
        BadRequest: ?format= names no known format.
        NotAcceptable: Accept admits none of the media types we serve.
    """
    chosen = request.args.get("format")
    if chosen is not None:
        if chosen not in FORMAT_PARAMETER_TO_MEDIA_TYPE:
            raise BadRequest(f"format={chosen!r}: use one of {', '.join(FORMAT_PARAMETER_TO_MEDIA_TYPE)}")
        return FORMAT_PARAMETER_TO_MEDIA_TYPE[chosen]
    accept = request.accept_mimetypes
    if not accept.provided:
        return "text/html"
    offered = [*HTML_MEDIA_TYPES, *RDF_MEDIA_TYPE_TO_RDFLIB_FORMAT]
    best = accept.best_match(offered)
    if best is None:
        raise NotAcceptable(f"this resource is available as {', '.join(offered)}")
    return "text/html" if best in HTML_MEDIA_TYPES else best


def _outgoing(subject) -> list[dict]:
    return select("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }", s=subject)


def _incoming(obj) -> list[dict]:
    return select(f"SELECT ?o ?s ?p ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT {MAX_INVERSE_LINKS}", o=obj)


@bp.get("/ontology/<name>")
def ontology_term(name: str):
    """Describe one ontology term (https://w3id.org/coprokg/ontology#name)."""
    return describe(ox.NamedNode(str(COP[name])))


@bp.get("/id/<path:rest>")
def data_resource(rest: str):
    """Describe one case-data resource (https://w3id.org/coprokg/id/rest)."""
    return describe(ox.NamedNode(str(ID[rest])))


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
    outgoing, incoming = _outgoing(subject), _incoming(subject)
    if not outgoing and not incoming:
        if media_type in HTML_MEDIA_TYPES:
            page = render_template("not_found.html", iri=subject.value, active=None)
            return _vary(make_response(page, 404))
        raise NotFound(f"the knowledge graph says nothing about <{subject.value}>")
    if media_type not in HTML_MEDIA_TYPES:
        return _vary(_rdf_response(_description_graph(subject, outgoing, incoming), media_type))
    describe_query = (f"SELECT ?property ?value ?graph WHERE {{\n  GRAPH ?graph {{ <{subject.value}> ?property ?value }}\n}}"
                      "\nORDER BY ?property")
    page = render_template("resource.html", subject=subject, **_resource_view(subject, outgoing, incoming),
                           formats=FORMAT_PARAMETER_TO_MEDIA_TYPE, describe_query=describe_query, active="ui.ontology")
    response = make_response(page)
    response.headers["Link"] = ", ".join(
        f'<{request.path}?format={name}>; rel="alternate"; type="{media}"'
        for name, media in FORMAT_PARAMETER_TO_MEDIA_TYPE.items() if name != "html")
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


def _in_page_language(values: list[dict]) -> list[dict]:
    """Keep the literals in the page language when there are any; other values always stay."""
    tagged = [v for v in values if isinstance(v["term"], ox.Literal) and v["term"].language]
    chosen = [v for v in tagged if v["term"].language.split("-")[0].lower() == g.lang]
    if not chosen:
        chosen = [v for v in tagged if v["term"].language.split("-")[0].lower() == "en"] or tagged
    return [v for v in values if v not in tagged or v in chosen]


def _resource_view(subject, outgoing: list[dict], incoming: list[dict]) -> dict:
    groups = _grouped(outgoing, "o")
    order = {str(p): i for i, p in enumerate(LEADING_PREDICATES)}
    statements = sorted(groups.values(), key=lambda grp: (order.get(grp["predicate"].value, len(order)),
                                                           label(grp["predicate"]).lower()))
    for group in statements:
        values = sorted(group.pop("values").values(), key=lambda v: label(v["term"]).lower())
        group["values"] = _in_page_language(values)
    inverse = []
    for group in _grouped(incoming, "s").values():
        predicate = group["predicate"]
        key = INVERSE_PREDICATE_TO_KEY.get(URIRef(predicate.value))
        values = sorted(group.pop("values").values(), key=lambda v: label(v["term"]).lower())
        inverse.append({"predicate": predicate, "key": key, "values": values,
                        "title": translate(key) if key else translate("is_x_of").format(label(predicate))})
    inverse.sort(key=lambda grp: (grp["key"] is None, grp["title"].lower()))
    types = [v["term"].value for grp in statements if grp["predicate"].value == str(RDF.type) for v in grp["values"]]
    graphs = sorted({row["g"].value for row in outgoing})
    return {"statements": statements, "inverse": inverse, "types": types, "graphs": graphs,
            "case_page": case_path(subject.value) if str(COP.CoproductionCase) in types else None,
            "illustrative": any(_bool(row["o"]) for row in outgoing if row["p"].value == str(COP.isIllustrative))}


def _to_rdflib_term(term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def _to_rdflib(triples) -> Graph:
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True)
    for triple in triples:
        graph.add((_to_rdflib_term(triple.subject), _to_rdflib_term(triple.predicate), _to_rdflib_term(triple.object)))
    return graph


def _description_graph(subject, outgoing: list[dict], incoming: list[dict]) -> Graph:
    """Collect the triples about `subject`, its blank-node closure, inverse links, and neighbours' labels."""
    triples = {ox.Triple(row["s"], row["p"], row["o"]) for row in outgoing}
    triples |= {ox.Triple(row["s"], row["p"], row["o"]) for row in incoming}
    pending = [row["o"] for row in outgoing if isinstance(row["o"], ox.BlankNode)]
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if node.value in seen:
            continue
        seen.add(node.value)
        for row in select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", s=node):
            triples.add(ox.Triple(node, row["p"], row["o"]))
            if isinstance(row["o"], ox.BlankNode):
                pending.append(row["o"])
    neighbours = {t.object.value for t in triples if isinstance(t.object, ox.NamedNode)}
    neighbours |= {t.subject.value for t in triples if isinstance(t.subject, ox.NamedNode)}
    neighbours |= {t.predicate.value for t in triples}
    neighbours.discard(subject.value)
    labels = _labels()
    label_predicate = ox.NamedNode(str(RDFS.label))
    for iri in neighbours:
        by_language = labels.get(iri)
        if not by_language:
            continue
        tag = next((t for t in by_language if t.split("-")[0] == g.lang), None)
        tag = tag if tag is not None else next((t for t in by_language if t.split("-")[0] == "en"), next(iter(by_language)))
        literal = ox.Literal(by_language[tag], language=tag) if tag else ox.Literal(by_language[tag])
        triples.add(ox.Triple(ox.NamedNode(iri), label_predicate, literal))
    return _to_rdflib(triples)


def _rdf_response(graph: Graph, media_type: str) -> Response:
    rdflib_format = RDF_MEDIA_TYPE_TO_RDFLIB_FORMAT[media_type]
    options = {"context": dict(PREFIXES), "auto_compact": True} if rdflib_format == "json-ld" else {}
    body = graph.serialize(format=rdflib_format, **options)
    return Response(body, mimetype=media_type, headers={"Content-Type": f"{media_type}; charset=utf-8"})


# --- the operation mechanism -----------------------------------------------------------------

MECHANISM_CHAIN = """
SELECT ?mechanism ?stage ?logic ?strategy ?outcome WHERE {
  ?mechanism a cop:Mechanism .
  OPTIONAL { ?mechanism cop:operatesAtStage ?stage }
  OPTIONAL { ?mechanism cop:restsOnLogic ?logic }
  OPTIONAL { ?mechanism cop:employsStrategy ?strategy OPTIONAL { ?strategy cop:yieldsOutcome ?outcome } }
}"""
CASES_PER_OUTCOME = """
SELECT ?outcome (COUNT(DISTINCT ?case) AS ?cases) WHERE {
  ?observation cop:showsOutcome ?outcome ; cop:observationIn ?case
} GROUP BY ?outcome"""


# The virtuous cycle: two-way links between elements (subjects, interests, actions), each element's
# quality, the logic that develops it, the mechanism resting on that logic and the outcomes raising it.
CYCLE = """
SELECT ?link ?element ?quality ?logic ?mechanism ?outcome WHERE {
  ?link a cop:CycleLink ; cop:linksElement ?element .
  OPTIONAL {
    ?quality cop:qualityOf ?element .
    OPTIONAL { ?logic cop:developsQuality ?quality OPTIONAL { ?mechanism cop:restsOnLogic ?logic } }
    OPTIONAL { ?outcome cop:raisesQuality ?quality }
  }
}"""
# Where the three elements of the cycle sit in the picture (SVG user units), and their radius.
CYCLE_VERTICES = ((360, 88), (150, 330), (570, 330))
CYCLE_RADIUS = 66


def _stage_rank(term) -> int:
    iri = term.value if term is not None else ""
    return next((i for i, stage in enumerate(STAGE_ORDER) if str(stage) == iri), len(STAGE_ORDER))


@bp.get("/mechanisms")
def mechanisms():
    """Draw the operation mechanism from the store: stage → mechanism → logic and strategy → outcomes."""
    chains: dict[str, dict] = {}
    for row in select(MECHANISM_CHAIN):
        chain = chains.setdefault(row["mechanism"].value, {
            "mechanism": row["mechanism"], "stage": None, "logic": None, "strategy": None, "outcomes": []})
        for key in ("stage", "logic", "strategy"):
            chain[key] = chain[key] or row.get(key)
        if "outcome" in row and not any(_same(row["outcome"], o) for o in chain["outcomes"]):
            chain["outcomes"].append(row["outcome"])
    ordered = sorted(chains.values(), key=lambda c: (_stage_rank(c["stage"]), label(c["mechanism"])))
    for chain in ordered:
        chain["outcomes"].sort(key=lambda o: label(o).lower())
    case_counts = {row["outcome"].value: int(row["cases"].value) for row in select(CASES_PER_OUTCOME)}
    stage_of_mechanism = {c["mechanism"].value: _stage_rank(c["stage"]) for c in ordered}
    return render_template("mechanisms.html", chains=ordered, case_counts=case_counts,
                           cycle=_cycle(stage_of_mechanism), active="ui.mechanisms")


def _cycle(stage_of_mechanism: dict[str, int]) -> dict | None:
    """Lay out the virtuous cycle: its elements as vertices (in stage order) and its links as edges."""
    rows = select(CYCLE)
    elements = _collect(rows, "element", ("quality", "logic", "mechanism", "outcome"))
    if len(elements) != len(CYCLE_VERTICES):
        return None
    elements.sort(key=lambda e: (min((stage_of_mechanism.get(m.value, 9) for m in e["mechanism"]), default=9),
                                 label(e["element"])))
    for element, (x, y) in zip(elements, CYCLE_VERTICES):
        element["x"], element["y"] = x, y
    position = {e["element"].value: (e["x"], e["y"]) for e in elements}
    edges = []
    for link in _collect(rows, "link", ("element",)):
        ends = [position[e.value] for e in link["element"] if e.value in position]
        if len(ends) == 2:
            edges.append({"link": link["link"], "path": _edge_path(*ends)})
    return {"elements": elements, "edges": edges}


def _edge_path(start: tuple[int, int], end: tuple[int, int]) -> str:
    """Draw a two-way edge as a curve bowing away from the cycle's centre, stopping short of both circles."""
    cx = sum(x for x, _ in CYCLE_VERTICES) / len(CYCLE_VERTICES)
    cy = sum(y for _, y in CYCLE_VERTICES) / len(CYCLE_VERTICES)
    mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
    control = (mx + (mx - cx) * 0.45, my + (my - cy) * 0.45)

    def shorten(point, towards):
        dx, dy = towards[0] - point[0], towards[1] - point[1]
        length = (dx * dx + dy * dy) ** 0.5 or 1
        gap = CYCLE_RADIUS + 8
        return point[0] + dx / length * gap, point[1] + dy / length * gap

    a, b = shorten(start, control), shorten(end, control)
    return f"M{a[0]:.0f},{a[1]:.0f} Q{control[0]:.0f},{control[1]:.0f} {b[0]:.0f},{b[1]:.0f}"


# --- the 2 x 2 of modes ------------------------------------------------------------------------

MODE_CELLS = """
SELECT DISTINCT ?mode ?authority ?resources WHERE {
  { ?mode cop:characterisedByAuthority ?authority ; cop:characterisedByConcentration ?resources }
  UNION
  { ?modeClass rdfs:subClassOf [ owl:onProperty cop:hasMode ; owl:hasValue ?mode ] ;
               owl:equivalentClass/owl:intersectionOf/rdf:rest*/rdf:first
                   [ owl:onProperty cop:hasAuthorityLevel ; owl:hasValue ?authority ] ,
                   [ owl:onProperty cop:hasResourceConcentration ; owl:hasValue ?resources ] . }
}"""
MODE_CONDITIONS = """
SELECT ?mode ?condition WHERE { ?mode a cop:CoproductionMode OPTIONAL { ?mode cop:hasApplicationCondition ?condition } }"""
CASE_PLACEMENT = """
SELECT ?case ?authority ?resources ?mode ?illustrative WHERE {
  ?case a cop:CoproductionCase .
  OPTIONAL { ?case cop:hasAuthorityLevel ?authority }
  OPTIONAL { ?case cop:hasResourceConcentration ?resources }
  OPTIONAL { ?case cop:hasMode ?mode }
  OPTIONAL { ?case cop:isIllustrative ?illustrative }
}"""
CASE_CONDITIONS = """
SELECT ?case ?condition ?holds WHERE {
  { ?case cop:failsCondition ?condition BIND(false AS ?holds) }
  UNION { ?case cop:meetsCondition ?condition BIND(true AS ?holds) }
  UNION { ?assessment cop:assessmentOf ?case ; cop:assessesCondition ?condition ; cop:conditionHolds ?holds }
}"""


def _condition_status() -> dict[str, dict[str, bool]]:
    """Map case → condition → holds; a condition assessed both ways counts as unmet."""
    status: dict[str, dict[str, bool]] = defaultdict(dict)
    for row in select(CASE_CONDITIONS):
        holds = _bool(row["holds"])
        case, condition = row["case"].value, row["condition"].value
        status[case][condition] = status[case].get(condition, True) and holds
    return status


@bp.get("/modes")
def modes():
    """Draw the 2×2 of modes, each case in the cell its two levels put it, with unmet conditions flagged."""
    cell_of_mode = {row["mode"].value: (row["authority"].value, row["resources"].value) for row in select(MODE_CELLS)}
    conditions: dict[str, list] = defaultdict(list)
    for row in select(MODE_CONDITIONS):
        listed = conditions.setdefault(row["mode"].value, [])  # a mode without conditions is still a mode
        if "condition" in row:
            listed.append(row["condition"])
    status = _condition_status()
    cases: dict[str, dict] = {}
    for row in select(CASE_PLACEMENT):
        case = cases.setdefault(row["case"].value, {"term": row["case"], "modes": [], "authority": None,
                                                    "resources": None, "illustrative": False})
        case["authority"] = case["authority"] or _iri(row.get("authority"))
        case["resources"] = case["resources"] or _iri(row.get("resources"))
        case["illustrative"] |= _bool(row.get("illustrative"))
        if "mode" in row and row["mode"].value not in case["modes"]:
            case["modes"].append(row["mode"].value)
    cells = {(str(a), str(r)): {"modes": [], "cases": []} for a in AUTHORITY_ROWS for r in RESOURCE_COLUMNS}
    for mode, cell in cell_of_mode.items():
        if cell in cells:
            cells[cell]["modes"].append(mode)
    unplaced = []
    for case in sorted(cases.values(), key=lambda c: label(c["term"]).lower()):
        checks = []
        for mode in case["modes"]:
            for condition in conditions.get(mode, []):
                holds = status.get(case["term"].value, {}).get(condition.value)
                checks.append({"condition": condition, "holds": holds})
        case["unmet"] = [c["condition"] for c in checks if c["holds"] is False]
        case["unknown"] = [c["condition"] for c in checks if c["holds"] is None]
        case["met"] = [c["condition"] for c in checks if c["holds"] is True]
        cell = (case["authority"], case["resources"])
        case["mode_mismatch"] = any(cell_of_mode.get(m) not in (None, cell) for m in case["modes"])
        if cell in cells:
            cells[cell]["cases"].append(case)
        else:
            unplaced.append(case)
    unplaced_modes = [m for m in conditions if m not in cell_of_mode]
    return render_template("modes.html", cells=cells, rows=[str(a) for a in AUTHORITY_ROWS],
                           columns=[str(r) for r in RESOURCE_COLUMNS],
                           conditions=conditions, unplaced=unplaced, unplaced_modes=unplaced_modes,
                           node=ox.NamedNode, active="ui.modes")


# --- cases -------------------------------------------------------------------------------------

CASE_LIST = """
SELECT ?case ?city ?mode ?illustrative WHERE {
  ?case a cop:CoproductionCase .
  OPTIONAL { ?case cop:city ?city }
  OPTIONAL { ?case cop:hasMode ?mode }
  OPTIONAL { ?case cop:isIllustrative ?illustrative }
}"""
CASE_ACTORS = """
SELECT ?case ?actor ?sector ?role WHERE {
  { ?case cop:involvesActor ?actor } UNION { ?p cop:participationIn ?case ; cop:participant ?actor }
  OPTIONAL { ?actor cop:inSector ?sector }
  OPTIONAL { ?participation cop:participationIn ?case ; cop:participant ?actor ; cop:hasRole ?role }
}"""
CASE_OBSERVATIONS = """
SELECT ?case ?observation ?stage ?mechanism ?strategy ?outcome ?actor ?description ?evidence WHERE {
  ?observation cop:observationIn ?case .
  OPTIONAL { ?observation cop:atStage ?stage }
  OPTIONAL { ?observation cop:ofMechanism ?mechanism }
  OPTIONAL { ?observation cop:usingStrategy ?strategy }
  OPTIONAL { ?observation cop:showsOutcome ?outcome }
  OPTIONAL { ?observation cop:involvesActor ?actor }
  OPTIONAL { ?observation cop:description ?description }
  OPTIONAL { ?observation cop:supportedBy ?evidence }
}"""
CASE_EVIDENCE = """
SELECT ?case ?evidence ?kind ?identifier ?date ?quotation ?description WHERE {
  GRAPH ?graph { ?case a cop:CoproductionCase . ?evidence a cop:Evidence }
  OPTIONAL { ?evidence cop:evidenceKind ?kind }
  OPTIONAL { ?evidence dcterms:identifier ?identifier }
  OPTIONAL { ?evidence dcterms:date ?date }
  OPTIONAL { ?evidence cop:quotation ?quotation }
  OPTIONAL { ?evidence cop:description ?description }
}"""
CASE_ASSESSMENTS = """
SELECT ?case ?assessment ?condition ?dimension ?level ?holds ?justification ?evidence WHERE {
  ?assessment cop:assessmentOf ?case .
  OPTIONAL { ?assessment cop:assessesCondition ?condition }
  OPTIONAL { ?assessment cop:assessesDimension ?dimension }
  OPTIONAL { ?assessment cop:assignedLevel ?level }
  OPTIONAL { ?assessment cop:conditionHolds ?holds }
  OPTIONAL { ?assessment cop:justification ?justification }
  OPTIONAL { ?assessment cop:supportedBy ?evidence }
}"""
CASE_PERFORMANCE = """
SELECT ?case ?fact ?indicator ?value ?description ?evidence WHERE {
  ?fact cop:performanceOf ?case .
  OPTIONAL { ?fact cop:indicator ?indicator }
  OPTIONAL { ?fact cop:value ?value }
  OPTIONAL { ?fact cop:description ?description }
  OPTIONAL { ?fact cop:supportedBy ?evidence }
}"""
CASE_PROVENANCE = """
SELECT ?case ?graph ?source ?generated WHERE {
  GRAPH ?graph { ?case a cop:CoproductionCase }
  OPTIONAL { GRAPH ?graph { ?x prov:wasDerivedFrom ?source FILTER(?x IN (?case, ?graph)) } }
  OPTIONAL { GRAPH ?graph { ?y prov:generatedAtTime ?generated FILTER(?y IN (?case, ?graph)) } }
}"""


@bp.get("/cases")
def cases():
    """List the cases with their mode and city."""
    found: dict[str, dict] = {}
    for row in select(CASE_LIST):
        case = found.setdefault(row["case"].value, {"term": row["case"], "cities": [], "modes": [], "illustrative": False})
        for key, column in (("city", "cities"), ("mode", "modes")):
            if key in row and not any(_same(row[key], seen) for seen in case[column]):
                case[column].append(row[key])
        case["illustrative"] |= _bool(row.get("illustrative"))
    for case in found.values():
        case["cities"] = [v["term"] for v in _in_page_language([{"term": c} for c in case["cities"]])]
    listed = sorted(found.values(), key=lambda c: label(c["term"]).lower())
    return render_template("cases.html", cases=listed, active="ui.cases")


def _collect(rows: list[dict], key: str, fields: tuple[str, ...]) -> list[dict]:
    """Fold rows into one record per `key`, each field a list of distinct values."""
    records: dict[str, dict] = {}
    for row in rows:
        if key not in row:
            continue
        record = records.setdefault(row[key].value, {key: row[key], **{f: [] for f in fields}})
        for f in fields:
            if f in row and not any(_same(row[f], seen) for seen in record[f]):
                record[f].append(row[f])
    return list(records.values())


def _texts(values: list) -> list:
    return [v["term"] for v in _in_page_language([{"term": t} for t in values])]


@bp.get("/cases/<case_id>")
def case(case_id: str):
    """Show one case: actors by sector, mode and levels, observations with their evidence.

    Raises:
        NotFound: no case has this id.
    """
    subject = ox.NamedNode(str(case_iri(case_id)))
    outgoing = _outgoing(subject)
    if not any(r["p"].value == str(RDF.type) and r["o"].value == str(COP.CoproductionCase) for r in outgoing):
        return make_response(render_template("not_found.html", iri=subject.value, active="ui.cases"), 404)
    facts: dict[str, list] = defaultdict(list)
    for row in outgoing:
        if not any(_same(row["o"], seen) for seen in facts[row["p"].value]):
            facts[row["p"].value].append(row["o"])
    actors = _collect(select(CASE_ACTORS, case=subject), "actor", ("sector", "role"))
    by_sector = [(ox.NamedNode(str(sector)), [a for a in actors if any(s.value == str(sector) for s in a["sector"])])
                 for sector in SECTOR_ORDER]
    unsectored = [a for a in actors if not any(s.value in map(str, SECTOR_ORDER) for s in a["sector"])]
    observations = _collect(select(CASE_OBSERVATIONS, case=subject), "observation",
                            ("stage", "mechanism", "strategy", "outcome", "actor", "description", "evidence"))
    observations.sort(key=lambda o: (_stage_rank(o["stage"][0] if o["stage"] else None), _observation_number(o)))
    evidence = {e["evidence"].value: e for e in _collect(
        select(CASE_EVIDENCE, case=subject), "evidence", ("kind", "identifier", "date", "quotation", "description"))}
    assessments = _collect(select(CASE_ASSESSMENTS, case=subject), "assessment",
                           ("condition", "dimension", "level", "holds", "justification", "evidence"))
    performance = _collect(select(CASE_PERFORMANCE, case=subject), "fact", ("indicator", "value", "description", "evidence"))
    provenance = select(CASE_PROVENANCE, case=subject)
    modes_view = [m for m in facts.get(str(COP.hasMode), [])]
    status = _condition_status().get(subject.value, {})
    mode_conditions = []
    for mode in modes_view:
        for row in select(MODE_CONDITIONS, mode=mode):
            if "condition" in row:
                mode_conditions.append({"condition": row["condition"], "holds": status.get(row["condition"].value)})
    return render_template(
        "case.html", subject=subject, case_id=case_id, facts=facts, by_sector=by_sector, unsectored=unsectored,
        observations=observations, evidence=evidence, assessments=assessments, performance=performance,
        provenance=provenance, modes=modes_view, mode_conditions=mode_conditions, texts=_texts,
        fact=lambda predicate: facts.get(str(predicate), []), COP=COP, DCTERMS=DCTERMS, active="ui.cases")


def _observation_number(observation: dict) -> tuple[int, str]:
    tail = observation["observation"].value.rsplit("/", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (10**9, tail)


# --- enabling vs empowering government --------------------------------------------------------

GOVERNMENT_POSITIONS = """
SELECT ?position ?idea ?aspect ?text ?gap WHERE {
  ?position a cop:GovernmentIdeaPosition ; cop:positionOf ?idea ; cop:onAspect ?aspect .
  OPTIONAL { ?position cop:description ?text }
  OPTIONAL { ?position cop:notInSource ?gap }
}"""
GOVERNMENT_CLAIMS = """
SELECT ?claim ?statement WHERE {
  ?claim a cop:Claim ; cop:about ?idea ; cop:statement ?statement .
  ?idea a cop:GovernmentIdea .
}"""
# The source's order of the comparison; the ontology does not rank its aspects.
IDEA_ORDER = (COP.EnablingGovernment, COP.EmpoweringGovernment)
ASPECT_ORDER = (COP.PremiseAspect, COP.NatureOfPowerAspect, COP.MeansAspect, COP.ExpectedEffectAspect, COP.RiskAspect)


def _rank(term, order: tuple) -> tuple[int, str]:
    return next((i for i, iri in enumerate(order) if str(iri) == term.value), len(order)), label(term).lower()


@bp.get("/government")
def government():
    """Compare enabling and empowering government aspect by aspect, from the ontology's position nodes."""
    positions = _collect(select(GOVERNMENT_POSITIONS), "position", ("idea", "aspect", "text", "gap"))
    ideas = sorted({p["idea"][0].value: p["idea"][0] for p in positions}.values(), key=lambda i: _rank(i, IDEA_ORDER))
    aspects = sorted({p["aspect"][0].value: p["aspect"][0] for p in positions}.values(),
                     key=lambda a: _rank(a, ASPECT_ORDER))
    cell = {(p["idea"][0].value, p["aspect"][0].value): p for p in positions}
    rows = [{"aspect": aspect, "cells": [cell.get((idea.value, aspect.value)) for idea in ideas]} for aspect in aspects]
    claims = _collect(select(GOVERNMENT_CLAIMS), "claim", ("statement",))
    return render_template("government.html", columns=ideas, rows=rows, claims=claims, texts=_texts,
                           active="ui.government")


# --- ontology documentation ------------------------------------------------------------------


@bp.get("/docs")
def docs():
    """Serve the ontology documentation pyLODE generated, generating it first if it is missing or stale."""
    from kg.docs import ontology_docs

    settings = current_app.extensions["coprokg.settings"]
    page = ontology_docs(settings.ontology).read_text(encoding="utf-8")
    # pyLODE's page brings its own style; add our bundled fonts (for Chinese labels) and a way back.
    fonts = ('<link rel="stylesheet" href="/static/build/fonts.css"><style>body, body *:not(code):not(pre)'
             '{font-family:"Inter Variable","Noto Sans SC Variable",sans-serif !important}</style>')
    back = str(Markup('<p style="margin:.5rem 1rem"><a href="/ontology">← {}</a></p>').format(translate("back_to_browser")))
    page = page.replace("</head>", fonts + "</head>", 1).replace("<body>", "<body>" + back, 1)
    return Response(page, mimetype="text/html")
