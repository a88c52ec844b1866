"""/codebook: the coding rules a coder applies (ontology/codebook.yaml), in the page's language, one anchor per word
(#condition-service-immature) so that other pages can point at the rule behind a column or a value."""

from __future__ import annotations

from functools import lru_cache

import pyoxigraph as ox
from flask import g, render_template

from kg.codebook import NOT_IN_SOURCE, fields_of, load_codebook, vocabularies
from server.ui.blueprint import bp


@lru_cache(maxsize=1)
def _sections():
    """The codebook, read once: it changes with a release, not while the server runs."""
    return load_codebook()


def anchor(section: str, word: str | None = None) -> str:
    """The fragment that names a vocabulary, or one word of it, on /codebook."""
    return section if word is None else f"{section}-{word}"


@bp.get("/codebook")
def codebook():
    """Show each vocabulary's rule and, per word, its term, decision rule, example and counter-example."""
    vocabs = vocabularies()
    sections = [{"key": s.key, "fields": fields_of(s.key), "rule": s.texts["rule"].get(g.lang) or s.texts["rule"]["en"],
                 "codes": [{"word": word, "term": ox.NamedNode(str(vocabs[s.key][word])), "anchor": anchor(s.key, word),
                            **{name: entry[name].get(g.lang) or entry[name]["en"] for name in ("rule", "example", "counter")
                               if name in entry}}
                           for word, entry in s.codes.items()]}
                for s in _sections()]
    return render_template("codebook.html", sections=sections, not_in_source=NOT_IN_SOURCE, active="ui.codebook")
