"""The cases as a crisp-set truth table: one row per case, 1/0/blank, a CSV that R's QCA package reads as it is."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from kg import cases as cf
from kg.errors import TruthTableError
from kg.namespaces import COP
from kg.plain_values import plain_literal

CASE_COLUMN = "CASE"  # R: read.csv(FILE, row.names = "CASE")
# Outcome words a truth table may take for its outcome: the theory's outcomes and the performance indicators.
OUTCOME_CHOICES = (*cf.OUTCOME_TO_IRI, *cf.INDICATOR_TO_IRI)

PREFIXES = f"PREFIX cop: <{COP}>\nPREFIX dcterms: <http://purl.org/dc/terms/>\n"
CASES_QUERY = PREFIXES + """
SELECT DISTINCT ?id ?authority ?resources ?illustrative WHERE {
  ?case a cop:CoproductionCase ; dcterms:identifier ?id ; cop:hasAuthorityLevel ?authority ;
        cop:hasResourceConcentration ?resources ; cop:isIllustrative ?illustrative .
} ORDER BY ?id"""
CONDITIONS_QUERY = PREFIXES + """
SELECT DISTINCT ?id ?condition ?holds WHERE {
  ?assessment cop:assessmentOf ?case ; cop:assessesCondition ?condition ; cop:conditionHolds ?holds .
  ?case dcterms:identifier ?id .
}"""
# An outcome shown in a case, and the cases observed at the stage whose mechanism's strategy yields it.
# Bound variables are projected: the store binds only those (docs: "Writing a query").
OUTCOME_SHOWN_QUERY = PREFIXES + """
SELECT DISTINCT ?id ?outcome WHERE {
  ?observation cop:observationIn ?case ; cop:showsOutcome ?outcome . ?case dcterms:identifier ?id .
}"""
OUTCOME_STAGE_OBSERVED_QUERY = PREFIXES + """
SELECT DISTINCT ?id ?outcome WHERE {
  ?mechanism cop:operatesAtStage ?stage ; cop:employsStrategy/cop:yieldsOutcome ?outcome .
  ?observation cop:observationIn ?case ; cop:atStage ?stage . ?case dcterms:identifier ?id .
}"""
INDICATOR_QUERY = PREFIXES + """
SELECT DISTINCT ?id ?indicator ?value WHERE {
  ?fact cop:performanceOf ?case ; cop:indicator ?indicator ; cop:value ?value . ?case dcterms:identifier ?id .
}"""


def column_name(word: str) -> str:
    """A case-file word as a column: upper case (QCA's convention for a condition), '_' for '-', a valid R name."""
    return word.upper().replace("-", "_")


@dataclass
class TruthTable:
    """The header and one row per case; each cell '1', '0' or '' (not assessed, R's NA)."""

    header: list[str]
    rows: list[list[str]]
    illustrative: list[str] = field(default_factory=list)  # the ids of invented example cases among the rows

    def count(self, column: str, value: str) -> int:
        index = self.header.index(column)
        return sum(row[index] == value for row in self.rows)


def truth_table(store, outcome: str, threshold: float | None = None) -> TruthTable:
    """Tabulate every case of the store: its two levels and eleven conditions as crisp sets, then the outcome.

    Raises:
        TruthTableError: the outcome is unknown, or a performance indicator's values are not true/false, or
            are numbers and no threshold says which count as 1.
    """
    if outcome not in OUTCOME_CHOICES:
        raise TruthTableError(f"{outcome!r} is not an outcome or a performance indicator; allowed: "
                              f"{', '.join(OUTCOME_CHOICES)}")
    cases = list(store.query(CASES_QUERY))
    conditions: dict[tuple[str, str], str] = {}
    for row in store.query(CONDITIONS_QUERY):
        conditions[(row["id"].value, row["condition"].value)] = "1" if _true(row["holds"]) else "0"
    outcomes = (_outcome_cells(store, outcome) if outcome in cf.OUTCOME_TO_IRI
                else _indicator_cells(store, outcome, threshold))
    header = [CASE_COLUMN, "AUTHORITY", "RESOURCES", *map(column_name, cf.CONDITION_TO_IRI), column_name(outcome)]
    rows = []
    for case in cases:
        case_id = case["id"].value
        levels = ["1" if case["authority"].value == str(COP.HighAuthority) else "0",
                  "1" if case["resources"].value == str(COP.HighConcentration) else "0"]
        assessed = [conditions.get((case_id, str(iri)), "") for iri in cf.CONDITION_TO_IRI.values()]
        rows.append([case_id, *levels, *assessed, outcomes.get(case_id, "")])
    illustrative = [c["id"].value for c in cases if _true(c["illustrative"])]
    return TruthTable(header, rows, illustrative)


def _outcome_cells(store, outcome: str) -> dict[str, str]:
    """1 where an observation shows the outcome; 0 where the case was observed at its stage without it."""
    bound = {"outcome": cf.OUTCOME_TO_IRI[outcome]}
    cells = {row["id"].value: "0" for row in store.query(OUTCOME_STAGE_OBSERVED_QUERY, substitutions=bound)}
    cells.update({row["id"].value: "1" for row in store.query(OUTCOME_SHOWN_QUERY, substitutions=bound)})
    return cells


def _indicator_cells(store, indicator: str, threshold: float | None) -> dict[str, str]:
    """1/0 from a true/false value, or from a number against the threshold (at or above it is 1)."""
    values: dict[str, set] = {}
    for row in store.query(INDICATOR_QUERY, substitutions={"indicator": cf.INDICATOR_TO_IRI[indicator]}):
        literal = row["value"]
        values.setdefault(row["id"].value, set()).add(plain_literal(literal.value, literal.datatype.value))
    cells = {}
    for case_id, found in sorted(values.items()):
        if len(found) > 1:
            raise TruthTableError(f"case {case_id!r} records {indicator} {len(found)} times with different values "
                                  f"({', '.join(sorted(map(str, found)))}); a crisp set needs one")
        (value,) = found
        if isinstance(value, bool):
            cells[case_id] = "1" if value else "0"
        elif isinstance(value, (int, float)):
            if threshold is None:
                raise TruthTableError(f"{indicator} is a number (case {case_id!r}: {value}); give a threshold "
                                      "(--threshold N): a value at or above it counts as 1")
            cells[case_id] = "1" if value >= threshold else "0"
        else:
            raise TruthTableError(f"case {case_id!r} records {indicator} as {value!r}, neither true/false nor a "
                                  "number, so it cannot be a crisp set")
    return cells


def _true(literal) -> bool:
    return plain_literal(literal.value, literal.datatype.value) is True


def write_csv(table: TruthTable, target: Path) -> Path:
    """Write the table as CSV (written beside `target` and renamed, so no half-written file is left)."""
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.header)
        writer.writerows(table.rows)
    os.replace(partial, target)
    return target
