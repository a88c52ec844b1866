"""Cases side by side: the case_comparison query's matrix checked against the case files, the /compare page's
filters and its CSV and XLSX downloads."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from kg import cases as cf
from kg.comparison import Column, matrix
from kg.config import ROOT, Settings
from kg.namespaces import COP
from kg.queries import load_named_query
from server import create_app
from test_cases import checked_cases

SHIPPED = sorted((ROOT / "cases").glob("*.yaml"))
MECHANISM_OF_STAGE = {stage: str(cf.MECHANISM_TO_IRI[m]) for stage, m in cf.STAGE_TO_MECHANISM.items()}


@pytest.fixture(scope="module")
def shipped_matrix(shipped_store):
    return matrix(load_named_query(ROOT / "queries" / "case_comparison.rq").run(shipped_store, {}))


@pytest.fixture(scope="module")
def client(shipped_store):
    return create_app(Settings(store="unused"), store=shipped_store).test_client()


def values(row, dimension: str, key: str | None = None) -> set[str]:
    return {v.value for v in row.cells.get(Column(dimension, key), [])}


def test_every_cell_is_what_the_case_files_say(shipped_matrix):
    cases = {c.id: c for path in SHIPPED for c in checked_cases(path)}
    assert [row.id for row in shipped_matrix.rows] == sorted(cases)
    for row in shipped_matrix.rows:
        case = cases[row.id]
        assert values(row, "arrangement") == {str(cf.ARRANGEMENT_TO_IRI[case.arrangement])}
        assert values(row, "services") == {str(cf.SERVICE_TO_IRI[s]) for s in case.services}
        assert values(row, "authority") == {str(cf.AUTHORITY_TO_IRI[case.authority])}
        assert values(row, "resources") == {str(cf.RESOURCES_TO_IRI[case.resources])}
        assert values(row, "characteristics") == {str(cf.CHARACTERISTIC_TO_IRI[w]) for w in case.characteristics}
        assessed = {c.condition: "met" if c.holds else "fails" for c in case.conditions}
        for word, iri in cf.CONDITION_TO_IRI.items():
            assert values(row, "condition", str(iri)) == {assessed.get(word, "not assessed")}, (row.id, word)
        for stage, mechanism in MECHANISM_OF_STAGE.items():  # outcomes under the mechanism of their stage
            shown = {str(cf.OUTCOME_TO_IRI[w]) for o in case.observations if o.stage == stage for w in o.outcomes}
            assert values(row, "outcomes", mechanism) == shown, (row.id, stage)
        for fact in case.performance:
            assert values(row, "performance", str(cf.INDICATOR_TO_IRI[fact.indicator])) == {
                str(fact.value).lower() if isinstance(fact.value, bool) else str(fact.value)}
        assert row.illustrative is case.illustrative
    # Each case is in the one mode the reasoner derives from its levels.
    assert values(shipped_matrix.rows[1], "mode") == {str(COP.ComplementaryAdvantage)}  # hangzhou: low, low
    # Every condition and mechanism has its column in every matrix; indicators those some case records.
    keyed = [c for c in shipped_matrix.columns if c.key]
    assert sum(c.dimension == "condition" for c in keyed) == 11 and sum(c.dimension == "outcomes" for c in keyed) == 3


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_filters_keep_the_cases_chosen(client):
    page = client.get("/compare?lang=en").get_data(as_text=True)
    assert page.count('<tr data-case="') == 4 and "4 of 4 cases" in page
    one = client.get("/compare?mode=cop:ComplementaryAdvantage").get_data(as_text=True)
    assert one.count('<tr data-case="') == 1 and '<tr data-case="hangzhou-community-meal-centre">' in one
    zhejiang = client.get("/compare?province=Zhejiang").get_data(as_text=True)
    assert zhejiang.count('<tr data-case="') == 2
    assert client.get("/compare?illustrative=no").get_data(as_text=True).count('<tr data-case="') == 0
    assert "No case matches these filters." in client.get("/compare?illustrative=no&lang=en").get_data(as_text=True)


def test_downloads_are_the_matrix_shown_in_the_pages_language(client, shipped_matrix):
    response = client.get("/compare?format=csv&lang=en")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="case-comparison-en.csv"'
    table = rows_of(response)
    header = table[0]
    assert header[:9] == ["case", "name", "province", "illustrative", "arrangement", "services",
                          "governance authority", "resource concentration", "mode"]
    assert len(header) == 4 + len(shipped_matrix.columns) and len(table) == 5
    hangzhou = dict(zip(header, next(r for r in table if r[0] == "hangzhou-community-meal-centre")))
    assert hangzhou["condition: partners are strong professional operators"] == "fails"
    assert hangzhou["condition: service not yet mature"] == "not assessed"
    assert hangzhou["outcomes: emergence mechanism"] == "collective participation"
    assert hangzhou["performance: financial balance"] == "-8500"
    filtered = rows_of(client.get("/compare?format=csv&lang=zh&province=浙江"))
    assert [r[0] for r in filtered[1:]] == ["hangzhou-community-meal-centre", "ningbo-home-care-platform"]
    zh = dict(zip(filtered[0], filtered[1]))
    assert zh["适用条件: 合作伙伴专业运营实力强"] == "不满足" and zh["治理权威程度"] == "低治理权威"
    book = load_workbook(io.BytesIO(client.get("/compare?format=xlsx&lang=zh&province=浙江").data))
    sheet = book.active
    assert [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)] == filtered
    assert sheet.freeze_panes == "C2"


def test_the_codebook_page_gives_every_rule_in_the_pages_language(client):
    from markupsafe import escape

    from kg.codebook import load_codebook

    def shown(text: str) -> str:
        return str(escape(text))

    page = client.get("/codebook?lang=zh").get_data(as_text=True)
    sections = load_codebook()
    for section in sections:
        assert f'id="{section.key}"' in page and shown(section.texts["rule"]["zh"]) in page
        for word, entry in section.codes.items():
            row = page.split(f'<tr id="{section.key}-{word}">', 1)[1].split("</tr>", 1)[0]
            assert shown(entry["rule"]["zh"]) in row and f"<code>{word}</code>" in row
            assert "counter" not in entry or shown(entry["counter"]["zh"]) in row
    assert page.count('<tr id="') == sum(len(s.codes) for s in sections) == 71
    assert shown(sections[0].texts["rule"]["en"]) in client.get("/codebook?lang=en").get_data(as_text=True)


def test_compare_links_each_coded_column_to_its_rule(client):
    import re

    page = client.get("/compare?lang=en").get_data(as_text=True)
    codebook = client.get("/codebook").get_data(as_text=True)
    fragments = set(re.findall(r'href="/codebook#([\w-]+)"', page))
    assert {f"condition-{w}" for w in cf.CONDITION_TO_IRI} <= fragments and "authority" in fragments
    assert all(f'id="{fragment}"' in codebook for fragment in fragments)
