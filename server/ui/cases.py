"""The case list and one case's page: actors by sector, mode and conditions, observations, evidence."""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox
from flask import make_response, render_template

from kg.namespaces import COP, DCTERMS, RDF, case_iri
from server.ui.blueprint import bp
from server.ui.language import in_page_language, texts
from server.ui.mechanisms import stage_rank
from server.ui.modes import condition_status, mode_unmet
from server.ui.reading import collect, is_true, same_term, select, statements_about
from server.ui.terms import label

# The source's order of the four sectors; the ontology does not rank them.
SECTOR_ORDER = (COP.StateSector, COP.MarketSector, COP.SocietySector, COP.FamilySector)


@bp.get("/cases")
def cases():
    """List the cases with their mode and city."""
    found: dict[str, dict] = {}
    for row in select("case_list"):
        case = found.setdefault(row["case"].value, {"term": row["case"], "cities": [], "modes": [], "illustrative": False})
        for key, column in (("city", "cities"), ("mode", "modes")):
            if key in row and not any(same_term(row[key], seen) for seen in case[column]):
                case[column].append(row[key])
        case["illustrative"] |= is_true(row.get("illustrative"))
    for case in found.values():
        case["cities"] = [v["term"] for v in in_page_language([{"term": c} for c in case["cities"]])]
    listed = sorted(found.values(), key=lambda c: label(c["term"]).lower())
    return render_template("cases.html", cases=listed, active="ui.cases")


@bp.get("/cases/<case_id>")
def case(case_id: str):
    """Show one case: actors by sector, mode and levels, observations with their evidence.

    Raises:
        NotFound: no case has this id.
    """
    subject = ox.NamedNode(str(case_iri(case_id)))
    outgoing = statements_about(subject)
    if not any(r["p"].value == str(RDF.type) and r["o"].value == str(COP.CoproductionCase) for r in outgoing):
        return make_response(render_template("not_found.html", iri=subject.value, active="ui.cases"), 404)
    facts: dict[str, list] = defaultdict(list)
    for row in outgoing:
        if not any(same_term(row["o"], seen) for seen in facts[row["p"].value]):
            facts[row["p"].value].append(row["o"])
    actors = collect(select("case_actors", case=subject), "actor", ("sector", "role"))
    by_sector = [(ox.NamedNode(str(sector)), [a for a in actors if any(s.value == str(sector) for s in a["sector"])])
                 for sector in SECTOR_ORDER]
    unsectored = [a for a in actors if not any(s.value in map(str, SECTOR_ORDER) for s in a["sector"])]
    observations = collect(select("case_observations", case=subject), "observation",
                            ("stage", "mechanism", "strategy", "outcome", "actor", "description", "evidence"))
    observations.sort(key=lambda o: (stage_rank(o["stage"][0] if o["stage"] else None), _observation_number(o)))
    evidence = {e["evidence"].value: e for e in collect(
        select("case_evidence", case=subject), "evidence", ("kind", "identifier", "date", "quotation", "description"))}
    assessments = collect(select("case_assessments", case=subject), "assessment",
                           ("condition", "dimension", "level", "holds", "justification", "evidence"))
    performance = collect(select("case_performance", case=subject), "fact", ("indicator", "value", "description", "evidence"))
    provenance = select("case_provenance", case=subject)
    modes_view = [m for m in facts.get(str(COP.hasMode), [])]
    status = condition_status().get(subject.value, {})
    mode_conditions = []
    mode_verdicts = []  # per mode: are its conditions alternatives, and does the case fail it as a whole
    for mode in modes_view:
        rows = [row for row in select("mode_conditions", mode=mode) if "condition" in row]
        held = [status.get(row["condition"].value) for row in rows]
        mode_conditions += [{"condition": row["condition"], "holds": h} for row, h in zip(rows, held)]
        alternatives = any(is_true(row.get("alternatives")) for row in rows)
        mode_verdicts.append({"alternatives": alternatives, "unmet": mode_unmet(held, alternatives)})
    return render_template(
        "case.html", subject=subject, case_id=case_id, facts=facts, by_sector=by_sector, unsectored=unsectored,
        observations=observations, evidence=evidence, assessments=assessments, performance=performance,
        provenance=provenance, modes=modes_view, mode_conditions=mode_conditions, mode_verdicts=mode_verdicts,
        texts=texts,
        fact=lambda predicate: facts.get(str(predicate), []), COP=COP, DCTERMS=DCTERMS, active="ui.cases")


def _observation_number(observation: dict) -> tuple[int, str]:
    tail = observation["observation"].value.rsplit("/", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (10**9, tail)
