"""Content negotiation: which media type answers a request, from Accept (q-values) or a `format` parameter."""

from __future__ import annotations

from functools import lru_cache

from flask import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from kg.errors import BadRequest, NotAcceptable

# Each table lists what we serve for one kind of result, preferred first (used for */* and no Accept).
SOLUTIONS_MEDIA_TYPES = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)
# CSV and TSV define no boolean form, so an ASK result is JSON or XML only.
BOOLEAN_MEDIA_TYPES = ("application/sparql-results+json", "application/sparql-results+xml")
GRAPH_MEDIA_TYPES = (
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/n-quads",
    "application/trig",
)
DATASET_MEDIA_TYPES = ("application/n-quads", "application/trig")
KIND_TO_MEDIA_TYPES = {
    "solutions": SOLUTIONS_MEDIA_TYPES,
    "boolean": BOOLEAN_MEDIA_TYPES,
    "graph": GRAPH_MEDIA_TYPES,
    "dataset": DATASET_MEDIA_TYPES,
}

# Media types clients commonly send that mean one of ours, per kind of result.
ALIAS_TO_MEDIA_TYPE = {
    "solutions": {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml",
                  "text/xml": "application/sparql-results+xml"},
    "boolean": {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml",
                "text/xml": "application/sparql-results+xml"},
    "graph": {"application/json": "application/ld+json", "application/xml": "application/rdf+xml",
              "text/xml": "application/rdf+xml", "text/plain": "application/n-triples",
              "application/x-turtle": "text/turtle"},
    "dataset": {"application/x-trig": "application/trig"},
}

# The `format` parameter: short names (per kind) or a media type.
FORMAT_TO_MEDIA_TYPE = {
    "json": {"solutions": "application/sparql-results+json", "boolean": "application/sparql-results+json",
             "graph": "application/ld+json"},
    "xml": {"solutions": "application/sparql-results+xml", "boolean": "application/sparql-results+xml",
            "graph": "application/rdf+xml"},
    "csv": {"solutions": "text/csv"},
    "tsv": {"solutions": "text/tab-separated-values"},
    "turtle": {"graph": "text/turtle"},
    "ttl": {"graph": "text/turtle"},
    "nt": {"graph": "application/n-triples"},
    "ntriples": {"graph": "application/n-triples"},
    "n-triples": {"graph": "application/n-triples"},
    "jsonld": {"graph": "application/ld+json"},
    "json-ld": {"graph": "application/ld+json"},
    "rdfxml": {"graph": "application/rdf+xml"},
    "rdf+xml": {"graph": "application/rdf+xml"},
    "rdf": {"graph": "application/rdf+xml"},
    # N3 is a superset of Turtle, so a Turtle answer is a valid N3 answer (SPARQLWrapper's N3 asks so).
    "n3": {"graph": "text/turtle"},
    # Plain text: the line-based form of each kind.
    "text": {"solutions": "text/tab-separated-values", "graph": "application/n-triples"},
    "nquads": {"graph": "application/n-quads", "dataset": "application/n-quads"},
    "nq": {"graph": "application/n-quads", "dataset": "application/n-quads"},
    "trig": {"graph": "application/trig", "dataset": "application/trig"},
}

# Distinct (Accept, format, kinds) combinations remembered; clients send few, so this bounds memory only.
NEGOTIATION_CACHE_SIZE = 512

# Text-based media types whose Content-Type should name the charset.
_NEEDS_CHARSET = {"text/csv", "text/tab-separated-values", "text/turtle", "application/n-triples",
                  "application/n-quads", "application/trig", "text/html", "text/plain"}


def content_type(media_type: str) -> str:
    """The Content-Type header value for a media type we serve (always UTF-8)."""
    return f"{media_type}; charset=utf-8" if media_type in _NEEDS_CHARSET else media_type


