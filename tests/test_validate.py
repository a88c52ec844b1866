"""Validation: every class of bad input gives its exact message, all at once; SHACL; never a crash."""

from __future__ import annotations

import pytest

import datetime as dt

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from rdflib import Graph, Literal

from kg import cases as cf
from kg.cli import main
from kg.config import ROOT
from kg.namespaces import COP, ID, case_iri, compact_iri
from kg.validate import check_case, shacl_problems, validate_paths

MINIMAL = """\
id: tiny
illustrative: true
name: {en: Tiny test case, zh: 测试案例}
city: Hangzhou
province: Zhejiang
period: 2018
services: [meals]
arrangement: other
authority: high
resources: low
actors:
  - id: office
    name: Street office
    sector: state
    roles: [commissioner]
observations:
  - stage: design
    strategy: aggregation
    actors: [office]
    evidence: [I-1]
evidence:
  - id: I-1
    kind: interview
    supports: An interview.
"""


def problems_for(tmp_path, text: str, name: str = "case.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return [str(p) for p in validate_paths([path]).problems]


def test_minimal_case_is_valid(tmp_path):
    (tmp_path / "case.yaml").write_text(MINIMAL, encoding="utf-8")
    report = validate_paths([tmp_path / "case.yaml"])
    assert report.problems == [] and [c.id for c in report.cases] == ["tiny"]


def test_level_outside_its_vocabulary(tmp_path):
    assert problems_for(tmp_path, MINIMAL.replace("authority: high", "authority: hgh")) == [
        "case.yaml:9 authority: 'hgh' is not one of high, low"
    ]


def test_sector_outside_its_vocabulary(tmp_path):
    assert problems_for(tmp_path, MINIMAL.replace("sector: state", "sector: government")) == [
        "case.yaml:14 actors[0].sector: 'government' is not one of state, market, society, family"
    ]


@pytest.mark.parametrize("retired,first,second", [
    ("partners-weak-and-few", "partners-weak", "few-partners-to-choose-from"),
    ("results-measurable-by-market", "measurable-market-standard", "comparable-market-object"),
    ("service-must-transform-or-upgrade", "service-must-transform", "service-must-upgrade"),
])
def test_a_merged_condition_word_names_the_two_to_code_instead(tmp_path, retired, first, second):
    """Issue 14: three condition words of earlier drafts each merged two conditions the source lists apart."""
    text = MINIMAL + f"conditions:\n  - condition: {retired}\n    holds: true\n"
    line = text.splitlines().index(f"  - condition: {retired}") + 1
    assert problems_for(tmp_path, text) == [
        f"case.yaml:{line} conditions[0].condition: {retired!r} merged two conditions the source lists apart; "
        f"code {first} and {second}, each as its own assessment"]


def test_unknown_field(tmp_path):
    assert problems_for(tmp_path, MINIMAL.replace("period: 2018", "period: 2018\ncolour: red")) == [
        "case.yaml:7 colour: unknown field; allowed: id, illustrative, name, city, province, period, description, "
        "services, arrangement, authority, authority_justification, authority_evidence, authority_coder, "
        "authority_coded_on, authority_confidence, resources, resources_justification, resources_evidence, "
        "resources_coder, resources_coded_on, resources_confidence, characteristics, coder, coded_on, confidence, "
        "actors, observations, conditions, performance, evidence"
    ]


def test_missing_required_field(tmp_path):
    assert problems_for(tmp_path, MINIMAL.replace("    sector: state\n", "")) == [
        "case.yaml:12 actors[0].sector: required field is missing; allowed: state, market, society, family"
    ]
    assert problems_for(tmp_path, MINIMAL.replace("resources: low\n", "")) == [
        "case.yaml:1 resources: required field is missing; allowed: high, low"
    ]


def test_observation_naming_unknown_actor_and_evidence(tmp_path):
    text = MINIMAL.replace("actors: [office]", "actors: [office, ofice]").replace("evidence: [I-1]", "evidence: [I-2]")
    assert problems_for(tmp_path, text) == [
        "case.yaml:19 observations[0].actors[1]: 'ofice' is not an actor id of this case; known: office",
        "case.yaml:20 observations[0].evidence[0]: 'I-2' is not an evidence id of this case; known: I-1",
    ]


def test_duplicate_case_id_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(MINIMAL, encoding="utf-8")
    report = validate_paths([tmp_path])
    assert [str(p) for p in report.problems] == ["b.yaml:1 id: case 'tiny' is already defined in a.yaml:1"]


def test_strategy_with_the_wrong_stage_is_a_warning_not_an_error(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(MINIMAL.replace("strategy: aggregation", "strategy: encapsulation"), encoding="utf-8")
    report = validate_paths([path])
    assert report.errors == [] and [c.id for c in report.cases] == ["tiny"]
    assert [str(p) for p in report.warnings] == [
        "warning: case.yaml:18 observations[0].strategy: 'encapsulation' is paired with stage 'design'; "
        "the theory pairs design with aggregation"
    ]


def test_malformed_yaml(tmp_path):
    assert problems_for(tmp_path, "id: [tiny\nname: x\n") == [
        "case.yaml:2: not valid YAML: expected ',' or ']', but got ':' (column 5)"
    ]
    assert problems_for(tmp_path, "") == ["case.yaml:1: the file is empty; a case file holds one mapping of case fields"]
    assert problems_for(tmp_path, "- a\n- b\n") == ["case.yaml:1: a case file holds one mapping of case fields, not a list"]


def test_malformed_xlsx(tmp_path):
    assert problems_for(tmp_path, "not a workbook", "cases.xlsx") == [
        "cases.xlsx: not a readable .xlsx workbook (File is not a zip file)"
    ]


def test_xlsx_errors_name_sheet_row_and_column(tmp_path):
    book = Workbook()
    cases = book.active
    cases.title = "cases"
    cases.append(["id", "illustrative", "name", "city", "province", "period", "services", "arrangement",
                  "authority", "resources", "colour"])
    cases.append(["tiny", True, "Tiny", "Hangzhou", "Zhejiang", "2018", "meals", "other", "high", "lowish", None])
    actors = book.create_sheet("actors")
    actors.append(["case", "id", "name", "sector"])
    actors.append(["tiny", "office", "Street office", "state"])
    actors.append(["tiny", "firm", "Firm", "business"])
    participations = book.create_sheet("participations")
    participations.append(["case", "actor", "role"])
    participations.append(["tiny", "office", "commissioner"])
    participations.append(["tiny", "firm", "service-operator"])
    participations.append(["tiny", "nobody", "funder"])
    evidence = book.create_sheet("evidence")
    evidence.append(["case", "id", "kind", "supports@en", "date"])
    evidence.append(["tiny", "I-1", "interview", "An interview", dt.datetime(2018, 3, 1)])
    book.save(tmp_path / "w.xlsx")
    assert [str(p) for p in validate_paths([tmp_path / "w.xlsx"]).problems] == [
        "w.xlsx sheet cases row 1 colour: unknown column; allowed: id, illustrative, name, city, province, period, "
        "services, arrangement, description, authority, authority_justification, authority_evidence, "
        "authority_coder, authority_coded_on, authority_confidence, resources, resources_justification, "
        "resources_evidence, resources_coder, resources_coded_on, resources_confidence, characteristics, coder, "
        "coded_on, confidence",
        "w.xlsx sheet participations row 4 actor: 'nobody' is not an actor of case 'tiny' in sheet actors",
        "w.xlsx sheet cases row 2 resources: 'lowish' is not one of high, low",
        "w.xlsx sheet actors row 3 sector: 'business' is not one of state, market, society, family",
    ]


def test_all_problems_are_reported_at_once(tmp_path):
    text = (MINIMAL.replace("authority: high", "authority: hgh").replace("sector: state", "sector: gov")
            .replace("kind: interview", "kind: chat").replace("illustrative: true", "illustrative: perhaps"))
    assert len(problems_for(tmp_path, text)) == 4


def test_shacl_shapes_catch_what_bypasses_the_importer():
    data = Graph().parse(format="turtle", data="""
        @prefix cop: <https://w3id.org/coprokg/ontology#> .
        <https://w3id.org/coprokg/id/case/raw> a cop:CoproductionCase ;
            cop:hasAuthorityLevel cop:HighConcentration .
        <https://w3id.org/coprokg/id/case/raw/actor/a> a cop:Actor ; cop:inSector cop:MarketSector, cop:StateSector .
    """)
    where = cf.Where("raw.ttl", 1)
    messages = [str(p) for p in shacl_problems(data, wheres={case_iri("raw"): where})]
    assert "raw.ttl:1 <https://w3id.org/coprokg/id/case/raw> cop:hasAuthorityLevel: a case needs exactly one " \
           "governance-authority level, high or low" in messages
    assert "raw.ttl:1 <https://w3id.org/coprokg/id/case/raw/actor/a> cop:inSector: an actor belongs to exactly one " \
           "sector: state, market, society or family" in messages
    assert len(messages) == 13


def test_shipped_cases_conform_to_the_shapes():
    report = validate_paths([ROOT / "cases"])
    data = Graph()
    for case in report.cases:
        data += cf.content_graph(case)
    assert report.problems == [] and len(report.cases) == 4
    assert shacl_problems(data) == []


def test_cli_validate_prints_every_error_and_exits_non_zero(tmp_path):
    (tmp_path / "a.yaml").write_text(MINIMAL.replace("authority: high", "authority: hgh"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text("id: [", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")])
    assert result.exit_code == 1
    assert "a.yaml:9 authority: 'hgh' is not one of high, low" in result.output
    assert "b.yaml:1: not valid YAML" in result.output
    assert "0 case(s) valid, 2 error(s), 0 warning(s)" in result.output


def test_cli_validate_accepts_the_shipped_cases():
    result = CliRunner().invoke(main, ["validate", str(ROOT / "cases")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "4 case(s) valid, 0 error(s), 0 warning(s)"


# --- property: random documents are loaded or reported, never a crash ------------------------

JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6), st.dates(),
                 st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2))
WORDS = st.from_regex(r"[A-Za-z\u4e00-\u4e20][A-Za-z\u4e00-\u4e20 ]{0,8}", fullmatch=True)
TEXT = st.one_of(WORDS, st.fixed_dictionaries({"en": WORDS}, optional={"zh": WORDS}))


def pick(table, min_size=1):
    return st.lists(st.sampled_from(list(table)), min_size=min_size, max_size=3, unique=True)


@st.composite
def case_documents(draw):
    """A coherent case document, then up to two corruptions (junk value, deleted field, stray field)."""
    actors = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    evidence = draw(st.lists(st.sampled_from(["I-1", "FG-1", "SD-1"]), min_size=1, max_size=3, unique=True))
    one = lambda table: draw(st.sampled_from(list(table)))  # noqa: E731
    doc = {
        "id": draw(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)), "illustrative": draw(st.booleans()),
        "name": draw(TEXT), "city": draw(TEXT), "province": draw(TEXT), "period": draw(WORDS),
        "services": draw(pick(cf.SERVICE_TO_IRI)), "arrangement": one(cf.ARRANGEMENT_TO_IRI),
        "authority": one(cf.AUTHORITY_TO_IRI), "resources": one(cf.RESOURCES_TO_IRI),
        "characteristics": draw(pick(cf.CHARACTERISTIC_TO_IRI, 0)),
        "coder": draw(st.sampled_from(["li-w", "wang.f"])), "coded_on": draw(st.dates(max_value=dt.date.today())),
        "confidence": one(cf.CONFIDENCE_TO_IRI), "authority_confidence": one(cf.CONFIDENCE_TO_IRI),
        "actors": [{"id": a, "name": draw(TEXT), "sector": one(cf.SECTOR_TO_IRI), "roles": draw(pick(cf.ROLE_TO_IRI))}
                   for a in actors],
        "evidence": [{"id": e, "kind": one(cf.EVIDENCE_KIND_TO_IRI), "supports": draw(TEXT), "date": draw(st.dates()),
                      "quotation": {"zh": draw(WORDS)}, "locator": draw(st.one_of(WORDS, st.integers(0, 9999))),
                      "respondent_role": draw(TEXT)} for e in evidence],
        "observations": [{"stage": one(cf.STAGE_TO_IRI), "strategy": one(cf.STRATEGY_TO_IRI),
                          "outcomes": draw(pick(cf.OUTCOME_TO_IRI, 0)), "actors": draw(pick(actors, 0)),
                          "evidence": draw(pick(evidence))} for _ in range(draw(st.integers(0, 2)))],
        "conditions": [{"condition": c, "holds": draw(st.booleans()), "evidence": draw(pick(evidence, 0)),
                        "coder": "zhao-m", "confidence": one(cf.CONFIDENCE_TO_IRI)}
                       for c in draw(pick(cf.CONDITION_TO_IRI, 0))],
        "performance": [{"indicator": one(cf.INDICATOR_TO_IRI), "value": draw(st.one_of(st.integers(), st.booleans(), WORDS))}
                        for _ in range(draw(st.integers(0, 2)))],
    }
    for _ in range(draw(st.integers(0, 2))):
        nested = [item for key in ("actors", "evidence", "observations", "conditions") if isinstance(doc.get(key), list)
                  for item in doc[key] if isinstance(item, dict) and item]
        record = draw(st.sampled_from([doc, *nested]))
        action, key = draw(st.sampled_from(["junk", "delete", "stray"])), draw(st.sampled_from(sorted(record)))
        if action == "junk":
            record[key] = draw(JUNK)
        elif action == "delete":
            del record[key]
        else:
            record["stray"] = draw(JUNK)
    return doc


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_documents())
def test_random_case_documents_are_loaded_or_reported(document):
    from kg.store import EmbeddedStore

    text = yaml.safe_dump(document, allow_unicode=True)
    documents, problems = cf.parse_yaml_text(text, "random.yaml")
    cases = [check_case(d, "random.yaml", problems) for d in documents]
    errors = [p for p in problems if p.is_error]
    event("reported" if errors else "loaded")
    if errors:
        assert all(str(p).startswith("random.yaml") for p in errors)
        assert cases == [None] * len(cases)
        return
    (case,) = cases
    assert shacl_problems(cf.content_graph(case)) == []  # the importer's checks imply the shapes
    graph = cf.case_rdf(case, dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    store = EmbeddedStore(None)
    store.replace_graphs({case_iri(case.id): graph})
    assert len(store) == len(graph)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_random_text_is_reported_never_a_crash(text):
    documents, problems = cf.parse_yaml_text(text, "random.yaml")
    for document in documents:
        check_case(document, "random.yaml", problems)
    assert documents or problems


def test_the_documented_example_is_a_valid_case(tmp_path):
    text = (ROOT / "docs" / "case-format.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    report = validate_paths([tmp_path / "example.yaml"])
    assert report.problems == [] and [c.id for c in report.cases] == ["hangzhou-community-meal-centre"]


def test_a_folder_without_case_files_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a case", encoding="utf-8")
    assert [str(p) for p in validate_paths([tmp_path / "empty"]).problems] == [
        "empty: no case files here; a case file ends in .yaml, .yml, .xlsx"]


CELL = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["tiny", "office", "state", "high", "x, y"]),
                 st.text(st.characters(min_codepoint=32, max_codepoint=0x9fff, exclude_categories=["Cs"]), max_size=5),
                 st.dates())


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from([*cf.SHEET_COLUMNS, "notes"]),
                       st.tuples(st.lists(st.sampled_from(["case", "id", "name", "sector", "actor", "role", "bogus",
                                                           "name@zh", "authority"]), min_size=1, max_size=4),
                                 st.lists(st.lists(CELL, min_size=4, max_size=4), max_size=3)),
                       min_size=1, max_size=4))
