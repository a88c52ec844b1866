"""The query API's page (/api/docs): every named query with its parameters and a form that runs it in place.

A page of the site like the others (its frame, fonts, navigation and language), so the Chinese summaries render
in the bundled font; api-docs.js shows an answer under its form, and without scripts the form still opens it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, render_template, request

from kg.namespaces import PREFIXES
from kg.queries import NamedQuery
from server.api import FORMAT_TO_RESULT_MEDIA_TYPE, library
from server.ui.blueprint import bp
from server.ui.language import translate

SCRIPT_STRINGS = ("running", "query_failed", "rows", "no_rows", "open_raw", "answer_in")


@bp.get("/api/docs")
def api_docs():
    """Show every named query: what it answers (in the page language first), its parameters and a form to try it."""
    public_url = current_app.extensions["coprokg.settings"].public_url
    base = (public_url.rstrip("/") if public_url else "") + request.script_root  # relative links unless configured
    queries = list(library().queries.values())
    examples = {q.name: f"{base}/api/queries/{q.name}" + _example_query_string(q) for q in queries}
    return render_template("api/docs.html", queries=queries, base=base, examples=examples,
                           formats=list(FORMAT_TO_RESULT_MEDIA_TYPE), texts=_texts_by_language(queries),
                           strings={key: translate(key) for key in SCRIPT_STRINGS}, prefixes=PREFIXES,
                           active="ui.api_docs")


def _texts_by_language(queries: list[NamedQuery]) -> dict[str, list[tuple[str, str, str]]]:
    """Each query's summary and description as (language, summary, description): the page's language first."""
    ordered = ("zh", "en") if g.lang == "zh" else ("en", "zh")
    texts = {}
    for q in queries:
        by_language = {"en": (q.summary, q.description), "zh": (q.summary_zh, q.description_zh)}
        texts[q.name] = [(lang, *by_language[lang]) for lang in ordered if any(by_language[lang])]
    return texts


def _example_query_string(query: NamedQuery) -> str:
    """Give `?name=example&…` for the parameters that have an example."""
    pairs = [(p.name, p.example) for p in query.parameters if p.example is not None]
    return "?" + urlencode(pairs) if pairs else ""
