"""The query page: the SPARQL editor with the named queries as one-click examples."""

from __future__ import annotations

from flask import g, render_template, request

from kg.namespaces import COP, ID, PREFIXES
from server.http_policy import style_nonce
from server.ui.blueprint import bp
from server.ui.language import translate


QUERY_SCRIPT_STRINGS = ("example_values", "no_examples", "running", "query_failed", "line", "column", "rows",
                        "no_rows", "sort_hint", "page", "declared_for_you", "parser_said", "cancelled_after",
                        "copy_link", "link_copied", "no_history", "pivot_count", "pivot_sum",
                        "tab", "new_tab", "close_tab", "rename_tab", "rename_tab_hint", "not_kept")


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
        "termsUrl": "/terms.json",  # the editor's completion: prefixes and the ontology's terms, labelled
        "starter": starter,
        "runOnLoad": bool(request.args.get("query")),  # a permalink opens with its result
        "lang": g.lang,
        "prefixes": PREFIXES,
        "localPaths": [[str(COP), "/ontology/"], [str(ID), "/id/"]],
        "strings": {key: translate(key) for key in QUERY_SCRIPT_STRINGS},
        "cspNonce": style_nonce(),  # the editor's <style> element needs it (server/http_policy.py)
    }
    return render_template("query.html", config=config, prefixes=PREFIXES, active="ui.query_page")
