"""Audit fields: who coded a case or an assessment, when and how surely, and where its evidence lies."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook
from rdflib import Graph, Literal
from rdflib.compare import isomorphic
import rdflib.namespace as ns

from kg import cases as cf
from kg.namespaces import COP, case_graph, coder_iri
from kg.validate import shacl_problems, validate_paths

DCTERMS, PROV, RDF = ns.DCTERMS, ns.PROV, ns.RDF
XSD_DATE = ns.XSD.date  # XSD itself at module level is probed by pytest, and warns

AUDITED = """\
id: audited
illustrative: true
name: Audited test case
city: Ningbo
province: Zhejiang
period: 2017-2019
services: [home-care, meals]
arrangement: public-construction-private-operation
authority: high
authority_coder: wang-f
authority_coded_on: 2019-05-02
authority_confidence: high
resources: low
coder: li-w
coded_on: 2019-04-30
confidence: medium
actors:
  - id: office
    name: Street office
    sector: state
    roles: [commissioner]
conditions:
  - condition: service-immature
    holds: true
    confidence: low
    evidence: [I-1]
evidence:
  - id: I-1
    kind: interview
    supports: An interview.
    locator: 00:14:05
    respondent_role: {en: centre manager, zh: 中心负责人}
  - id: D-1
    kind: secondary-data
    supports: A district report.
    locator: D-1 p.4 l.12-20
