"""Enabling vs empowering government, aspect by aspect, from the ontology's position nodes and claims."""

from __future__ import annotations

from flask import render_template

from kg.namespaces import COP
from server.ui.blueprint import bp
from server.ui.language import texts
from server.ui.reading import collect, select
from server.ui.terms import label


# The source's order of the comparison; the ontology does not rank its aspects.
IDEA_ORDER = (COP.EnablingGovernment, COP.EmpoweringGovernment)
ASPECT_ORDER = (COP.PremiseAspect, COP.NatureOfPowerAspect, COP.MeansAspect, COP.ExpectedEffectAspect, COP.RiskAspect)


def _rank(term, order: tuple) -> tuple[int, str]:
    return next((i for i, iri in enumerate(order) if str(iri) == term.value), len(order)), label(term).lower()


@bp.get("/government")
def government():
    """Compare enabling and empowering government aspect by aspect, from the ontology's position nodes."""
    positions = collect(select("government_positions"), "position", ("idea", "aspect", "text", "gap"))
    ideas = sorted({p["idea"][0].value: p["idea"][0] for p in positions}.values(), key=lambda i: _rank(i, IDEA_ORDER))
    aspects = sorted({p["aspect"][0].value: p["aspect"][0] for p in positions}.values(),
                     key=lambda a: _rank(a, ASPECT_ORDER))
    cell = {(p["idea"][0].value, p["aspect"][0].value): p for p in positions}
    rows = [{"aspect": aspect, "cells": [cell.get((idea.value, aspect.value)) for idea in ideas]} for aspect in aspects]
    claims = collect(select("government_claims"), "claim", ("statement",))
    return render_template("government.html", columns=ideas, rows=rows, claims=claims, texts=texts,
                           active="ui.government")
