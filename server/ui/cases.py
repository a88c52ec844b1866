"""The case list, searched and filtered by province, mode, arrangement and service, and one case's page:
actors by sector, mode and conditions, observations, evidence."""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox
from flask import make_response, render_template, request

from kg.namespaces import COP, DCTERMS, RDF, case_iri, compact_iri
from server.ui.blueprint import bp
from server.ui.language import texts
from server.ui.mechanisms import stage_rank
from server.ui.modes import condition_status, failing_conditions, mode_conditions as mode_conditions_of
from server.ui.reading import collect, is_true, same_term, select, statements_about
from server.ui.terms import label, labels

# The source's order of the four sectors; the ontology does not rank them.
SECTOR_ORDER = (COP.StateSector, COP.MarketSector, COP.SocietySector, COP.FamilySector)


# Facets of /cases: the request's name for each, the case_list column it reads, and whether it names a term.
FACETS = (("province", "province", "provinces", False), ("mode", "mode", "modes", True),
          ("arrangement", "arrangement", "arrangements", True), ("service", "service", "services", True))


@bp.get("/cases")
def cases():
    """List the cases with their mode and city; ?q= searches names and places, ?province= ?mode= ?arrangement=
    ?service= keep the cases with that value (a term given by its prefixed name)."""
    found: dict[str, dict] = {}
    for row in select("case_list"):
        case = found.setdefault(row["case"].value, {"term": row["case"], "cities": [], "illustrative": False,
                                                    **{column: [] for _, _, column, _ in FACETS}})
        for key, column in (("city", "cities"), *((key, column) for _, key, column, _ in FACETS)):
            if key in row and not any(same_term(row[key], seen) for seen in case[column]):
                case[column].append(row[key])
        case["illustrative"] |= is_true(row.get("illustrative"))
    for case in found.values():
        case["cities"] = texts(case["cities"])
        case["provinces"] = texts(case["provinces"])
    listed = sorted(found.values(), key=lambda c: label(c["term"]).lower())
    chosen = {name: request.args.get(name, "").strip() for name, _, _, _ in FACETS}
    search = request.args.get("q", "").strip()
    shown = [c for c in listed if _matches(c, chosen, search)]
    # Each facet counts among the cases the other filters keep, so a count says what choosing it would show.
    facets = [{"name": name, "chosen": chosen[name],
               "options": _options([c for c in listed if _matches(c, {**chosen, name: ""}, search)], column, is_term)}
              for name, _, column, is_term in FACETS]
    return render_template("cases.html", cases=shown, total=len(listed), facets=facets, search=search,
                           filtered=bool(search or any(chosen.values())), facet_key=_facet_key, active="ui.cases")


def _facet_key(term) -> str:
    """How a value is named in the query string: a term by its prefixed name, text as it reads."""
    return compact_iri(term.value) if isinstance(term, ox.NamedNode) else term.value


def _options(cases: list[dict], column: str, is_term: bool) -> list[tuple[str, str, int]]:
    """A facet's choices as (key, label, how many cases have it), by label."""
    counted: dict[str, list] = {}
    for case in cases:
        for value in case[column]:
            counted.setdefault(_facet_key(value), [value, 0])[1] += 1
    options = [(key, label(value) if is_term else value.value, n) for key, (value, n) in counted.items()]
    return sorted(options, key=lambda option: option[1].lower())


def _matches(case: dict, chosen: dict[str, str], search: str) -> bool:
    """Whether a case has every chosen value and, if a search is given, contains it in a name or place."""
    for name, _, column, _ in FACETS:
        if chosen[name] and chosen[name] not in {_facet_key(value) for value in case[column]}:
            return False
    if not search:
        return True
    # Its labels in every language, its id, cities and provinces, so a search in either language finds it.
    haystack = [*labels().get(case["term"].value, {}).values(), case["term"].value.rsplit("/", 1)[-1],
                *(c.value for c in case["cities"]), *(p.value for p in case["provinces"])]
    return any(search.casefold() in text.casefold() for text in haystack)


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
    mode_verdicts = []  # per mode: has it alternative conditions, and does the case fail it as a whole
    for mode in modes_view:
        listed, alternatives = mode_conditions_of(mode=mode)
        conditions = listed.get(mode.value, [])
        held = {c.value: status.get(c.value) for c in conditions}
        mode_conditions += [{"condition": c, "holds": held[c.value]} for c in conditions]
        mode_verdicts.append({"alternatives": any(alternatives[mode.value].values()),
                              "unmet": bool(failing_conditions(held, alternatives[mode.value]))})
    return render_template(
        "case.html", subject=subject, case_id=case_id, facts=facts, by_sector=by_sector, unsectored=unsectored,
        observations=observations, evidence=evidence, assessments=assessments, performance=performance,
        provenance=provenance, modes=modes_view, mode_conditions=mode_conditions, mode_verdicts=mode_verdicts,
        texts=texts,
        fact=lambda predicate: facts.get(str(predicate), []), COP=COP, DCTERMS=DCTERMS, active="ui.cases")


def _observation_number(observation: dict) -> tuple[int, str]:
    tail = observation["observation"].value.rsplit("/", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (10**9, tail)
