"""The "ui" blueprint itself: the page language chosen per request, the navigation, and what templates may call."""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
from flask import Blueprint, Response, g, request

from kg.namespaces import compact_iri
from server.ui.language import LANGUAGES, current_language, translate
from server.ui.reading import iri_of, is_true
from server.ui.terms import case_path, label, link, local_path

bp = Blueprint("ui", __name__)

NAVIGATION = (
    ("ui.query_page", "nav_query"),
    ("ui.ontology", "nav_ontology"),
    ("ui.mechanisms", "nav_mechanisms"),
    ("ui.modes", "nav_modes"),
    ("ui.cases", "nav_cases"),
    ("ui.compare", "nav_compare"),
    ("ui.government", "nav_government"),
    ("ui.docs", "nav_docs"),
    ("ui.api_docs", "nav_api"),
)


@bp.before_request
def _choose_language() -> None:
    g.lang = current_language()


@bp.after_request
def _remember_language(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@bp.context_processor
def _template_helpers() -> dict:
    def switch_language(language: str) -> str:
        args = request.args.to_dict()
        args["lang"] = language
        return request.path + "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in args.items())

    return {"t": translate, "lang": g.get("lang", "en"), "label": label, "link": link, "compact": compact_iri,
            "local_path": local_path, "case_path": case_path, "navigation": NAVIGATION,
            "switch_language": switch_language, "iri_of": iri_of, "is_true": is_true, "iri_node": ox.NamedNode}
