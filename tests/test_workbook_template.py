"""The blank coding workbook: the reader's layout, the validator's drop-downs, and a filled copy that loads."""

from __future__ import annotations

import datetime as dt
import gc

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from kg import cases as cf
from kg import validate as v
from kg.cli import main
from kg.namespaces import COP, case_iri
from kg.store import EmbeddedStore

# A small real case as a researcher would type it under the example rows: every sheet, one or two rows each.
FILLED_ROWS = {
    "cases": [{"id": "xuhui-elder-canteen", "illustrative": "false", "name@en": "Xuhui elder canteen",
               "name@zh": "徐汇长者食堂", "city@en": "Shanghai", "province@en": "Shanghai", "period": "2019-2020",
               "services": "meals", "arrangement": "private-construction-public-assistance", "authority": "low",
               "resources": "high", "resources_evidence": "XH-FG-1", "characteristics": "reciprocal-interests"}],
    "actors": [{"case": "xuhui-elder-canteen", "id": "canteen", "name@zh": "长者食堂", "sector": "society"},
               {"case": "xuhui-elder-canteen", "id": "district", "name@en": "District civil affairs bureau",
                "sector": "state"}],
    "participations": [{"case": "xuhui-elder-canteen", "actor": "canteen", "role": "service-operator"},
                       {"case": "xuhui-elder-canteen", "actor": "district", "role": "funder"}],
    "observations": [{"case": "xuhui-elder-canteen", "stage": "operation", "mechanism": "adjustment",
                      "strategy": "coordination", "outcomes": "cooperation-cost-reduced, cooperative-synergy-improved",
                      "actors": "canteen, district", "evidence": "XH-FG-1"}],
    "evidence": [{"case": "xuhui-elder-canteen", "id": "XH-FG-1", "kind": "focus-group",
                  "date": dt.date(2020, 5, 6), "supports@en": "Focus group with the canteen's volunteers."}],
    "conditions": [{"case": "xuhui-elder-canteen", "condition": "partners-somewhat-strong-but-lack-key-resources",
                    "holds": "true", "evidence": "XH-FG-1"}],
    "performance": [{"case": "xuhui-elder-canteen", "indicator": "financial-balance", "value": "break-even"}],
}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The workbook `coprokg template` writes."""
    path = tmp_path_factory.mktemp("template") / "coding.xlsx"
    result = CliRunner().invoke(main, ["template", str(path)])
    assert result.exit_code == 0, result.output
    return path


def headers(ws) -> list[str]:
    return [cell.value for cell in ws[1]]


def drop_downs(book) -> dict[tuple[str, str], list[str]]:
    """Each (sheet, column header) with a list drop-down -> the words it offers, read through the defined name."""
    offered = {}
    for sheet in cf.SHEET_COLUMNS:
        ws = book[sheet]
        for check in ws.data_validations.dataValidation:
            assert check.type == "list"
            ((sheet_name, cells),) = book.defined_names[check.formula1].destinations
            words = [row[0].value for row in book[sheet_name][cells.replace("$", "")]]
            for cell_range in check.sqref.ranges:
                assert (cell_range.min_row, cell_range.max_row) == (2, 1_048_576)
                offered[(sheet, ws.cell(row=1, column=cell_range.min_col).value)] = words
    return offered


def test_template_has_the_guide_first_then_every_sheet_and_column_the_reader_takes(template):
    book = load_workbook(template)
    assert book.sheetnames == ["guide", *cf.SHEET_COLUMNS, "lists"]
    assert book["lists"].sheet_state == "hidden"
    for sheet, columns in cf.SHEET_COLUMNS.items():
        fields = [header.partition("@")[0] for header in headers(book[sheet])]
        assert list(dict.fromkeys(fields)) == list(columns), sheet
    assert headers(book["actors"]) == ["case", "id", "name@en", "name@zh", "sector"]
    # The guide explains every column of every sheet, in English and in Chinese.
    guide = [row for row in book["guide"].iter_rows(values_only=True) if row[0] in cf.SHEET_COLUMNS]
    explained = {(row[0], row[1]): row for row in guide}
    assert set(explained) == {(s, h) for s in cf.SHEET_COLUMNS for h in headers(book[s])}
    sector = explained[("actors", "sector")]
    assert sector[2] == "yes 是" and sector[4] == "state, market, society, family"
    assert sector[5] == "the sector the actor belongs to" and sector[6] == "参与主体所属部门"
    assert all(row[5] and row[6] and row[7] for row in guide)


def test_drop_downs_offer_exactly_the_validators_values(template):
    offered = drop_downs(load_workbook(template))
    assert offered[("actors", "sector")] == list(v.ACTOR.fields["sector"].vocabulary) == [
        "state", "market", "society", "family"]
    assert offered[("observations", "outcomes")] == list(cf.OUTCOME_TO_IRI)
    assert offered[("participations", "role")] == list(cf.ROLE_TO_IRI)
    assert offered[("conditions", "holds")] == ["true", "yes", "false", "no"]
    # Every column the validator holds to a vocabulary has its drop-down, and no other column has one.
    expected = {(sheet, name): list(spec.vocabulary) for sheet, record in
                [("cases", v.CASE), *((s, v.CASE.fields[f].record) for s, f in cf.SHEET_TO_CASE_FIELD.items())]
                for name, spec in record.fields.items() if spec.vocabulary and name in cf.SHEET_COLUMNS[sheet]}
    expected[("participations", "role")] = list(cf.ROLE_TO_IRI)
    assert {k: w for k, w in offered.items() if w[0] != "true"} == expected


def test_single_word_columns_refuse_other_input_and_list_columns_allow_commas(template):
    book = load_workbook(template)
    strict = {book[s].cell(row=1, column=r.min_col).value: check.showErrorMessage
              for s in ("cases", "observations") for check in book[s].data_validations.dataValidation
              for r in check.sqref.ranges}
    assert strict["authority"] is True and strict["illustrative"] is True and strict["stage"] is True
    assert strict["services"] is False and strict["outcomes"] is False


def test_template_as_written_is_one_valid_illustrative_example(template):
    report = v.validate_paths([template])
    assert [str(p) for p in report.problems] == []
    (case,) = report.cases
    assert case.id == "example-case" and case.illustrative is True
    assert "illustrative" in case.name["en"] and case.name["zh"]
    assert len(case.actors) == 2 and case.actors[0].roles == ("commissioner", "facility-provider")


def test_a_filled_template_validates_and_loads(template, tmp_path):
    book = load_workbook(template)
    for sheet, rows in FILLED_ROWS.items():
        ws = book[sheet]
        for row in rows:
            ws.append([row.get(header) for header in headers(ws)])
    ws = book["actors"]
    bad_row = ws.max_row + 1
    ws.append(["xuhui-elder-canteen", "firm", "A firm", None, "business"])
    filled = tmp_path / "xuhui.xlsx"
    book.save(filled)

    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(filled)])
    assert result.exit_code == 1
    assert (f"xuhui.xlsx sheet actors row {bad_row} sector: 'business' is not one of state, market, society, family"
            in result.output)

    ws.delete_rows(bad_row)
    book.save(filled)
    result = runner.invoke(main, ["validate", str(filled)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("2 case(s) valid, 0 error(s), 0 warning(s)")
    store = tmp_path / "store"
    assert runner.invoke(main, ["build", "--store", str(store)]).exit_code == 0  # the ontology the reasoner needs
    result = runner.invoke(main, ["load", str(filled), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("loaded 2 case(s): example-case, xuhui-elder-canteen")

    gc.collect()  # CliRunner's frames may still hold the store; a shell runs each command in its own process
    kg_store = EmbeddedStore(store)
    try:
        case = case_iri("xuhui-elder-canteen")
        rows = kg_store.query(
            f"SELECT ?mode ?sector ?outcome WHERE {{ <{case}> <{COP.hasMode}> ?mode ; <{COP.involvesActor}> ?a . "
            f"?a <{COP.inSector}> ?sector . ?o <{COP.observationIn}> <{case}> ; <{COP.showsOutcome}> ?outcome }}")
        found = {(r["mode"].value, r["sector"].value, r["outcome"].value) for r in rows}
    finally:
        kg_store.close()
    # Low authority with high resource concentration: the reasoner puts the case in the sharing-assisted mode.
    assert {mode for mode, _, _ in found} == {str(COP.SharingAssisted)}
    assert {sector for _, sector, _ in found} == {str(COP.SocietySector), str(COP.StateSector)}
    assert {outcome for _, _, outcome in found} == {str(COP.CooperationCostReduced), str(COP.CooperativeSynergyImproved)}


def test_template_keeps_an_existing_file_and_wants_xlsx(tmp_path):
    runner = CliRunner()
    existing = tmp_path / "mine.xlsx"
    existing.write_bytes(b"my coding")
    result = runner.invoke(main, ["template", str(existing)])
    assert result.exit_code == 1 and "exists; pass --force to overwrite it" in result.output
    assert existing.read_bytes() == b"my coding"
    assert runner.invoke(main, ["template", str(existing), "--force"]).exit_code == 0
    assert load_workbook(existing).sheetnames[0] == "guide"
    result = runner.invoke(main, ["template", str(tmp_path / "coding.ods")])
    assert result.exit_code == 2 and "does not end in .xlsx" in result.output
    assert not (tmp_path / "coding.ods").exists()