def test_random_workbooks_are_reported_never_a_crash(tmp_path_factory, sheets):
    book = Workbook()
    book.remove(book.active)
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    path = tmp_path_factory.mktemp("book") / "random.xlsx"
    book.save(path)
    report = validate_paths([path])
    assert report.cases or report.errors


def test_yaml_aliases_and_deep_nesting_are_refused(tmp_path):
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    problems = problems_for(tmp_path, laughs)
    assert problems[0] == "case.yaml:1 b[0]: YAML aliases (*name) are not allowed in case files"
    assert problems_for(tmp_path, "a: " + "[" * 600 + "]" * 600) == ["case.yaml: not valid YAML: nested too deeply"]


def test_text_without_a_language_tag_is_refused_by_the_shapes():
    """The ontology's range for text (rdf:PlainLiteral, which Pellet accepts) admits untagged literals;
    the shapes are what refuse them, one clear result per value."""
    report = validate_paths([ROOT / "cases"])
    data = Graph()
    for case in report.cases:
        data += cf.content_graph(case)
    stripped = []  # the field each untagged value is reported under
    for predicate in (COP.city, COP.province, COP.description, COP.quotation, COP.justification):
        subject, _, text = next(iter(sorted(data.triples((None, predicate, None)))))
        assert text.language, (predicate, text)
        data.remove((subject, predicate, text))
        data.add((subject, predicate, Literal(str(text))))
        stripped.append(f"<{subject}> {compact_iri(str(predicate))}")
    data.add((ID["claim/raw"], COP.statement, Literal("An untagged claim.")))
    stripped.append(f"<{ID['claim/raw']}> cop:statement")
    problems = shacl_problems(data)
    assert sorted(p.field for p in problems) == sorted(stripped)
    assert all("needs a language tag" in p.message for p in problems), problems
    city = next(p for p in problems if p.field.endswith("cop:city"))
    assert city.message == 'a city is a name in a language: it needs a language tag, e.g. "Ningbo"@en'