"""


def check(tmp_path, text: str, name: str = "case.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return validate_paths([path])


def problems(tmp_path, text: str) -> list[str]:
    return [str(p) for p in check(tmp_path, text).problems]


def test_audit_fields_become_prov_attribution_dates_and_confidence(tmp_path):
    report = check(tmp_path, AUDITED)
    assert report.problems == []
    (case,) = report.cases
    g = cf.content_graph(case)
    li, wang = coder_iri("li-w"), coder_iri("wang-f")
    record = case_graph("audited")
    authority, resources, condition = (cf.ID[f"case/audited/{p}"] for p in
                                       ("level/authority", "level/resources", "condition/service-immature"))
    # The whole coding: the case graph, the coded record, names its coder, day and confidence.
    assert set(g.objects(record, PROV.wasAttributedTo)) == {li}
    assert set(g.objects(record, DCTERMS.date)) == {Literal("2019-04-30", datatype=XSD_DATE)}
    assert set(g.objects(record, COP.codingConfidence)) == {COP.MediumConfidence}
    # An assessment with its own coder keeps its own; one without falls back on the case's coder and day.
    assert set(g.objects(authority, PROV.wasAttributedTo)) == {wang}
    assert set(g.objects(authority, DCTERMS.date)) == {Literal("2019-05-02", datatype=XSD_DATE)}
    assert set(g.objects(authority, COP.codingConfidence)) == {COP.HighConfidence}
    assert set(g.objects(resources, PROV.wasAttributedTo)) == {li}
    assert set(g.objects(resources, DCTERMS.date)) == {Literal("2019-04-30", datatype=XSD_DATE)}
    assert set(g.objects(resources, COP.codingConfidence)) == set()  # a confidence is never inherited
    assert set(g.objects(condition, PROV.wasAttributedTo)) == {li}
    assert set(g.objects(condition, COP.codingConfidence)) == {COP.LowConfidence}
    for coder, identifier in ((li, "li-w"), (wang, "wang-f")):
        assert set(g.objects(coder, RDF.type)) == {PROV.Agent}
        assert set(g.objects(coder, DCTERMS.identifier)) == {Literal(identifier)}
    # A locator is kept as written: unquoted YAML reads 00:14:05 as the number 845.
    interview, report_ = cf.ID["case/audited/evidence/I-1"], cf.ID["case/audited/evidence/D-1"]
    assert set(g.objects(interview, COP.locator)) == {Literal("00:14:05")}
    assert set(g.objects(report_, COP.locator)) == {Literal("D-1 p.4 l.12-20")}
    assert set(g.objects(interview, COP.respondentRole)) == {Literal("centre manager", lang="en"),
                                                            Literal("中心负责人", lang="zh")}
    assert shacl_problems(g) == []


def test_a_case_without_audit_fields_states_no_attribution(tmp_path):
    bare = "\n".join(line for line in AUDITED.splitlines()
                     if not line.strip().startswith(("coder", "coded_on", "confidence", "authority_co", "locator",
                                                     "respondent_role")))
    (case,) = check(tmp_path, bare + "\n").cases
    g = cf.content_graph(case)
    assert not set(g.triples((None, PROV.wasAttributedTo, None)))
    assert not set(g.triples((None, COP.codingConfidence, None)))
    assert not set(g.triples((None, COP.locator, None)))


@pytest.mark.parametrize("old, new, expected", [
    ("confidence: medium", "confidence: sure", "case.yaml:16 confidence: 'sure' is not one of low, medium, high"),
    ("coder: li-w", "coder: Li Wei", "case.yaml:14 coder: 'Li Wei' is not a valid id; use letters, digits, '.', '_' "
                                     "and '-', starting with a letter or digit"),
    ("coded_on: 2019-04-30", "coded_on: 2019-13-30", "case.yaml:15 coded_on: '2019-13-30' is not a date; write YYYY-MM-DD"),
    ("coded_on: 2019-04-30", "coded_on: 2999-01-01",
     "case.yaml:15 coded_on: 2999-01-01 is after today; a coding is dated the day it was coded"),
    ("authority_confidence: high", "authority_confidence: certain",
     "case.yaml:12 authority_confidence: 'certain' is not one of low, medium, high"),
    ("    confidence: low", "    confidence: 3",
     "case.yaml:25 conditions[0].confidence: 3 is not one of low, medium, high"),
    ("    locator: 00:14:05", "    locator: [p.4, p.5]", "case.yaml:31 evidence[0].locator: expected text, not a list"),
    ("respondent_role: {en: centre manager, zh: 中心负责人}", "respondent_role: {english: centre manager}",
     "case.yaml:32 evidence[0].respondent_role.english: 'english' is not a language tag such as en, zh"),
])
def test_bad_audit_values_name_place_field_and_what_is_allowed(tmp_path, old, new, expected):
    assert old in AUDITED
    assert problems(tmp_path, AUDITED.replace(old, new)) == [expected]


def test_a_date_or_confidence_needs_a_coder_behind_it(tmp_path):
    text = AUDITED.replace("coder: li-w\n", "").replace("authority_coder: wang-f\n", "")
    assert problems(tmp_path, text) == [
        "case.yaml:13 coded_on: a coding date needs a coder; give coder",
        "case.yaml:14 confidence: a confidence needs a coder; give coder",
        "case.yaml:10 authority_coded_on: a coding date needs a coder; give authority_coder, or coder for the whole case",
        "case.yaml:11 authority_confidence: a confidence needs a coder; give authority_coder, or coder for the whole "
        "case",
        "case.yaml:23 conditions[0].confidence: a confidence needs a coder; give coder here, or for the whole case",
    ]
    # The assessment's own coder is enough for its own fields.
    assert problems(tmp_path, AUDITED.replace("coder: li-w\ncoded_on: 2019-04-30\nconfidence: medium\n", "")
                    .replace("    confidence: low\n", "    confidence: low\n    coder: zhao-m\n")) == []


def test_workbook_audit_columns_give_the_graph_the_yaml_gives(tmp_path):
    book = Workbook()
    ws = book.active
    ws.title = "cases"
    ws.append(["id", "illustrative", "name", "city", "province", "period", "services", "arrangement", "authority",
               "authority_coder", "authority_coded_on", "authority_confidence", "resources", "coder", "coded_on",
               "confidence"])
    ws.append(["audited", True, "Audited test case", "Ningbo", "Zhejiang", "2017-2019", "home-care, meals",
               "public-construction-private-operation", "high", "wang-f",
               dt.datetime(2019, 5, 2), "high", "low", "li-w", dt.date(2019, 4, 30), "medium"])
    book.create_sheet("actors").append(["case", "id", "name", "sector"])
    book["actors"].append(["audited", "office", "Street office", "state"])
    book.create_sheet("participations").append(["case", "actor", "role"])
    book["participations"].append(["audited", "office", "commissioner"])
    book.create_sheet("conditions").append(["case", "condition", "holds", "evidence", "confidence"])
    book["conditions"].append(["audited", "service-immature", True, "I-1", "low"])
    evidence = book.create_sheet("evidence")
    evidence.append(["case", "id", "kind", "supports", "locator", "respondent_role@en", "respondent_role@zh"])
    # Excel turns a typed 00:14:05 into a time and 4 into a number; the locator keeps what was meant.
    evidence.append(["audited", "I-1", "interview", "An interview.", dt.time(0, 14, 5), "centre manager", "中心负责人"])
    evidence.append(["audited", "D-1", "secondary-data", "A district report.", "D-1 p.4 l.12-20"])
    book.save(tmp_path / "audited.xlsx")
    from_xlsx = validate_paths([tmp_path / "audited.xlsx"])
    from_yaml = check(tmp_path, AUDITED)
    assert from_xlsx.problems == [] and from_yaml.problems == []
    assert isomorphic(cf.content_graph(from_xlsx.cases[0]), cf.content_graph(from_yaml.cases[0]))

    book["conditions"]["E2"] = "sure"
    book["evidence"]["E3"] = 4.0
    book.save(tmp_path / "audited.xlsx")
    report = validate_paths([tmp_path / "audited.xlsx"])
    assert [str(p) for p in report.problems] == [
        "audited.xlsx sheet conditions row 2 confidence: 'sure' is not one of low, medium, high"]
    book["conditions"]["E2"] = "low"
    book.save(tmp_path / "audited.xlsx")
    (case,) = validate_paths([tmp_path / "audited.xlsx"]).cases
    assert [e.locator for e in case.evidence] == ["00:14:05", "4"]


def test_coding_shapes_catch_what_bypasses_the_importer():
    data = Graph().parse(format="turtle", data="""
        @prefix cop: <https://w3id.org/coprokg/ontology#> .
        @prefix prov: <http://www.w3.org/ns/prov#> .
        @prefix dcterms: <http://purl.org/dc/terms/> .
        @base <https://w3id.org/coprokg/id/> .
        <case/raw/level/authority> prov:wasAttributedTo <coder/a> , <coder/b> ; dcterms:date "yesterday" .
        <case/raw/level/resources> prov:wasAttributedTo "Li Wei" ; cop:codingConfidence cop:HighAuthority .
        <case/raw/condition/x> cop:codingConfidence cop:LowConfidence .
        <coder/a> a prov:Agent ; dcterms:identifier "a" .
        <coder/b> a prov:Agent .
        <case/raw/evidence/e> a cop:Evidence ; cop:evidenceKind cop:FocusGroup ; dcterms:identifier "e" ;
            cop:description "A focus group."@en ; cop:locator "p.1" , "p.2" ; cop:respondentRole "volunteer" .
    """)
    messages = {p.message for p in shacl_problems(data)}
    assert messages == {
        "a coding is attributed to exactly one coder, a prov:Agent",
        "a coding has at most one date, an xsd:date",
        "a coding has at most one confidence: low, medium or high",
        "a coder needs exactly one identifier",
        "evidence has at most one locator, a plain text such as I-03 p.4 l.12-20",
        "a respondent's role is text in a language: it needs a language tag (@en, @zh, ...)",
    }
    attributed = {p.field.split()[0] for p in shacl_problems(data) if p.message.startswith("a coding is attributed")}
    # two coders on one assessment, a literal for a coder, and a confidence with no coder at all
    assert attributed == {f"<{cf.ID}case/raw/{part}>" for part in ("level/authority", "level/resources", "condition/x")}