def negotiate(kind: str, accept: MIMEAccept | None = None, format_name: str | None = None) -> str | None:
    """Choose the media type for a `kind` of result; None when nothing acceptable is served."""
    if format_name:
        return _named_media_type(kind, format_name)
    accept = accept if accept is not None else request.accept_mimetypes
    served = KIND_TO_MEDIA_TYPES[kind]
    if not accept.provided or not accept:
        return served[0]
    aliases = ALIAS_TO_MEDIA_TYPE.get(kind, {})
    # Our own types first, so on equal quality the table's preference wins over an alias.
    best = accept.best_match(list(served) + list(aliases))
    if best is None:
        return None
    return aliases.get(best, best)


def _named_media_type(kind: str, format_name: str) -> str | None:
    """What a `format` value means for `kind`: a short name, a media type, or a comma list of media types
    (SPARQLWrapper sends its Accept list there), of which the first we serve wins."""
    named = FORMAT_TO_MEDIA_TYPE.get(format_name.strip().lower())
    if named is not None:
        return named.get(kind)
    for candidate in format_name.split(","):
        media_type = _format_media_type(kind, candidate)
        if media_type is not None:
            return media_type
    return None


def _format_media_type(kind: str, format_name: str) -> str | None:
    media_type = format_name.split(";")[0].strip().lower()
    media_type = ALIAS_TO_MEDIA_TYPE.get(kind, {}).get(media_type, media_type)
    return media_type if media_type in KIND_TO_MEDIA_TYPES[kind] else None


def choose_formats(format_names: str | tuple[str, ...] | list[str] | None = None,
                   kinds: tuple[str, ...] = ("solutions", "boolean", "graph")) -> dict[str, str | None]:
    """Negotiate every kind of result at once (the engine may be the first to know the query's kind).

    `format_names` is the request's `format` parameter, or all of them: clients such as SPARQLWrapper
    repeat it (`format=tsv&format=text/tab-separated-values`), which is fine while the values agree.

    Raises:
        BadRequest: a `format` value that names no format we know, or values that name different formats.
    """
    if isinstance(format_names, str):
        format_names = (format_names,)
    names = tuple(dict.fromkeys(name for name in format_names or () if name.strip()))
    # The choice depends only on the raw Accept header and the arguments, so it is worked out once per
    # combination (parsing Accept and matching it was a large share of a small query's time); a copy
    # goes out so no caller can change the remembered answer.
    return dict(_choose_formats(request.headers.get("Accept"), names, kinds))


@lru_cache(maxsize=NEGOTIATION_CACHE_SIZE)
def _choose_formats(accept_header: str | None, format_names: tuple[str, ...],
                    kinds: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    for name in format_names:
        if not any(_named_media_type(kind, name) for kind in KIND_TO_MEDIA_TYPES):
            known = ", ".join(sorted(FORMAT_TO_MEDIA_TYPE))
            raise BadRequest(f"format={name!r} is unknown; use one of {known} or a media type")
    if not format_names:
        accept = parse_accept_header(accept_header, MIMEAccept)  # exactly how werkzeug parses request.accept_mimetypes
        return tuple((kind, negotiate(kind, accept)) for kind in kinds)
    chosen = []
    for kind in kinds:
        # A value that means nothing for this kind (tsv for a graph) leaves the choice to the others.
        meanings = {m for m in (_named_media_type(kind, name) for name in format_names) if m is not None}
        if len(meanings) > 1:
            raise BadRequest(f"the format parameters {', '.join(map(repr, format_names))} ask for different "
                             f"{KIND_NAMES[kind]} formats ({', '.join(sorted(meanings))}); send one")
        chosen.append((kind, meanings.pop() if meanings else None))
    return tuple(chosen)


def require(formats: dict[str, str | None], kind: str) -> str:
    """The chosen media type for `kind`.

    Raises:
        NotAcceptable: nothing we serve for `kind` is acceptable; the message lists what we serve.
    """
    media_type = formats.get(kind)
    if media_type is None:
        raise NotAcceptable(f"a {KIND_NAMES[kind]} can be served as: {', '.join(KIND_TO_MEDIA_TYPES[kind])}")
    return media_type


KIND_NAMES = {"solutions": "SELECT result", "boolean": "ASK result", "graph": "graph (CONSTRUCT/DESCRIBE) result",
              "dataset": "dataset"}
