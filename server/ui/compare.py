"""/compare: the cases side by side, a case x dimension matrix from the case_comparison named query, filterable by
province, mode and the illustrative flag, and downloadable as CSV or XLSX in the page's language."""

from __future__ import annotations

import pyoxigraph as ox
from flask import Response, g, render_template, request

from kg import cases as cf
from kg.comparison import Column, Matrix, as_csv, as_xlsx, matrix, table
from kg.namespaces import compact_iri
from server.api import library
from server.ui.blueprint import bp
from server.ui.codebook_page import anchor
from server.ui.language import translate
from server.ui.reading import store
from server.ui.terms import label

DOWNLOADS = {"csv": ("text/csv; charset=utf-8", as_csv), "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", as_xlsx)}
ILLUSTRATIVE_CHOICES = ("yes", "no")
# The codebook section that says how each dimension is coded; the mode is derived from the levels, not coded.
DIMENSION_TO_SECTION = {"arrangement": "arrangement", "services": "service", "authority": "authority",
                        "resources": "resources", "condition": "condition", "characteristics": "characteristic",
                        "outcomes": "outcome", "performance": "indicator"}
WORD_OF_TERM = {str(iri): (section, word) for section, table in (("condition", cf.CONDITION_TO_IRI),
                ("indicator", cf.INDICATOR_TO_IRI)) for word, iri in table.items()}


@bp.get("/compare")
def compare():
    """Show every case's coding side by side; ?province= ?mode= ?illustrative=yes|no keep some cases,
    ?format=csv|xlsx downloads the matrix shown."""
    result = matrix(library().queries["case_comparison"].run(store(), {"lang": g.lang}))
    chosen = {name: request.args.get(name, "").strip() for name in ("province", "mode", "illustrative")}
    shown = Matrix(result.columns, [row for row in result.rows if _matches(row, chosen)])
    download = request.args.get("format")
    if download in DOWNLOADS:
        media_type, write = DOWNLOADS[download]
        lead = tuple(translate(f"compare_{name}") for name in ("case", "name", "province", "illustrative"))
        body = write(table(shown, header, cell, lead))
        return Response(body, mimetype=media_type, headers={
            "Content-Disposition": f'attachment; filename="case-comparison-{g.lang}.{download}"'})
    provinces = sorted({row.province for row in result.rows if row.province})
    modes = {compact_iri(v.value): label(v) for row in result.rows for v in row.cells.get(Column("mode"), [])}
    groups = [(dimension, [c for c in shown.columns if c.dimension == dimension])
              for dimension in dict.fromkeys(c.dimension for c in shown.columns)]
    return render_template("compare.html", matrix=shown, total=len(result.rows), groups=groups, chosen=chosen,
                           provinces=provinces, modes=sorted(modes.items(), key=lambda m: m[1]),
                           illustrative_choices=ILLUSTRATIVE_CHOICES, header=header, cell=cell, rule=rule,
                           filtered=any(chosen.values()), active="ui.compare")


def _matches(row, chosen: dict[str, str]) -> bool:
    if chosen["province"] and row.province != chosen["province"]:
        return False
    if chosen["mode"] and chosen["mode"] not in {compact_iri(v.value) for v in row.cells.get(Column("mode"), [])}:
        return False
    if chosen["illustrative"] in ILLUSTRATIVE_CHOICES and row.illustrative != (chosen["illustrative"] == "yes"):
        return False
    return True


def rule(dimension: str, key: str | None = None) -> str | None:
    """The /codebook fragment with the rule for a dimension, or for one condition or indicator of it."""
    if key in WORD_OF_TERM:
        return anchor(*WORD_OF_TERM[key])
    return anchor(DIMENSION_TO_SECTION[dimension]) if dimension in DIMENSION_TO_SECTION and key is None else None


def header(column: Column) -> str:
    """A column's name in the page language: its dimension, and the condition, mechanism or indicator."""
    dimension = translate(f"compare_{column.dimension}")
    return dimension if column.key is None else f"{dimension}: {label(ox.NamedNode(column.key))}"


def cell(value) -> str:
    """A value in the page language: a term by its label, a condition's status in words, a number as it is."""
    if isinstance(value, ox.NamedNode):
        return label(value)
    if value.value in ("met", "fails", "not assessed"):
        return translate("status_" + value.value.replace(" ", "_"))
    return value.value
