"""The QCA truth table: one row per case, crisp sets as 1/0/blank, read back the way R's read.csv reads it."""

from __future__ import annotations

import csv
import re

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.config import ROOT
from kg.errors import TruthTableError
from kg.load import load_cases
from kg.qca_export import truth_table, write_csv
from kg.store import EmbeddedStore

MEAL_CENTRE = ROOT / "cases" / "hangzhou-community-meal-centre.yaml"
BEIJING, HANGZHOU, NINGBO, SHANGHAI = ("beijing-street-charisma-partnership", "hangzhou-community-meal-centre",
                                       "ningbo-home-care-platform", "shanghai-street-care-network")
R_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._]*$")  # a syntactic R name: read.csv's check.names leaves it as it is


def read_like_r(path) -> dict[str, dict[str, int | None]]:
    """Read a truth-table CSV as `read.csv(path, row.names = "CASE")` does, failing where R would fail or alter it."""
    with open(path, encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert all(R_NAME.match(name) for name in header) and len(set(header)) == len(header), header
    assert header[0] == "CASE"
    table = {}
    for row in rows:
        assert len(row) == len(header), row  # R: "more columns than column names", or padding with NA
        case, *cells = row
        assert case and case not in table  # R: "duplicate 'row.names' are not allowed"
        # Each column must come out integer with NA: only 0, 1 and empty cells.
        assert set(cells) <= {"0", "1", ""}, row
        table[case] = {name: int(cell) if cell else None for name, cell in zip(header[1:], cells)}
    return table


def test_shipped_cases_as_a_truth_table_r_reads_as_it_is(shipped_store, tmp_path):
    table = truth_table(shipped_store, "collective-survival-secured")
    cases = read_like_r(write_csv(table, tmp_path / "survival.csv"))
    assert list(cases) == [BEIJING, HANGZHOU, NINGBO, SHANGHAI]
    assert set(table.illustrative) == set(cases)
    assert list(cases[BEIJING]) == [
        "AUTHORITY", "RESOURCES", "SERVICE_IMMATURE", "AREA_NEEDS_TOP_DOWN_DEPLOYMENT", "PARTNERS_WEAK",
        "FEW_PARTNERS_TO_CHOOSE_FROM", "LEADERS_HAVE_RICH_SOCIAL_TIES", "PARTNERS_STRONG_PROFESSIONALS",
        "MEASURABLE_MARKET_STANDARD", "COMPARABLE_MARKET_OBJECT", "SERVICE_MUST_TRANSFORM", "SERVICE_MUST_UPGRADE",
        "PARTNERS_SOMEWHAT_STRONG_BUT_LACK_KEY_RESOURCES", "COLLECTIVE_SURVIVAL_SECURED"]
    levels = {case: (row["AUTHORITY"], row["RESOURCES"]) for case, row in cases.items()}
    assert levels == {BEIJING: (1, 0), HANGZHOU: (0, 0), NINGBO: (0, 1), SHANGHAI: (1, 1)}
    # A condition is 1 where it holds, 0 where it fails, NA where the case did not assess it.
    assert {case: row["PARTNERS_STRONG_PROFESSIONALS"] for case, row in cases.items()} == {
        BEIJING: 1, HANGZHOU: 0, NINGBO: None, SHANGHAI: None}
    assert {case: row["SERVICE_IMMATURE"] for case, row in cases.items()} == {
        BEIJING: None, HANGZHOU: None, NINGBO: None, SHANGHAI: 1}
    assert sum(v is not None for row in cases.values() for k, v in row.items() if k not in (
        "AUTHORITY", "RESOURCES", "COLLECTIVE_SURVIVAL_SECURED")) == 12  # the twelve assessments the cases hold
    # The outcome: shown (1); observed at its stage, the evaluation, without it (0); that stage not observed (NA).
    assert {case: row["COLLECTIVE_SURVIVAL_SECURED"] for case, row in cases.items()} == {
        BEIJING: None, HANGZHOU: 0, NINGBO: 1, SHANGHAI: 0}


def test_a_performance_indicator_as_the_outcome(shipped_store):
    def outcome(indicator, threshold=None):
        table = truth_table(shipped_store, indicator, threshold)
        return {row[0]: row[-1] for row in table.rows}

    assert outcome("operating-at-loss") == {BEIJING: "", HANGZHOU: "1", NINGBO: "", SHANGHAI: ""}
    assert outcome("service-volume", 1000) == {BEIJING: "", HANGZHOU: "0", NINGBO: "1", SHANGHAI: "1"}
    assert outcome("service-volume", 90) == {BEIJING: "", HANGZHOU: "1", NINGBO: "1", SHANGHAI: "1"}
    assert outcome("financial-balance", 0) == {BEIJING: "", HANGZHOU: "0", NINGBO: "", SHANGHAI: ""}
    with pytest.raises(TruthTableError, match=r"^user-satisfaction is a number \(case 'beijing-street-charisma-"
                                              r"partnership': 92\); give a threshold \(--threshold N\)"):
        truth_table(shipped_store, "user-satisfaction")
    with pytest.raises(TruthTableError, match="'survival' is not an outcome or a performance indicator; allowed: "
                                              "subject-compatibility-raised, "):
        truth_table(shipped_store, "survival")


def meal_centre_store(tmp_path, *replacements):
    text = MEAL_CENTRE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / MEAL_CENTRE.name
    path.write_text(text, encoding="utf-8")
    store = EmbeddedStore(tmp_path / "store")
    load_cases(store, [path], reason=False)
    return store


def test_an_outcome_shown_at_another_stage_still_counts_and_text_values_are_refused(tmp_path):
    store = meal_centre_store(
        tmp_path, ("outcomes: [collective-participation-realised]",
                   "outcomes: [collective-participation-realised, collective-survival-secured]"),
        ("value: -8500", "value: break-even"))
    try:
        (row,) = truth_table(store, "collective-survival-secured").rows
        assert row[0] == HANGZHOU and row[-1] == "1"
        with pytest.raises(TruthTableError, match="case 'hangzhou-community-meal-centre' records financial-balance "
                                                  "as 'break-even', neither true/false nor a number"):
            truth_table(store, "financial-balance", 0)
    finally:
        store.close()


def test_two_different_values_of_one_indicator_are_refused(tmp_path):
    store = meal_centre_store(tmp_path, ("  - indicator: service-volume\n    value: 90\n",
                                         "  - indicator: service-volume\n    value: 90\n"
                                         "  - indicator: service-volume\n    value: 120\n"))
    try:
        with pytest.raises(TruthTableError, match="records service-volume 2 times with different values"):
            truth_table(store, "service-volume", 100)
    finally:
        store.close()


def test_cli_export_qca(tmp_path):
    runner = CliRunner()
    store = str(tmp_path / "store")
    assert runner.invoke(main, ["build", "--store", store]).exit_code == 0
    target = tmp_path / "truth.csv"
    result = runner.invoke(main, ["export", "qca", str(target), "--outcome", "collective-survival-secured",
                                  "--store", store])
    assert result.exit_code == 0, result.output
    assert (f"wrote {target}: 4 case(s); COLLECTIVE_SURVIVAL_SECURED is 1 for 1, 0 for 2, blank (not recorded) "
            "for 1") in result.output
    assert "warning: 4 of 4 case(s) are illustrative, invented data" in result.output
    assert read_like_r(target)[NINGBO]["COLLECTIVE_SURVIVAL_SECURED"] == 1
    refused = runner.invoke(main, ["export", "qca", str(tmp_path / "no.csv"), "--outcome", "service-volume",
                                   "--store", store])
    assert refused.exit_code == 1 and "give a threshold (--threshold N)" in refused.output
    assert not (tmp_path / "no.csv").exists()
    misplaced = runner.invoke(main, ["export", "qca", str(tmp_path / "no.csv"), "--outcome",
                                     "collective-survival-secured", "--threshold", "3", "--store", store])
    assert misplaced.exit_code == 1
    assert "error: --threshold applies to a performance indicator, not to 'collective-survival-secured'" in \
        misplaced.output
