"""Case files -> RDF: the mapping of docs/design.md, provenance, and YAML/xlsx equivalence."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from openpyxl import Workbook
from rdflib import Literal, URIRef
from rdflib.compare import isomorphic
import rdflib.namespace as ns

from kg.cases import SHEET_COLUMNS, case_rdf, content_graph, read_case_file
from kg.config import ROOT
from kg.namespaces import COP, ID, case_graph, case_iri

from kg.validate import check_case

DCTERMS, PROV, RDF, RDFS = ns.DCTERMS, ns.PROV, ns.RDF, ns.RDFS

CASES = ROOT / "cases"
SHIPPED = sorted(CASES.glob("*.yaml"))
MEAL_CENTRE = CASES / "hangzhou-community-meal-centre.yaml"
NESTED = ("actors", "observations", "evidence", "conditions", "performance")


def checked_cases(path):
    """Read and check a case file; fail the test on any error."""
    documents, problems = read_case_file(path)
    cases = [check_case(d, "x", problems) for d in documents]
    assert [str(p) for p in problems if p.is_error] == []
    return cases


def _cell_columns(record: dict) -> dict:
    """Spread one YAML record over spreadsheet columns: texts per language, lists comma-separated."""
    row = {}
    for key, value in record.items():
        if isinstance(value, dict):
            row.update({f"{key}@{lang}": text for lang, text in value.items()})
        elif isinstance(value, list):
            row[key] = ", ".join(map(str, value))
        else:
            row[key] = value
    return row


def workbook_from_yaml(paths, target):
    """Write the YAML cases as one workbook, one sheet per table, the way a researcher would."""
    rows = {sheet: [] for sheet in SHEET_COLUMNS}
    for path in paths:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        rows["cases"].append(_cell_columns({k: v for k, v in doc.items() if k not in NESTED}))
        for actor in doc["actors"]:
            rows["actors"].append({"case": doc["id"], **_cell_columns({k: v for k, v in actor.items() if k != "roles"})})
            rows["participations"] += [{"case": doc["id"], "actor": actor["id"], "role": r} for r in actor["roles"]]
        for sheet in ("observations", "evidence", "conditions", "performance"):
            rows[sheet] += [{"case": doc["id"], **_cell_columns(item)} for item in doc.get(sheet, [])]
    book = Workbook()
    book.remove(book.active)
    for sheet, records in rows.items():
        header = list(dict.fromkeys(key for record in records for key in record))
        ws = book.create_sheet(sheet)
        ws.append(header)
        for record in records:
            ws.append([record.get(column) for column in header])
    book.save(target)
    return target


def test_meal_centre_maps_to_the_design_iris():
    (case,) = checked_cases(MEAL_CENTRE)
    g = content_graph(case)
    c = case_iri("hangzhou-community-meal-centre")
    part = lambda tail: ID[f"case/hangzhou-community-meal-centre/{tail}"]  # noqa: E731
    expected = {
        (c, RDF.type, COP.CoproductionCase),
        (c, COP.isIllustrative, Literal(True)),
        (c, RDFS.label, Literal("亏损运营的社区老年食堂（示例）", lang="zh")),
        (c, COP.province, Literal("Zhejiang", lang="en")),
        (c, DCTERMS.temporal, Literal("2016-2018")),
        (c, COP.providesService, COP.MealService),
        (c, COP.hasDeliveryArrangement, COP.PublicConstructionPrivateOperation),
        (c, COP.hasAuthorityLevel, COP.LowAuthority),
        (c, COP.hasResourceConcentration, COP.LowConcentration),
        (c, COP.failsCondition, COP.MeasurableMarketStandard),
        (c, COP.failsCondition, COP.ComparableMarketObject),
        (c, COP.involvesActor, part("actor/catering-firm")),
        (part("level/authority"), COP.assessesDimension, COP.GovernanceAuthority),
        (part("level/authority"), COP.supportedBy, part("evidence/HZ-I-02")),
        (part("participation/catering-firm"), COP.hasRole, COP.ServiceOperator),
        (part("participation/catering-firm"), COP.participant, part("actor/catering-firm")),
        (part("actor/catering-firm"), COP.inSector, COP.MarketSector),
        (part("observation/2"), COP.atStage, COP.OperationStage),
        (part("observation/1"), COP.showsOutcome, COP.CollectiveParticipationRealised),
        (part("condition/partners-strong-professionals"), COP.conditionHolds, Literal(False)),
        (part("performance/1"), COP.indicator, COP.OperatingAtLoss),
        (part("performance/1"), COP.value, Literal(True)),
        (part("evidence/HZ-I-01"), COP.evidenceKind, COP.SemiStructuredInterview),
        (part("evidence/HZ-I-01"), DCTERMS.date, Literal("2018-03-20", datatype=ns.XSD.date)),
        (part("evidence/HZ-I-01"), COP.quotation, Literal("一份饭成本十五块，只能收八块，越做越亏。", lang="zh")),
    }
    assert expected - set(g) == set()
    # The operation-stage observation records no strategy and no outcome: nothing is invented.
    assert list(g.objects(part("observation/2"), COP.usingStrategy)) == []
    assert list(g.objects(part("observation/2"), COP.showsOutcome)) == []
    assert len(set(g.subjects(RDF.type, COP.CaseObservation))) == 3
    assert not any(isinstance(term, URIRef) and not str(term).startswith(("https://w3id.org/coprokg/", str(RDF), str(RDFS), str(DCTERMS)))
                   for triple in g for term in triple)


def test_provenance_names_the_project_relative_file_and_import_time():
    (case,) = checked_cases(MEAL_CENTRE)
    case = type(case)(**{**case.__dict__, "source": "cases/hangzhou-community-meal-centre.yaml"})
    when = dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.timezone.utc)
    g = case_rdf(case, when)
    graph_name = case_graph(case.id)
    assert set(g.objects(graph_name, PROV.wasDerivedFrom)) == {URIRef("file:cases/hangzhou-community-meal-centre.yaml")}
    assert set(g.objects(graph_name, PROV.generatedAtTime)) == {Literal("2024-05-01T08:30:00+00:00", datatype=ns.XSD.dateTime)}
    assert len(g) == len(content_graph(case)) + 2


def test_source_is_project_relative(tmp_path):
    documents, _ = read_case_file(MEAL_CENTRE)
    assert str(documents[0].where) == "cases/hangzhou-community-meal-centre.yaml:6"
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(MEAL_CENTRE.read_text(encoding="utf-8"), encoding="utf-8")
    documents, _ = read_case_file(outside)
    assert documents[0].where.file == "elsewhere.yaml"  # never an absolute path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_case_is_marked_illustrative(path):
    (case,) = checked_cases(path)
    assert case.illustrative is True
    assert "illustrative" in case.name["en"].lower()
    assert path.read_text(encoding="utf-8").startswith("# ILLUSTRATIVE CASE")


def test_xlsx_and_yaml_of_the_same_cases_give_isomorphic_graphs(tmp_path):
    book = workbook_from_yaml(SHIPPED, tmp_path / "cases.xlsx")
    from_yaml = {c.id: c for path in SHIPPED for c in checked_cases(path)}
    from_xlsx = {c.id: c for c in checked_cases(book)}
    assert sorted(from_xlsx) == sorted(from_yaml)
    for case_id, case in from_yaml.items():
        assert isomorphic(content_graph(from_xlsx[case_id]), content_graph(case)), case_id


def test_xlsx_places_are_sheet_and_row(tmp_path):
    book = workbook_from_yaml([MEAL_CENTRE], tmp_path / "meal.xlsx")
    documents, problems = read_case_file(book)
    assert problems == []
    actors = documents[0].value["actors"].value
    assert [str(a.where) for a in actors] == [f"meal.xlsx sheet actors row {n}" for n in (2, 3, 4, 5)]


def test_every_ontology_term_the_importer_and_shapes_use_is_declared():
    from rdflib import Graph

    from kg import cases as cf

    ontology = Graph().parse(ROOT / "ontology" / "coprokg.ttl", format="turtle")
    declared = {s for s in ontology.subjects() if str(s).startswith(str(COP))}
    tables = [v for k, v in vars(cf).items() if k.endswith("_TO_IRI")]
    used = {iri for table in tables for iri in table.values()}
    for path in SHIPPED:
        for case in checked_cases(path):
            used |= {t for triple in content_graph(case) for t in triple if str(t).startswith(str(COP))}
    shapes = Graph().parse(ROOT / "ontology" / "shapes.ttl", format="turtle")
    used |= {t for triple in shapes for t in triple if str(t).startswith(str(COP))}
    assert len(tables) == 15
    assert sorted(used - declared) == []
